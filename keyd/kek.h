/*
 * kek: keyd's key-wrapping key and the wrapped SRTP keys relayd stores
 * (DESIGN.md "Session state"; docs/srtp.md "Wrapped keys"; issue 5).
 *
 * Every SRTP key keyd pushes to relayd (srtp_set) also goes out wrapped:
 * sealed with AES-256-GCM under the KEK, bound to the (call, leg, media,
 * dir) it was pushed for.  relayd stores the blob as it is, in memory and
 * in Redis; after a restart it hands it back with `srtp_unwrap` and gets
 * the key.  Only keyd holds the KEK, so Redis and relayd's records never
 * hold a usable key, and a blob moved to another call, leg, media or
 * direction does not open.
 *
 * The KEK is 32 random bytes in `[keyd] kek_file` (relative to run_dir),
 * created at the first start (mode 0600, never a short file) and read at
 * every later one, before confinement, so that stored blobs outlive any
 * keyd restart.  A file of another size, or readable or writable by group
 * or others, is refused: keyd does not start.
 *
 * Blob (KEYD_KEK_VERSION 1), all lengths in bytes:
 *	version (1) | kek id (4) | nonce (12) | ciphertext | tag (16)
 * kek id: the first 4 bytes of SHA-256(KEK) (also logged; never the key);
 * nonce: random for every wrap (under 2^32 wraps per KEK keeps GCM's
 * random-nonce bound); ciphertext: a msgpack map {profile (str, RFC 4568
 * suite name), key (bin, master key || salt), unencrypted_srtp,
 * unencrypted_srtcp, unauthenticated_srtp (bool)}.  AAD: the version and
 * kek id bytes, "rtpsec-srtp-v1", then call, leg and dir each as a 2-byte
 * big-endian length and the bytes, and media as 4 bytes big-endian.
 *
 * Invariants: the key and every plaintext copy are wiped
 * (OPENSSL_cleanse) before they are freed or go out of scope; no key
 * reaches a log line or an error message.
 */
#ifndef RTPSEC_KEYD_KEK_H
#define RTPSEC_KEYD_KEK_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/buf.h"
#include "libcommon/ipc.h"
#include "libcommon/sdes.h"

#define KEYD_KEK_LEN		32
#define KEYD_KEK_IDLEN		4
#define KEYD_KEK_VERSION	1
#define KEYD_KEK_NONCELEN	12
#define KEYD_KEK_TAGLEN		16
#define KEYD_KEK_HDRLEN		(1 + KEYD_KEK_IDLEN + KEYD_KEK_NONCELEN)
#define KEYD_KEK_MAXBLOB	512	/* far above any wrapped SDES key */

struct keyd_kek {
	uint8_t		 key[KEYD_KEK_LEN];
	uint8_t		 id[KEYD_KEK_IDLEN];
	char		 idhex[2 * KEYD_KEK_IDLEN + 1]; /* for logs */
};

/* What a blob is bound to (the srtp_set it went out with). */
struct keyd_kek_bind {
	const char	*call;
	const char	*leg;
	unsigned	 media;
	const char	*dir;		/* "in" or "out" */
};

/*
 * Reads the KEK from path, or creates it there (mode 0600, 32 bytes from
 * RAND_bytes) when there is no such file.  Returns 0 (read), 1 (created),
 * or -1 with the reason in err (unreadable, wrong size, group/world
 * access, no random numbers); *k is wiped on failure.
 */
int	keyd_kek_load(struct keyd_kek *, const char *path, char *err,
	    size_t errlen);
/* A fresh KEK that lives in memory only (tests): 0, or -1. */
int	keyd_kek_generate(struct keyd_kek *);
void	keyd_kek_wipe(struct keyd_kek *);

/*
 * Appends the blob of key c bound to b to out (a buf_secret() buffer is
 * not needed: the blob is no secret).  Returns 0, or -1 (no random
 * numbers, out of memory, a call or leg too long).
 */
int	keyd_kek_wrap(const struct keyd_kek *, const struct keyd_kek_bind *b,
	    const struct sdes_crypto *c, struct buf *out);
/*
 * Opens blob[0..len) bound to b into *c (suite, key, key_len and the
 * session parameters; kdr -1, the rest zero).  Returns 0, or -1 with a
 * reason for the log in why (never key material): another version or
 * KEK, a blob that does not authenticate (tampered, or bound to
 * something else), a plaintext keyd would not have written.  *c is
 * wiped on failure.
 */
int	keyd_kek_unwrap(const struct keyd_kek *,
	    const struct keyd_kek_bind *b, const uint8_t *blob, size_t len,
	    struct sdes_crypto *c, char *why, size_t whylen);

/*
 * Serves q (op srtp_unwrap; docs/ipc.md): the reply goes into w
 * (switched to ipc_w_secret(): it carries the key).  Returns 0 when the
 * key was unwrapped, 1 when the blob was refused ("cannot unwrap"), -1
 * for a missing or ill-typed field (the caller counts it as bad_field).
 */
int	keyd_kek_request(const struct keyd_kek *, const struct ipc_r *q,
	    struct ipc_w *w);

#endif
