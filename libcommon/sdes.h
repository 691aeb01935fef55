/*
 * sdes: SDP security descriptions for SRTP (RFC 4568), the a=crypto
 * attribute: the suites rtpsec offers and accepts, a strict parser for one
 * attribute's value, its formatter, and key generation.  ctld uses it for
 * the SDP, keyd for the keys; relayd maps a suite to its libsrtp2 policy.
 *
 * Suites: the SRTP suites libsrtp2 implements, in rtpengine's offer order
 * (ng-protocol.md section 6) with its F8 and NULL suites left out: RFC
 * 4568 6.2 (AES_CM_128), RFC 6188 (AES_192_CM, AES_256_CM) and RFC 7714
 * 14.2 (AEAD_AES_*_GCM, 12-byte master salt, 16-byte tag).
 *
 * Key material lives in struct sdes_crypto's fixed buffer only: nothing
 * here logs it or puts it in an error message, and sdes_crypto_wipe()
 * erases it.  sdes_format() writes it (base64) into the caller's buffer,
 * which it marks buf_secret(); the caller buf_wipe()s it when done.
 */
#ifndef RTPSEC_SDES_H
#define RTPSEC_SDES_H

#include <stddef.h>
#include <stdint.h>

#include <srtp2/crypto_types.h>
#include <srtp2/srtp.h>

#include "libcommon/buf.h"

/*
 * X(id, master key, master salt, SRTP tag, SRTCP tag, libsrtp2 profile,
 *   libsrtp2 cipher type, libsrtp2 auth type, auth key), lengths in bytes.
 * libsrtp2 has no srtp_profile_t for AES_192_CM and AES_256_CM (only
 * srtp_crypto_policy_set_aes_cm_{192,256}_hmac_sha1_{80,32}()): their
 * profiles are values outside libsrtp2's enum, the same as relayd/srtp.h's
 * SRTPX_PROFILE_*, so relayd takes the profile column as it is; the
 * cipher/auth columns describe the policy for anyone else.  The _32 suites
 * keep an 80-bit tag for SRTCP (RFC 4568 6.2.2), so RTCP takes the _80
 * policy.  GCM's tag is the AEAD tag: no HMAC, no auth key.  AES-192
 * needs libsrtp2 with OpenSSL or NSS.
 */
#define SDES_PROFILE_AES192_CM_SHA1_80	((srtp_profile_t)0x100)
#define SDES_PROFILE_AES192_CM_SHA1_32	((srtp_profile_t)0x101)
#define SDES_PROFILE_AES256_CM_SHA1_80	((srtp_profile_t)0x102)
#define SDES_PROFILE_AES256_CM_SHA1_32	((srtp_profile_t)0x103)

#define SDES_SUITES(X)							\
	X(AEAD_AES_256_GCM,	   32, 12, 16, 16,			\
	    srtp_profile_aead_aes_256_gcm, SRTP_AES_GCM_256, SRTP_NULL_AUTH, 0) \
	X(AEAD_AES_128_GCM,	   16, 12, 16, 16,			\
	    srtp_profile_aead_aes_128_gcm, SRTP_AES_GCM_128, SRTP_NULL_AUTH, 0) \
	X(AES_256_CM_HMAC_SHA1_80, 32, 14, 10, 10,			\
	    SDES_PROFILE_AES256_CM_SHA1_80, SRTP_AES_ICM_256, SRTP_HMAC_SHA1, 20) \
	X(AES_256_CM_HMAC_SHA1_32, 32, 14,  4, 10,			\
	    SDES_PROFILE_AES256_CM_SHA1_32, SRTP_AES_ICM_256, SRTP_HMAC_SHA1, 20) \
	X(AES_192_CM_HMAC_SHA1_80, 24, 14, 10, 10,			\
	    SDES_PROFILE_AES192_CM_SHA1_80, SRTP_AES_ICM_192, SRTP_HMAC_SHA1, 20) \
	X(AES_192_CM_HMAC_SHA1_32, 24, 14,  4, 10,			\
	    SDES_PROFILE_AES192_CM_SHA1_32, SRTP_AES_ICM_192, SRTP_HMAC_SHA1, 20) \
	X(AES_CM_128_HMAC_SHA1_80, 16, 14, 10, 10,			\
	    srtp_profile_aes128_cm_sha1_80, SRTP_AES_ICM_128, SRTP_HMAC_SHA1, 20) \
	X(AES_CM_128_HMAC_SHA1_32, 16, 14,  4, 10,			\
	    srtp_profile_aes128_cm_sha1_32, SRTP_AES_ICM_128, SRTP_HMAC_SHA1, 20)

