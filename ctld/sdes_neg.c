/*
 * sdes_neg: see sdes_neg.h.  The flag forms follow rtpengine
 * (ng-protocol.md section 5): the flags "SDES-off", "SDES-no-<suite>",
 * "SDES-only-<suite>" and the list SDES: ["off", "no-<suite>",
 * "only-<suite>"]; a hyphen may be a space, suite names are
 * case-insensitive (RFC 4568's ABNF strings).  The session parameter
 * words "unencrypted_srtp", "unencrypted_srtcp", "unauthenticated_srtp"
 * and their opposites "encrypted_srtp", "encrypted_srtcp",
 * "authenticated_srtp" (ng-protocol.md, the SDES list) in either form.
 */
#include <string.h>
#include <strings.h>

#include "ctld/sdes_neg.h"

#define SDES_NEG_ALL	((1U << SDES_NSUITES) - 1)

static int
neg_sep(char c)
{
	return c == '-' || c == ' ';
}

/* s[0..len) is word, case-insensitive, '-' for '_' allowed. */
static int
neg_is(const char *s, size_t len, const char *word)
{
	size_t	 i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!(word[i] == '_' && s[i] == '-') &&
		    strncasecmp(s + i, word + i, 1) != 0)
			return 0;
	return 1;
}

/* The session parameter words: 1 if s[0..len) was one. */
static int
neg_param(const char *s, size_t len, struct sdes_neg_opts *o)
{
	static const struct {
		const char	*word;
		unsigned	 bit;
	} w[] = {
		{ "encrypted_srtp", SDES_P_UNENCRYPTED_SRTP },
		{ "encrypted_srtcp", SDES_P_UNENCRYPTED_SRTCP },
		{ "authenticated_srtp", SDES_P_UNAUTHENTICATED_SRTP },
	};
	size_t	 i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (neg_is(s, len, w[i].word)) {
			o->params &= ~w[i].bit;
			return 1;
		}
		if (len > 2 && strncasecmp(s, "un", 2) == 0 &&
		    neg_is(s + 2, len - 2, w[i].word)) {
			o->params |= w[i].bit;
			return 1;
		}
	}
	return 0;
}

/* One SDES word (without the "SDES-" prefix of the flag form). */
static void
neg_word(const char *s, size_t len, struct sdes_neg_opts *o,
    unsigned *only, unsigned *no)
{
	int	 suite;

	if (neg_param(s, len, o))
		return;
	if (len == 3 && strncasecmp(s, "off", 3) == 0)
		o->off = 1;
	else if (len == 3 && strncasecmp(s, "pad", 3) == 0)
		o->pad = 1;
	else if (len > 3 && strncasecmp(s, "no", 2) == 0 && neg_sep(s[2])) {
		if ((suite = sdes_suite_by_name(s + 3, len - 3)) >= 0)
			*no |= 1U << suite;
	} else if (len > 5 && strncasecmp(s, "only", 4) == 0 &&
	    neg_sep(s[4])) {
		if ((suite = sdes_suite_by_name(s + 5, len - 5)) >= 0)
			*only |= 1U << suite;
	}
}

void
sdes_neg_opts(const struct ngval *d, struct sdes_neg_opts *o)
{
	const struct ngval	*l, *v;
	const char		*s;
	size_t			 len, i;
	unsigned		 only = 0, no = 0;

	memset(o, 0, sizeof(*o));
	if (ngval_get_str(d, "transport-protocol", &s, &len) == 0 &&
	    len > 0 && len < sizeof(o->proto)) {
		for (i = 0; i < len; i++)
			if (s[i] <= ' ' || s[i] >= 0x7f)
				break;
		if (i == len)
			memcpy(o->proto, s, len);
	}
	if ((l = ngval_get(d, "flags")) != NULL && l->type == NGV_LIST)
		for (v = l->child; v != NULL; v = v->next)
			if (v->type == NGV_STR && v->len > 5 &&
			    strncasecmp(v->s, "SDES", 4) == 0 &&
			    neg_sep(v->s[4]))
				neg_word(v->s + 5, v->len - 5, o, &only, &no);
	if ((l = ngval_get(d, "SDES")) != NULL) {
		if (l->type == NGV_STR)
			neg_word(l->s, l->len, o, &only, &no);
		else if (l->type == NGV_LIST)
			for (v = l->child; v != NULL; v = v->next)
				if (v->type == NGV_STR)
					neg_word(v->s, v->len, o, &only, &no);
	}
	o->suites = (only != 0 ? only : SDES_NEG_ALL) & ~no;
}

