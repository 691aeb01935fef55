/*
 * sdes: the RFC 4568 a=crypto attribute, see sdes.h.
 *
 * The parser follows the grammar of RFC 4568 9.1 and 9.2 with explicit
 * lengths; it never reads past value + len nor expects a NUL:
 *
 *   tag 1*WSP crypto-suite 1*WSP key-params *(1*WSP session-param)
 *   tag        = 1*9DIGIT
 *   key-params = key-param *(";" key-param)     (at most SDES_MAX_KEYS)
 *   key-param  = "inline:" key-salt ["|" lifetime] ["|" mki-value ":" mki-length]
 *
 * Decisions where the RFC leaves room, or where peers differ from it:
 * - ABNF literals are case-insensitive (RFC 5234 2.3): suite names,
 *   "inline", and session parameter names are matched so (rtpengine
 *   agrees).  What we write is upper case.
 * - key-salt is base64 of exactly the suite's key + salt length, with or
 *   without its '=' padding (rtpengine writes none; SDES-pad adds it), in
 *   the canonical encoding (unused low bits zero), decoded by OpenSSL.
 * - lifetime: decimal or 2^n, 1..2^48 packets (RFC 3711 9.2; 2^31 is the
 *   SRTCP limit but phones send 2^48, as rtpengine tolerates).
 * - MKI: length 1..128 bytes (RFC 4568 9.2, 1*3DIGIT), value < 2^64 and
 *   fitting in its length.  Several key-params must each carry an MKI of
 *   the same length and distinct values, or packets could not say which
 *   master key they use (RFC 3711 3.1); only the first key is kept.
 * - Session parameters (6.3): KDR=n (0..24, no leading zero: 6.3.1),
 *   UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP,
 *   FEC_ORDER=FEC_SRTP|SRTP_FEC, FEC_KEY=key-params (checked like the
 *   line's keys, then dropped), WSH=n (64..2^31-1).  A known one given
 *   twice is malformed.  An unknown one prefixed with '-' is optional and
 *   ignored (counted); any other unknown one makes the line unusable
 *   (6.3.7: "MUST be considered invalid"), reported as SDES_UNSUPPORTED
 *   so the caller skips the line rather than failing the SDP.  Whether the
 *   known ones are acceptable (libsrtp2 has no KDR, rtpsec no FEC) is
 *   the caller's choice: they are reported, not refused.
 * - Fields are separated by spaces or tabs (WSP); whitespace after the
 *   last field is tolerated, before the tag it is not.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "libcommon/sdes.h"

static const struct sdes_suite_info suites[SDES_NSUITES] = {
#define SDES_X_INFO(id, k, s, t, tc, p, c, a, ak)			\
	[SDES_##id] = { #id, k, s, t, tc, p, c, a, ak },
	SDES_SUITES(SDES_X_INFO)
#undef SDES_X_INFO
};

#define B64_MAX		(4 * ((SDES_MAX_KEY_SALT + 2) / 3))	/* 64 */

/* One key-param while it is being parsed; holds key material. */
struct sdes_kp {
	uint8_t		 key[SDES_MAX_KEY_SALT];
	int		 pad;
	uint64_t	 lifetime;
	uint64_t	 mki;
	unsigned	 mki_len;
};

const struct sdes_suite_info *
sdes_suite_info(enum sdes_suite s)
{
	if ((unsigned)s >= SDES_NSUITES)
		return NULL;
	return &suites[s];
}

const char *
sdes_suite_name(enum sdes_suite s)
{
	if ((unsigned)s >= SDES_NSUITES)
		return NULL;
	return suites[s].name;
}

int
sdes_suite_by_name(const char *name, size_t len)
{
	int	 i;

	for (i = 0; i < SDES_NSUITES; i++)
		if (strlen(suites[i].name) == len &&
		    strncasecmp(suites[i].name, name, len) == 0)
			return i;
	return -1;
}

void
sdes_crypto_wipe(struct sdes_crypto *c)
{
	explicit_bzero(c, sizeof(*c));
}

static void
sdes_err(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
}

