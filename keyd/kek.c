/*
 * kek: keyd's key-wrapping key, the wrapped SRTP keys and the
 * srtp_unwrap op; see kek.h for the blob and docs/srtp.md.
 *
 * The AEAD is OpenSSL's EVP AES-256-GCM; keyd's main() makes a first
 * wrap and unwrap before it confines itself, so OpenSSL has fetched the
 * cipher (and read its configuration) while the files are still there.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "libcommon/log.h"
#include "keyd/kek.h"
#include "keyd/sdes.h"

static const char kek_label[] = "rtpsec-srtp-v1";

/* ---- the KEK file ----------------------------------------------------- */

void
keyd_kek_wipe(struct keyd_kek *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

/* k->id and k->idhex from k->key: the first bytes of SHA-256(KEK). */
static int
kek_set_id(struct keyd_kek *k)
{
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned	 mdlen = 0, i;

	if (EVP_Digest(k->key, sizeof(k->key), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < KEYD_KEK_IDLEN)
		return -1;
	memcpy(k->id, md, KEYD_KEK_IDLEN);
	for (i = 0; i < KEYD_KEK_IDLEN; i++)
		snprintf(k->idhex + 2 * i, 3, "%02x", k->id[i]);
	return 0;
}

int
keyd_kek_generate(struct keyd_kek *k)
{
	memset(k, 0, sizeof(*k));
	if (RAND_bytes(k->key, sizeof(k->key)) != 1 || kek_set_id(k) == -1) {
		keyd_kek_wipe(k);
		return -1;
	}
	return 0;
}

/* fsync(2) of the directory holding path, so a created file's name is
 * durable too; errors only weaken that and are ignored. */
static void
kek_sync_dir(const char *path)
{
	char		 dir[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	int		 fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

/*
 * Creates the KEK file at path: the key goes to a temporary file first,
 * which link(2) then names path, so path is either absent or holds the
 * whole key, whatever crash comes in between; link also refuses to
 * replace a file another keyd created meanwhile.  0, 1 (created), or -1;
 * 2: path appeared meanwhile, read it.
 */
static int
kek_create(struct keyd_kek *k, const char *path, char *err, size_t errlen)
{
	char	 tmp[PATH_MAX + 32];
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (keyd_kek_generate(k) == -1) {
		snprintf(err, errlen, "no random numbers for a new KEK");
		return -1;
	}
	(void)unlink(tmp);	/* left by a crashed keyd of the same pid */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, 0600) == -1) {
		snprintf(err, errlen, "%s: fchmod: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < sizeof(k->key)) {
		if ((n = write(fd, k->key + off, sizeof(k->key) - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: write: %s", tmp,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1) {
		if (errno == EEXIST)
			rc = 2;
		else
			snprintf(err, errlen, "%s: link: %s", path,
			    strerror(errno));
		goto out;
	}
	kek_sync_dir(path);
	rc = 1;
out:
	close(fd);
	(void)unlink(tmp);
fail:
	if (rc != 1)
		keyd_kek_wipe(k);
	return rc;
}

int
keyd_kek_load(struct keyd_kek *k, const char *path, char *err,
    size_t errlen)
{
	struct stat	 st;
	uint8_t		 b[KEYD_KEK_LEN + 1];
	size_t		 off = 0;
	ssize_t		 n = 0;
	int		 fd, rc, tries;

	memset(k, 0, sizeof(*k));
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no kek_file configured");
		return -1;
	}
	for (tries = 0;; tries++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1)
			break;
		if (errno != ENOENT || tries > 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if ((rc = kek_create(k, path, err, errlen)) != 2)
			return rc;
	}
	rc = -1;
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (st.st_uid != geteuid())
		snprintf(err, errlen, "%s: owned by uid %u, not keyd's %u",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if ((st.st_mode & 077) != 0)
		snprintf(err, errlen, "%s: mode %04o: group or others have "
		    "access to the KEK (chmod 600 it, or remove it to make a "
		    "new one: the keys it wrapped are then lost)", path,
		    (unsigned)(st.st_mode & 07777));
	else if (st.st_size != KEYD_KEK_LEN)
		snprintf(err, errlen, "%s: %lld bytes, a KEK is %d", path,
		    (long long)st.st_size, KEYD_KEK_LEN);
	else {
		/* one byte more than a KEK: a file that grew after fstat
		 * is refused too */
		while (off < sizeof(b)) {
			if ((n = read(fd, b + off, sizeof(b) - off)) == -1) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (n == 0)
				break;
			off += (size_t)n;
		}
		if (n == -1)
			snprintf(err, errlen, "%s: read: %s", path,
			    strerror(errno));
		else if (off != KEYD_KEK_LEN)
			snprintf(err, errlen, "%s: %zu bytes, a KEK is %d",
			    path, off, KEYD_KEK_LEN);
		else {
			memcpy(k->key, b, KEYD_KEK_LEN);
			if (kek_set_id(k) == -1)
				snprintf(err, errlen, "SHA-256 failed");
			else
				rc = 0;
		}
	}
	OPENSSL_cleanse(b, sizeof(b));
	close(fd);
	if (rc == -1)
		keyd_kek_wipe(k);
	return rc;
}

/* ---- wrapping ----------------------------------------------------------- */

static int
aad_str(struct buf *a, const char *s)
{
	size_t	 len = strlen(s);
	uint8_t	 l[2];

	if (len > 0xffff)
		return -1;
	l[0] = (uint8_t)(len >> 8);
	l[1] = (uint8_t)len;
	return buf_add(a, l, 2) == 0 && buf_add(a, s, len) == 0 ? 0 : -1;
}

/* The AAD of a blob whose first bytes are hdr (version, kek id). */
static int
kek_aad(struct buf *a, const uint8_t *hdr, const struct keyd_kek_bind *b)
{
	uint8_t	 m[4];

	m[0] = (uint8_t)(b->media >> 24);
	m[1] = (uint8_t)(b->media >> 16);
	m[2] = (uint8_t)(b->media >> 8);
	m[3] = (uint8_t)b->media;
	if (buf_add(a, hdr, 1 + KEYD_KEK_IDLEN) == -1 ||
	    buf_add(a, kek_label, sizeof(kek_label) - 1) == -1 ||
	    aad_str(a, b->call) == -1 || aad_str(a, b->leg) == -1 ||
	    buf_add(a, m, sizeof(m)) == -1 || aad_str(a, b->dir) == -1 ||
	    a->oom)
		return -1;
	return 0;
}

/* AES-256-GCM, one shot: enc 1 seals in[0..len) into out and writes tag;
 * enc 0 opens it, checking tag.  0, or -1 (for enc 0: it does not
 * authenticate). */
static int
kek_gcm(int enc, const struct keyd_kek *k, const uint8_t *nonce,
    const struct buf *aad, const uint8_t *in, size_t len, uint8_t *out,
    uint8_t *tag)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, rc = -1;

	if (len > KEYD_KEK_MAXBLOB || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
	    KEYD_KEK_NONCELEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad->p,
	    (int)aad->len) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    (size_t)n != len)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
	    KEYD_KEK_TAGLEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1 || n != 0)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
	    KEYD_KEK_TAGLEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);	/* cleanses the key schedule */
	return rc;
}

int
keyd_kek_wrap(const struct keyd_kek *k, const struct keyd_kek_bind *b,
    const struct sdes_crypto *c, struct buf *out)
{
	struct ipc_w	 pt;
	struct buf	 aad;
	uint8_t		 hdr[KEYD_KEK_HDRLEN], ct[KEYD_KEK_MAXBLOB];
	uint8_t		 tag[KEYD_KEK_TAGLEN];
	int		 rc = -1;

	if (c->key_len == 0 || c->key_len > sizeof(c->key))
		return -1;
	hdr[0] = KEYD_KEK_VERSION;
	memcpy(hdr + 1, k->id, KEYD_KEK_IDLEN);
	if (RAND_bytes(hdr + 1 + KEYD_KEK_IDLEN, KEYD_KEK_NONCELEN) != 1)
		return -1;
	buf_init(&aad);
	ipc_w_init(&pt);
	ipc_w_secret(&pt);
	msgpack_pack_map(&pt.pk, 5);
	ipc_w_str(&pt, "profile", sdes_suite_name(c->suite));
	ipc_w_bin(&pt, "key", c->key, c->key_len);
	ipc_w_bool(&pt, "unencrypted_srtp", c->unencrypted_srtp);
	ipc_w_bool(&pt, "unencrypted_srtcp", c->unencrypted_srtcp);
	ipc_w_bool(&pt, "unauthenticated_srtp", c->unauthenticated_srtp);
	if (pt.sb.data == NULL ||
	    pt.sb.size > KEYD_KEK_MAXBLOB - KEYD_KEK_HDRLEN - KEYD_KEK_TAGLEN ||
	    kek_aad(&aad, hdr, b) == -1 ||
	    kek_gcm(1, k, hdr + 1 + KEYD_KEK_IDLEN, &aad,
	    (const uint8_t *)pt.sb.data, pt.sb.size, ct, tag) == -1)
		goto out;
	if (buf_add(out, hdr, sizeof(hdr)) == 0 &&
	    buf_add(out, ct, pt.sb.size) == 0 &&
	    buf_add(out, tag, sizeof(tag)) == 0 && !out->oom)
		rc = 0;
out:
	ipc_w_free(&pt);
	buf_free(&aad);
	return rc;
}

/* The plaintext of a blob into *c: 0, or -1 with why. */
static int
kek_decode(const uint8_t *pt, size_t len, struct sdes_crypto *c, char *why,
    size_t whylen)
{
	msgpack_unpacked	 u;
	const msgpack_object	*m;
	const char		*name;
	const void		*key;
	size_t			 off = 0, nlen, klen;
	int			 suite, ue, uec, ua, rc = -1;
	const struct sdes_suite_info *si;

	msgpack_unpacked_init(&u);
	if (ipc_framing_ok(pt, len) == -1 ||
	    msgpack_unpack_next(&u, (const char *)pt, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != len ||
	    u.data.type != MSGPACK_OBJECT_MAP) {
		snprintf(why, whylen, "plaintext is not a map");
		goto out;
	}
	m = &u.data;
	if (ipc_get_str(m, "profile", &name, &nlen) == -1 ||
	    (suite = sdes_suite_by_name(name, nlen)) == -1 ||
	    ipc_get_bin(m, "key", &key, &klen) == -1 ||
	    ipc_get_bool(m, "unencrypted_srtp", &ue) == -1 ||
	    ipc_get_bool(m, "unencrypted_srtcp", &uec) == -1 ||
	    ipc_get_bool(m, "unauthenticated_srtp", &ua) == -1) {
		snprintf(why, whylen, "plaintext lacks a field");
		goto out;
	}
	si = sdes_suite_info((enum sdes_suite)suite);
	if (klen != si->key_len + si->salt_len || klen > sizeof(c->key)) {
		snprintf(why, whylen, "key length does not match the suite");
		goto out;
	}
	c->suite = (enum sdes_suite)suite;
	memcpy(c->key, key, klen);
	c->key_len = klen;
	c->kdr = -1;
	c->unencrypted_srtp = ue != 0;
	c->unencrypted_srtcp = uec != 0;
	c->unauthenticated_srtp = ua != 0;
	rc = 0;
out:
	/* the key bin points into pt, which the caller wipes */
	msgpack_unpacked_destroy(&u);
	return rc;
}

int
keyd_kek_unwrap(const struct keyd_kek *k, const struct keyd_kek_bind *b,
    const uint8_t *blob, size_t len, struct sdes_crypto *c, char *why,
    size_t whylen)
{
	struct buf	 aad;
	uint8_t		 pt[KEYD_KEK_MAXBLOB], tag[KEYD_KEK_TAGLEN];
	size_t		 ctlen;
	int		 rc = -1;

	memset(c, 0, sizeof(*c));
	if (len <= KEYD_KEK_HDRLEN + KEYD_KEK_TAGLEN ||
	    len > KEYD_KEK_MAXBLOB) {
		snprintf(why, whylen, "blob of %zu bytes", len);
		return -1;
	}
	if (blob[0] != KEYD_KEK_VERSION) {
		snprintf(why, whylen, "blob version %u", blob[0]);
		return -1;
	}
	if (memcmp(blob + 1, k->id, KEYD_KEK_IDLEN) != 0) {
		snprintf(why, whylen, "wrapped under KEK %02x%02x%02x%02x, "
		    "ours is %s", blob[1], blob[2], blob[3], blob[4],
		    k->idhex);
		return -1;
	}
	ctlen = len - KEYD_KEK_HDRLEN - KEYD_KEK_TAGLEN;
	memcpy(tag, blob + len - KEYD_KEK_TAGLEN, sizeof(tag));
	buf_init(&aad);
	if (kek_aad(&aad, blob, b) == -1)
		snprintf(why, whylen, "binding too long");
	else if (kek_gcm(0, k, blob + 1 + KEYD_KEK_IDLEN, &aad,
	    blob + KEYD_KEK_HDRLEN, ctlen, pt, tag) == -1)
		snprintf(why, whylen, "does not authenticate (tampered, or "
		    "bound to another call, leg, media or dir)");
	else
		rc = kek_decode(pt, ctlen, c, why, whylen);
	OPENSSL_cleanse(pt, sizeof(pt));
	buf_free(&aad);
	if (rc == -1)
		sdes_crypto_wipe(c);
	return rc;
}

/* ---- srtp_unwrap -------------------------------------------------------- */

int
keyd_kek_request(const struct keyd_kek *k, const struct ipc_r *q,
    struct ipc_w *w)
{
	char			 call[KEYD_SDES_CALLLEN];
	char			 leg[KEYD_SDES_LEGLEN], dir[4], why[160];
	struct keyd_kek_bind	 b;
	struct sdes_crypto	 c;
	const void		*blob;
	size_t			 len;
	uint64_t		 media;

	ipc_w_secret(w);
	if (ipc_get_strz(q->root, "call", call, sizeof(call)) == -1 ||
	    call[0] == '\0' ||
	    ipc_get_strz(q->root, "leg", leg, sizeof(leg)) == -1 ||
	    leg[0] == '\0' ||
	    ipc_get_uint(q->root, "media", &media) == -1 || media < 1 ||
	    media > KEYD_SDES_MAX_MEDIA ||
	    ipc_get_strz(q->root, "dir", dir, sizeof(dir)) == -1 ||
	    (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) ||
	    ipc_get_bin(q->root, "wrapped", &blob, &len) == -1) {
		log_warnx("refused srtp_unwrap: bad call, leg, media, dir or "
		    "wrapped");
		ipc_w_reply(w, q->op, q->id, 0, "bad call, leg, media, dir or "
		    "wrapped", 0);
		return -1;
	}
	b = (struct keyd_kek_bind){ call, leg, (unsigned)media, dir };
	if (keyd_kek_unwrap(k, &b, blob, len, &c, why, sizeof(why)) == -1) {
		log_warnx("[%s] srtp_unwrap leg %s media %u %s: cannot unwrap: "
		    "%s", call, leg, b.media, dir, why);
		ipc_w_reply(w, q->op, q->id, 0, "cannot unwrap", 0);
		return 1;
	}
	log_debug("[%s] srtp_unwrap leg %s media %u %s: %s", call, leg,
	    b.media, dir, sdes_suite_name(c.suite));
	ipc_w_reply(w, q->op, q->id, 1, NULL, 5);
	ipc_w_str(w, "profile", sdes_suite_name(c.suite));
	ipc_w_bin(w, "key", c.key, c.key_len);
	ipc_w_bool(w, "unencrypted_srtp", c.unencrypted_srtp);
	ipc_w_bool(w, "unencrypted_srtcp", c.unencrypted_srtcp);
	ipc_w_bool(w, "unauthenticated_srtp", c.unauthenticated_srtp);
	sdes_crypto_wipe(&c);
	return 0;
}