enum sdes_suite {
#define SDES_X_ENUM(id, k, s, t, tc, p, c, a, ak)	SDES_##id,
	SDES_SUITES(SDES_X_ENUM)
#undef SDES_X_ENUM
	SDES_NSUITES
};

struct sdes_suite_info {
	const char	*name;		/* "AES_CM_128_HMAC_SHA1_80" */
	size_t		 key_len;	/* master key */
	size_t		 salt_len;	/* master salt */
	size_t		 srtp_tag_len;
	size_t		 srtcp_tag_len;
	srtp_profile_t	 profile;	/* libsrtp2's, or SDES_PROFILE_* */
	int		 cipher_type;	/* srtp_cipher_type_id_t */
	int		 auth_type;	/* srtp_auth_type_id_t */
	size_t		 auth_key_len;
};

#define SDES_MAX_KEY_SALT	46		/* AES-256: 32 + 14 */
#define SDES_MAX_TAG		999999999U	/* tag = 1*9DIGIT */
#define SDES_MAX_KEYS		16		/* key-params on one line */
#define SDES_MAX_MKI_LEN	128		/* RFC 4568 9.2 */
#define SDES_MAX_LIFETIME	(1ULL << 48)	/* RFC 3711 9.2, SRTP */
#define SDES_MAX_KDR		24
#define SDES_MIN_WSH		64
#define SDES_MAX_WSH		0x7fffffffU

enum sdes_fec_order { SDES_FEC_NONE, SDES_FEC_SRTP, SDES_SRTP_FEC };

/* One crypto attribute.  Not shared between threads; wipe before freeing
 * or reusing the memory. */
struct sdes_crypto {
	uint32_t	 tag;		/* 0..SDES_MAX_TAG */
	enum sdes_suite	 suite;
	uint8_t		 key[SDES_MAX_KEY_SALT];	/* master key || salt */
	size_t		 key_len;	/* suite's key + salt bytes in key[] */
	uint64_t	 lifetime;	/* packets, 1..2^48; 0: not given */
	uint64_t	 mki;		/* MKI value, fits in mki_len bytes */
	unsigned	 mki_len;	/* 1..128; 0: no MKI */
	unsigned	 nkeys;		/* key-params given; key[] is the first */
	unsigned	 pad:1;		/* base64 with '=' padding (rtpengine's
					 * SDES-pad; without by default) */
	/* session parameters, RFC 4568 6.3 */
	unsigned	 unencrypted_srtp:1;
	unsigned	 unencrypted_srtcp:1;
	unsigned	 unauthenticated_srtp:1;
	unsigned	 fec_key:1;	/* FEC_KEY: checked, neither kept nor
					 * written (rtpsec does no FEC) */
	int		 kdr;		/* KDR=n, 0..24; -1: not given */
	enum sdes_fec_order fec_order;
	uint32_t	 wsh;		/* WSH=n, >= 64; 0: not given */
	unsigned	 nignored;	/* unknown optional ("-") parameters */
};

/* RFC 4568 6.3.1-6.3.3 session parameters as a bit set (what ctld and
 * keyd pass around; struct sdes_crypto keeps them as its bit-fields). */
#define SDES_P_UNENCRYPTED_SRTP		0x1u
#define SDES_P_UNENCRYPTED_SRTCP	0x2u
#define SDES_P_UNAUTHENTICATED_SRTP	0x4u
#define SDES_P_ALL			0x7u