static int
sdes_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
sdes_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* s[0..len) is lit, ignoring case. */
static int
sdes_ieq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* s[0..len) starts with lit, ignoring case. */
static int
sdes_iprefix(const char *s, size_t len, const char *lit)
{
	size_t	 n = strlen(lit);

	return len >= n && strncasecmp(s, lit, n) == 0;
}

/* A decimal number of 1..maxdig digits not above max; 0 or -1.  maxdig
 * 0 means any number of digits (leading zeros). */
static int
sdes_num(const char *s, size_t len, size_t maxdig, uint64_t max,
    uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || (maxdig > 0 && len > maxdig))
		return -1;
	for (i = 0; i < len; i++) {
		uint64_t	 d;

		if (!sdes_digit(s[i]))
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
sdes_b64char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    sdes_digit(c) || c == '+' || c == '/';
}

/*
 * Decodes s[0..len), base64 of exactly want bytes with or without its
 * padding, into out.  Returns 0, or -1 with *why set.  The temporaries
 * that held key material are wiped.
 */
static int
sdes_b64_decode(const char *s, size_t len, uint8_t *out, size_t want,
    int *pad, const char **why)
{
	unsigned char	 in[B64_MAX + 1], bin[B64_MAX], again[B64_MAX + 1];
	size_t		 bare = (want * 4 + 2) / 3, full = 4 * ((want + 2) / 3);
	size_t		 i, npad;
	int		 n, rc = -1;

	for (npad = 0; npad < len && s[len - 1 - npad] == '='; npad++)
		;
	for (i = 0; i < len - npad; i++)
		if (!sdes_b64char(s[i])) {
			*why = "invalid base64 in key";
			return -1;
		}
	if (len - npad != bare) {
		*why = "key||salt length does not match the suite";
		return -1;
	}
	if (npad != 0 && npad != full - bare) {
		*why = "invalid base64 padding in key";
		return -1;
	}
	*pad = npad != 0;
	memcpy(in, s, bare);
	memset(in + bare, '=', full - bare);
	in[full] = '\0';
	n = EVP_DecodeBlock(bin, in, (int)full);
	if (n != (int)(full / 4 * 3)) {
		*why = "invalid base64 in key";
		goto out;
	}
	/* EVP_DecodeBlock counts padding as zero bytes; it also accepts
	 * non-zero unused bits, which re-encoding finds. */
	if (EVP_EncodeBlock(again, bin, (int)want) != (int)full ||
	    memcmp(again, in, full) != 0) {
		*why = "non-canonical base64 in key";
		goto out;
	}
	memcpy(out, bin, want);
	rc = 0;
out:
	explicit_bzero(in, sizeof(in));
	explicit_bzero(bin, sizeof(bin));
	explicit_bzero(again, sizeof(again));
	return rc;
}

/* lifetime = ["2^"] 1*DIGIT, 1..SDES_MAX_LIFETIME */
static int
sdes_lifetime(const char *s, size_t len, uint64_t *out)
{
	uint64_t	 n;

	if (len >= 2 && s[0] == '2' && s[1] == '^') {
		if (sdes_num(s + 2, len - 2, 0, 48, &n) == -1)
			return -1;
		*out = 1ULL << n;
		return 0;
	}
	if (sdes_num(s, len, 0, SDES_MAX_LIFETIME, &n) == -1 || n == 0)
		return -1;
	*out = n;
	return 0;
}

/* mki = mki-value ":" mki-length */
static int
sdes_mki(const char *s, size_t len, uint64_t *mki, unsigned *mki_len,
    const char **why)
{
	const char	*c = memchr(s, ':', len);
	uint64_t	 v, l;

	*why = "invalid MKI";
	if (c == NULL || sdes_num(s, (size_t)(c - s), 0, UINT64_MAX,
	    &v) == -1 || sdes_num(c + 1, (size_t)(s + len - c - 1), 3,
	    999, &l) == -1)
		return -1;
	if (l == 0 || l > SDES_MAX_MKI_LEN) {
		*why = "MKI length out of range";
		return -1;
	}
	if (l < 8 && v >> (8 * l) != 0) {
		*why = "MKI value does not fit its length";
		return -1;
	}
	*mki = v;
	*mki_len = (unsigned)l;
	return 0;
}