int
sdes_neg_is_srtp(const char *proto)
{
	return strcmp(proto, "RTP/SAVP") == 0 ||
	    strcmp(proto, "RTP/SAVPF") == 0;
}

const char *
sdes_neg_map(const char *proto, int srtp)
{
	static const char *const map[][2] = {
		{ "RTP/AVP", "RTP/SAVP" },
		{ "RTP/AVPF", "RTP/SAVPF" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(proto, map[i][0]) == 0 ||
		    strcmp(proto, map[i][1]) == 0)
			return map[i][srtp ? 1 : 0];
	return proto;
}

const char *
sdes_neg_callee_proto(const struct sdes_neg_opts *o, const char *pproto)
{
	const char	*q;

	if (strstr(pproto, "RTP/") == NULL)
		return pproto;
	q = o->proto[0] != '\0' ? o->proto : pproto;
	if (sdes_neg_is_srtp(q) && (o->off || o->suites == 0))
		q = sdes_neg_map(q, 0);
	return q;
}

void
sdes_neg_restrict(struct sdes_neg_opts *o, const char *order_cfg)
{
	enum sdes_suite	 order[SDES_NSUITES];
	char		 err[128];
	unsigned	 mask = 0;
	int		 i, n;

	if ((n = sdes_suite_list(order_cfg != NULL ? order_cfg : "", order,
	    err, sizeof(err))) == -1)
		return;
	for (i = 0; i < n; i++)
		mask |= 1U << order[i];
	o->suites &= mask;
}

size_t
sdes_neg_suites(const struct sdes_neg_opts *o, const char *order_cfg,
    const char **names)
{
	enum sdes_suite	 order[SDES_NSUITES];
	char		 err[128];
	size_t		 n = 0;
	int		 i, norder;

	/* the configuration was checked at load: an error here is none */
	if ((norder = sdes_suite_list(order_cfg != NULL ? order_cfg : "",
	    order, err, sizeof(err))) == -1)
		norder = sdes_suite_list("", order, err, sizeof(err));
	for (i = 0; i < norder; i++)
		if (o->suites & (1U << order[i]))
			names[n++] = sdes_suite_name(order[i]);
	return n;
}

int
sdes_neg_pick(const struct sdp_session *sdp, size_t idx, const char **val,
    size_t *len, enum sdes_suite *suite, uint32_t *tag, unsigned *params)
{
	const struct sdp_line	*l;
	struct sdes_crypto	 c;
	size_t			 n, i;
	int			 ok;

	if ((l = sdp_media_lines(sdp, idx, &n)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (l[i].attr != SDP_A_SEC || l[i].len <= 7 ||
		    strncasecmp(l[i].val, "crypto:", 7) != 0)
			continue;
		if (sdes_parse(l[i].val + 7, l[i].len - 7, &c, NULL, 0) != 0)
			continue;
		ok = c.nkeys == 1 && c.mki_len == 0 && c.kdr < 0 &&
		    (sdes_params(&c) == 0 ||
		    (c.suite != SDES_AEAD_AES_128_GCM &&
		    c.suite != SDES_AEAD_AES_256_GCM));
		*suite = c.suite;
		*tag = c.tag;
		if (params != NULL)
			*params = sdes_params(&c);
		sdes_crypto_wipe(&c);
		if (!ok)
			continue;
		*val = l[i].val + 7;
		*len = l[i].len - 7;
		return 0;
	}
	return -1;
}