static inline unsigned
sdes_params(const struct sdes_crypto *c)
{
	return (c->unencrypted_srtp ? SDES_P_UNENCRYPTED_SRTP : 0) |
	    (c->unencrypted_srtcp ? SDES_P_UNENCRYPTED_SRTCP : 0) |
	    (c->unauthenticated_srtp ? SDES_P_UNAUTHENTICATED_SRTP : 0);
}

static inline void
sdes_set_params(struct sdes_crypto *c, unsigned p)
{
	c->unencrypted_srtp = (p & SDES_P_UNENCRYPTED_SRTP) != 0;
	c->unencrypted_srtcp = (p & SDES_P_UNENCRYPTED_SRTCP) != 0;
	c->unauthenticated_srtp = (p & SDES_P_UNAUTHENTICATED_SRTP) != 0;
}

/* sdes_parse() results besides 0 and -1 (malformed).  Both mean "skip
 * this line" to an answerer; neither is an error of the whole SDP. */
#define SDES_UNKNOWN_SUITE	1	/* well-formed tag, suite we lack */
#define SDES_UNSUPPORTED	2	/* a key method other than inline, or
					 * an unknown mandatory parameter */

/* The suite's row, or NULL if out of range. */
const struct sdes_suite_info *sdes_suite_info(enum sdes_suite);
/* The suite's name, or NULL if out of range. */
const char	*sdes_suite_name(enum sdes_suite);
/* The suite called name[0..len) (case-insensitive, as RFC 4568's ABNF
 * strings are), or -1. */
int		 sdes_suite_by_name(const char *name, size_t len);
/* A configured suite list ("AES_CM_128_HMAC_SHA1_80 AEAD_AES_128_GCM",
 * separated by spaces, tabs or commas) into order[] (SDES_NSUITES room;
 * may be NULL to only check).  An empty list is every suite in the
 * default order.  Returns the count, or -1 with err (unknown or repeated
 * suite). */
int		 sdes_suite_list(const char *list, enum sdes_suite *order,
		    char *err, size_t errlen);

/*
 * Parses value[0..len), the text after "a=crypto:" without the line end
 * (RFC 4568 9.1 and 9.2).  Returns 0 with *out filled; SDES_UNKNOWN_SUITE
 * with out->tag set and out->suite = SDES_NSUITES; SDES_UNSUPPORTED with
 * tag and suite set; or -1 for a malformed attribute.  On any result but 0
 * out holds no key material.  err (may be NULL) receives a static reason
 * that never quotes the input.
 */
int		 sdes_parse(const char *value, size_t len,
		    struct sdes_crypto *out, char *err, size_t errlen);

/*
 * Appends "a=crypto:<tag> <suite> inline:<key||salt>[|2^n or |lifetime]
 * [|mki:len][ KDR=n][ UNENCRYPTED_SRTP][ UNENCRYPTED_SRTCP]
 * [ UNAUTHENTICATED_SRTP][ FEC_ORDER=x][ WSH=n]\r\n" to out: a complete
 * line, as sdp_rewrite's sec_lines take them.  Only the first key is
 * written.  Marks out buf_secret().  Returns 0, or -1 if c is not valid
 * or out ran out of memory.
 */
int		 sdes_format(struct buf *out, const struct sdes_crypto *c);

/* Fills c with a new key||salt for suite from the OpenSSL CSPRNG, tag
 * tag and no other parameter.  Returns 0, or -1 (c wiped) for a bad
 * suite or tag, or if RAND_bytes(3) fails. */
int		 sdes_keygen(struct sdes_crypto *c, enum sdes_suite suite,
		    uint32_t tag);

/* The MKI as it goes into packets (RFC 3711 3.1: big-endian, mki_len
 * bytes).  Returns mki_len (0: none), or -1 if outlen is too small. */
int		 sdes_mki_bytes(const struct sdes_crypto *c, uint8_t *out,
		    size_t outlen);

void		 sdes_crypto_wipe(struct sdes_crypto *c);

#endif