/* key-param = key-method ":" key-info; for "inline",
 * key-info = key-salt ["|" lifetime] ["|" mki].
 * Returns 0, -1 (malformed) or SDES_UNSUPPORTED (another method). */
static int
sdes_keyparam(const char *s, size_t len, const struct sdes_suite_info *si,
    struct sdes_kp *kp, const char **why)
{
	const char	*c, *e = s + len, *f[3];
	size_t		 fl[3], i, nf;

	memset(kp, 0, sizeof(*kp));
	*why = "invalid key parameter";
	if ((c = memchr(s, ':', len)) == NULL || c == s)
		return -1;
	for (i = 0; s + i < c; i++)
		if (!sdes_digit(s[i]) && s[i] != '_' &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= 'a' && s[i] <= 'z'))
			return -1;
	if (!sdes_ieq(s, (size_t)(c - s), "inline")) {
		*why = "unsupported key method";
		return SDES_UNSUPPORTED;
	}
	/* split key-info at '|' into at most three fields */
	for (nf = 0, f[0] = c + 1;;) {
		const char	*bar;

		bar = memchr(f[nf], '|', (size_t)(e - f[nf]));
		fl[nf] = (size_t)((bar != NULL ? bar : e) - f[nf]);
		if (fl[nf] == 0)
			return -1;
		nf++;
		if (bar == NULL)
			break;
		if (nf == 3)
			return -1;
		f[nf] = bar + 1;
	}
	if (sdes_b64_decode(f[0], fl[0], kp->key, si->key_len + si->salt_len,
	    &kp->pad, why) == -1)
		return -1;
	i = 1;
	if (nf == 3 || (nf == 2 && memchr(f[1], ':', fl[1]) == NULL)) {
		if (sdes_lifetime(f[1], fl[1], &kp->lifetime) == -1) {
			*why = "invalid lifetime";
			return -1;
		}
		i = 2;
	}
	if (i < nf && sdes_mki(f[i], fl[i], &kp->mki, &kp->mki_len,
	    why) == -1)
		return -1;
	return 0;
}

/* key-params = key-param *(";" key-param): the first into *first, the
 * count into *n.  Same results as sdes_keyparam(). */
static int
sdes_keyparams(const char *s, size_t len, const struct sdes_suite_info *si,
    struct sdes_kp *first, unsigned *n, const char **why)
{
	const char	*e = s + len, *p = s, *end;
	uint64_t	 mkis[SDES_MAX_KEYS] = { 0 };
	struct sdes_kp	 kp;
	unsigned	 k = 0, j;
	int		 rc = 0;

	for (;;) {
		if (k == SDES_MAX_KEYS) {
			*why = "too many keys";
			rc = -1;
			break;
		}
		if ((end = memchr(p, ';', (size_t)(e - p))) == NULL)
			end = e;
		if ((rc = sdes_keyparam(p, (size_t)(end - p), si, &kp,
		    why)) != 0)
			break;
		if (k == 0)
			*first = kp;
		else if (kp.mki_len == 0 || first->mki_len == 0) {
			*why = "several keys without MKI";
			rc = -1;
			break;
		} else if (kp.mki_len != first->mki_len) {
			*why = "keys with different MKI lengths";
			rc = -1;
			break;
		}
		for (j = 0; j < k; j++)
			if (mkis[j] == kp.mki)
				break;
		if (j < k) {
			*why = "duplicate MKI";
			rc = -1;
			break;
		}
		mkis[k++] = kp.mki;
		if (end == e)
			break;
		p = end + 1;
	}
	explicit_bzero(&kp, sizeof(kp));
	if (rc != 0) {
		explicit_bzero(first, sizeof(*first));
		return rc;
	}
	*n = k;
	return 0;
}

/* One session parameter.  Returns 0, -1 or SDES_UNSUPPORTED. */
static int
sdes_sessparam(const char *s, size_t len, const struct sdes_suite_info *si,
    struct sdes_crypto *c, unsigned *seen, const char **why)
{
	static const char *const names[] = { "KDR=", "UNENCRYPTED_SRTP",
	    "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP", "FEC_ORDER=",
	    "FEC_KEY=", "WSH=" };
	struct sdes_kp	 kp;
	uint64_t	 v;
	size_t		 i, nl;
	unsigned	 n;
	int		 rc;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			*why = "invalid session parameter";
			return -1;
		}
	if (len == 1 && s[0] == '-') {		/* a name must follow */
		*why = "invalid session parameter";
		return -1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		nl = strlen(names[i]);
		if (names[i][nl - 1] == '=' ? sdes_iprefix(s, len, names[i]) :
		    sdes_ieq(s, len, names[i]))
			break;
	}
	if (i == sizeof(names) / sizeof(names[0])) {
		if (s[0] == '-') {	/* optional: RFC 4568 6.3.7 */
			c->nignored++;
			return 0;
		}
		*why = "unknown session parameter";
		return SDES_UNSUPPORTED;
	}
	if (*seen & (1U << i)) {
		*why = "duplicate session parameter";
		return -1;
	}
	*seen |= 1U << i;
	s += nl;
	len -= nl;
	switch (i) {
	case 0:		/* KDR=1*2DIGIT, no leading zero */
		if (sdes_num(s, len, 2, SDES_MAX_KDR, &v) == -1 ||
		    (len == 2 && s[0] == '0')) {
			*why = "invalid KDR";
			return -1;
		}
		c->kdr = (int)v;
		return 0;
	case 1:
		c->unencrypted_srtp = 1;
		return 0;
	case 2:
		c->unencrypted_srtcp = 1;
		return 0;
	case 3:
		c->unauthenticated_srtp = 1;
		return 0;
	case 4:
		if (sdes_ieq(s, len, "FEC_SRTP"))
			c->fec_order = SDES_FEC_SRTP;
		else if (sdes_ieq(s, len, "SRTP_FEC"))
			c->fec_order = SDES_SRTP_FEC;
		else {
			*why = "invalid FEC_ORDER";
			return -1;
		}
		return 0;
	case 5:
		rc = sdes_keyparams(s, len, si, &kp, &n, why);
		explicit_bzero(&kp, sizeof(kp));
		if (rc != 0)
			return rc;
		c->fec_key = 1;
		return 0;
	default:	/* WSH=2*DIGIT, at least 64 */
		if (sdes_num(s, len, 0, SDES_MAX_WSH, &v) == -1 || len < 2 ||
		    v < SDES_MIN_WSH) {
			*why = "invalid WSH";
			return -1;
		}
		c->wsh = (uint32_t)v;
		return 0;
	}
}

/* The next WSP-separated token of [*p, e); 0 at the end. */
static int
sdes_tok(const char **p, const char *e, const char **t, size_t *tl)
{
	const char	*s = *p;

	while (s < e && sdes_wsp(*s))
		s++;
	if (s == e)
		return 0;
	*t = s;
	while (s < e && !sdes_wsp(*s))
		s++;
	*tl = (size_t)(s - *t);
	*p = s;
	return 1;
}

int
sdes_parse(const char *value, size_t len, struct sdes_crypto *out,
    char *err, size_t errlen)
{
	const struct sdes_suite_info	*si;
	const char			*p, *e, *t;
	const char			*why = "malformed crypto attribute";
	struct sdes_kp			 kp;
	uint64_t			 tag;
	size_t				 tl, i;
	unsigned			 seen = 0;
	int				 s, rc = -1;

	memset(out, 0, sizeof(*out));
	out->kdr = -1;
	out->suite = SDES_NSUITES;
	if (value == NULL)
		goto fail;
	p = value;
	e = value + len;

	/* tag: no whitespace before it */
	if (len == 0 || sdes_wsp(*p) || !sdes_tok(&p, e, &t, &tl) ||
	    sdes_num(t, tl, 9, SDES_MAX_TAG, &tag) == -1) {
		why = "invalid tag";
		goto fail;
	}
	out->tag = (uint32_t)tag;

	/* crypto-suite = 1*(ALPHA / DIGIT / "_") */
	if (p == e || !sdes_tok(&p, e, &t, &tl)) {
		why = "missing crypto suite";
		goto fail;
	}
	for (i = 0; i < tl; i++)
		if (!sdes_digit(t[i]) && t[i] != '_' &&
		    !(t[i] >= 'A' && t[i] <= 'Z') &&
		    !(t[i] >= 'a' && t[i] <= 'z')) {
			why = "invalid crypto suite";
			goto fail;
		}
	if ((s = sdes_suite_by_name(t, tl)) == -1) {
		why = "unknown crypto suite";
		rc = SDES_UNKNOWN_SUITE;
		goto fail;
	}
	out->suite = (enum sdes_suite)s;
	si = &suites[s];
	out->key_len = si->key_len + si->salt_len;

	if (!sdes_tok(&p, e, &t, &tl)) {
		why = "missing key parameters";
		goto fail;
	}
	if ((rc = sdes_keyparams(t, tl, si, &kp, &out->nkeys, &why)) != 0)
		goto fail;
	memcpy(out->key, kp.key, out->key_len);
	out->pad = kp.pad != 0;
	out->lifetime = kp.lifetime;
	out->mki = kp.mki;
	out->mki_len = kp.mki_len;
	explicit_bzero(&kp, sizeof(kp));

	while (sdes_tok(&p, e, &t, &tl))
		if ((rc = sdes_sessparam(t, tl, si, out, &seen, &why)) != 0)
			goto fail;
	return 0;

fail:
	/* keep only what the caller may need to skip the line */
	tag = out->tag;
	s = (int)out->suite;
	sdes_crypto_wipe(out);
	out->kdr = -1;
	out->suite = SDES_NSUITES;
	if (rc > 0) {
		out->tag = (uint32_t)tag;
		out->suite = (enum sdes_suite)s;
	}
	sdes_err(err, errlen, why);
	return rc;
}

int
sdes_format(struct buf *out, const struct sdes_crypto *c)
{
	static const char *const fec[] = { "", " FEC_ORDER=FEC_SRTP",
	    " FEC_ORDER=SRTP_FEC" };
	const struct sdes_suite_info	*si;
	unsigned char			 b64[B64_MAX + 1];
	char				 line[512];
	size_t				 kl, bare, n;
	int				 len;

	if ((si = sdes_suite_info(c->suite)) == NULL || c->tag > SDES_MAX_TAG)
		return -1;
	kl = si->key_len + si->salt_len;
	if (c->key_len != kl || c->lifetime > SDES_MAX_LIFETIME ||
	    c->mki_len > SDES_MAX_MKI_LEN ||
	    (c->mki_len > 0 && c->mki_len < 8 && c->mki >> (8 * c->mki_len)) ||
	    c->kdr < -1 || c->kdr > SDES_MAX_KDR ||
	    (unsigned)c->fec_order > SDES_SRTP_FEC ||
	    (c->wsh != 0 && (c->wsh < SDES_MIN_WSH || c->wsh > SDES_MAX_WSH)))
		return -1;
	bare = (kl * 4 + 2) / 3;
	if (EVP_EncodeBlock(b64, c->key, (int)kl) != (int)(4 * ((kl + 2) / 3)))
		return -1;
	if (!c->pad)
		b64[bare] = '\0';

	len = snprintf(line, sizeof(line), "a=crypto:%u %s inline:%s",
	    c->tag, si->name, (const char *)b64);
	n = len > 0 ? (size_t)len : 0;
	if (c->lifetime != 0 && n < sizeof(line)) {
		if ((c->lifetime & (c->lifetime - 1)) == 0) {
			int	 lg;

			for (lg = 0; (1ULL << lg) != c->lifetime; lg++)
				;
			len = snprintf(line + n, sizeof(line) - n, "|2^%d", lg);
		} else
			len = snprintf(line + n, sizeof(line) - n, "|%llu",
			    (unsigned long long)c->lifetime);
		n += len > 0 ? (size_t)len : 0;
	}
	if (c->mki_len != 0 && n < sizeof(line)) {
		len = snprintf(line + n, sizeof(line) - n, "|%llu:%u",
		    (unsigned long long)c->mki, c->mki_len);
		n += len > 0 ? (size_t)len : 0;
	}
	if (c->kdr >= 0 && n < sizeof(line)) {
		len = snprintf(line + n, sizeof(line) - n, " KDR=%d", c->kdr);
		n += len > 0 ? (size_t)len : 0;
	}
	if (n < sizeof(line)) {
		len = snprintf(line + n, sizeof(line) - n, "%s%s%s%s",
		    c->unencrypted_srtp ? " UNENCRYPTED_SRTP" : "",
		    c->unencrypted_srtcp ? " UNENCRYPTED_SRTCP" : "",
		    c->unauthenticated_srtp ? " UNAUTHENTICATED_SRTP" : "",
		    fec[c->fec_order]);
		n += len > 0 ? (size_t)len : 0;
	}
	if (c->wsh != 0 && n < sizeof(line)) {
		len = snprintf(line + n, sizeof(line) - n, " WSH=%u", c->wsh);
		n += len > 0 ? (size_t)len : 0;
	}
	if (n < sizeof(line)) {
		len = snprintf(line + n, sizeof(line) - n, "\r\n");
		n += len > 0 ? (size_t)len : 0;
	}
	explicit_bzero(b64, sizeof(b64));
	if (n >= sizeof(line)) {	/* cannot happen: bounded fields */
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	buf_secret(out);
	buf_add(out, line, n);
	explicit_bzero(line, sizeof(line));
	return out->oom ? -1 : 0;
}

int
sdes_keygen(struct sdes_crypto *c, enum sdes_suite suite, uint32_t tag)
{
	const struct sdes_suite_info	*si;

	sdes_crypto_wipe(c);
	c->kdr = -1;
	c->suite = SDES_NSUITES;
	if ((si = sdes_suite_info(suite)) == NULL || tag > SDES_MAX_TAG)
		return -1;
	c->tag = tag;
	c->suite = suite;
	c->key_len = si->key_len + si->salt_len;
	c->nkeys = 1;
	if (RAND_bytes(c->key, (int)c->key_len) != 1) {
		sdes_crypto_wipe(c);
		c->kdr = -1;
		c->suite = SDES_NSUITES;
		return -1;
	}
	return 0;
}

int
sdes_mki_bytes(const struct sdes_crypto *c, uint8_t *out, size_t outlen)
{
	size_t	 i;

	if (c->mki_len > SDES_MAX_MKI_LEN || outlen < c->mki_len)
		return -1;
	for (i = 0; i < c->mki_len; i++) {
		size_t	 shift = 8 * (c->mki_len - 1 - i);

		out[i] = shift < 64 ? (uint8_t)(c->mki >> shift) : 0;
	}
	return (int)c->mki_len;
}

int
sdes_suite_list(const char *list, enum sdes_suite *order, char *err,
    size_t errlen)
{
	enum sdes_suite	 tmp[SDES_NSUITES];
	unsigned	 seen = 0;
	size_t		 len;
	int		 n = 0, x;

	if (order == NULL)
		order = tmp;
	for (;;) {
		list += strspn(list, " \t,");
		if (*list == '\0')
			break;
		len = strcspn(list, " \t,");
		if ((x = sdes_suite_by_name(list, len)) == -1) {
			snprintf(err, errlen, "ctld.sdes_suites: unknown suite "
			    "%.*s", (int)(len > 40 ? 40 : len), list);
			return -1;
		}
		if (seen & (1U << x)) {
			snprintf(err, errlen, "ctld.sdes_suites: %s twice",
			    sdes_suite_name((enum sdes_suite)x));
			return -1;
		}
		seen |= 1U << x;
		order[n++] = (enum sdes_suite)x;
		list += len;
	}
	if (n == 0)
		for (; n < SDES_NSUITES; n++)
			order[n] = (enum sdes_suite)n;
	return n;
}
