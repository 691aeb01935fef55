/*
 * sdp: a strict SDP parser (RFC 8866), see sdp.h.
 *
 * The input is untrusted bytes with an explicit length: nothing here reads
 * past buf + len or expects a NUL.  Lines end in LF or CRLF (the last one
 * may lack it); blank lines are tolerated only at the end.  Every other
 * line must be <letter>=<value> without control characters (a lone CR in a
 * value would split a line downstream), so a rewrite that copies a value
 * verbatim cannot inject a line.
 *
 * Invariants after a successful parse: v=0 is the first line, o= has six
 * fields (nettype IN, addrtype IP4/IP6), there is one s=, at least one m=,
 * every m= has a port <= 65535 and a format, every media has a connection
 * address (RFC 8866 5.7, its own c= or the session's) that inet_pton(3)
 * accepts, every a=rtcp (RFC 3605) has a valid port and address, every
 * a=rtpmap has a payload type 0..127.  Static payload types take their
 * names from RFC 3551 tables 4 and 5.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "libcommon/sdp.h"

#define SDP_EPARSE	"Failed to parse SDP"
#define SDP_EINCOMPLETE	"Incomplete SDP specification"

struct sdp_media {
	size_t			 first;		/* index of the m= line */
	size_t			 n;		/* lines, m= included */
	int			 has_conn;
	int			 has_rtcp;
	enum sdp_dir		 dir;
	struct sdp_media_info	 info;
};

struct sdp_session {
	struct sdp_line		*lines;
	size_t			 nlines;
	size_t			 nsess;		/* lines before the first m= */
	char			 addr[SDP_ADDRLEN];	/* session c= */
	int			 family;	/* 0: no session c= */
	enum sdp_dir		 dir;
	int			 ice;
	struct sdp_media	 media[SDP_MAX_MEDIA];
	size_t			 nmedia;
};

static const char *const static_pt[35] = {
	[0] = "PCMU/8000", [3] = "GSM/8000", [4] = "G723/8000",
	[5] = "DVI4/8000", [6] = "DVI4/16000", [7] = "LPC/8000",
	[8] = "PCMA/8000", [9] = "G722/8000", [10] = "L16/44100/2",
	[11] = "L16/44100", [12] = "QCELP/8000", [13] = "CN/8000",
	[14] = "MPA/90000", [15] = "G728/8000", [16] = "DVI4/11025",
	[17] = "DVI4/22050", [18] = "G729/8000", [25] = "CelB/90000",
	[26] = "JPEG/90000", [28] = "nv/90000", [31] = "H261/90000",
	[32] = "MPV/90000", [33] = "MP2T/90000", [34] = "H263/90000",
};

const char *
sdp_static_codec(unsigned pt)
{
	if (pt >= sizeof(static_pt) / sizeof(static_pt[0]))
		return NULL;
	return static_pt[pt];
}

/* Next space-separated token of [*p, end); 0 if there is none. */
static int
sdp_tok(const char **p, const char *end, const char **t, size_t *tl)
{
	const char	*s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return 0;
	*t = s;
	while (s < end && *s != ' ')
		s++;
	*tl = (size_t)(s - *t);
	*p = s;
	return 1;
}

static int
sdp_streq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* A decimal number of 1..10 digits not above max; 0 or -1. */
static int
sdp_uint(const char *s, size_t len, unsigned long max, unsigned *out)
{
	unsigned long long	 v = 0;
	size_t			 i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* "IN" "IP4"|"IP6" and an address, optionally followed by /ttl or /n when
 * slash is set.  Fills out (NUL-terminated) and *family; 0 or -1. */
static int
sdp_addr(const char *nt, size_t ntl, const char *at, size_t atl,
    const char *a, size_t al, int slash, char out[SDP_ADDRLEN], int *family)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 i, n = al;
	unsigned	 dummy;

	if (!sdp_streq(nt, ntl, "IN"))
		return -1;
	if (sdp_streq(at, atl, "IP4"))
		*family = 4;
	else if (sdp_streq(at, atl, "IP6"))
		*family = 6;
	else
		return -1;
	for (i = 0; i < al; i++)
		if (a[i] == '/') {
			n = i;
			break;
		}
	if (n < al) {
		const char	*s = a + n + 1, *e = a + al, *q;

		if (!slash)
			return -1;
		for (;;) {	/* numbers after the address: /ttl[/n] */
			for (q = s; q < e && *q != '/'; q++)
				;
			if (sdp_uint(s, (size_t)(q - s), 0xffffffffUL,
			    &dummy) == -1)
				return -1;
			if (q == e)
				break;
			s = q + 1;
		}
	}
	if (n == 0 || n >= SDP_ADDRLEN)
		return -1;
	memcpy(out, a, n);
	out[n] = '\0';
	if (inet_pton(*family == 4 ? AF_INET : AF_INET6, out, bin) != 1)
		return -1;
	return 0;
}

/* c=IN IP4 <addr>[/ttl[/n]] */
static int
sdp_parse_conn(const char *v, size_t len, char out[SDP_ADDRLEN], int *family)
{
	const char	*p = v, *e = v + len, *nt, *at, *a, *x;
	size_t		 ntl, atl, al, xl;

	if (!sdp_tok(&p, e, &nt, &ntl) || !sdp_tok(&p, e, &at, &atl) ||
	    !sdp_tok(&p, e, &a, &al) || sdp_tok(&p, e, &x, &xl))
		return -1;
	return sdp_addr(nt, ntl, at, atl, a, al, 1, out, family);
}

/* o=<user> <sess-id> <sess-version> IN IP4|IP6 <address> */
static int
sdp_parse_origin(const char *v, size_t len)
{
	const char	*p = v, *e = v + len, *t[7];
	size_t		 tl[7];
	int		 n = 0;

	while (n < 7 && sdp_tok(&p, e, &t[n], &tl[n]))
		n++;
	if (n != 6 || !sdp_streq(t[3], tl[3], "IN") ||
	    (!sdp_streq(t[4], tl[4], "IP4") && !sdp_streq(t[4], tl[4], "IP6")))
		return -1;
	return 0;
}

/* m=<media> <port>[/<n>] <proto> <fmt> ... */
static int
sdp_parse_m(const char *v, size_t len, struct sdp_media_info *mi)
{
	const char	*p = v, *e = v + len, *ty, *po, *pr, *f, *sl;
	size_t		 tyl, pol, prl, fl;
	unsigned	 n;

	if (!sdp_tok(&p, e, &ty, &tyl) || !sdp_tok(&p, e, &po, &pol) ||
	    !sdp_tok(&p, e, &pr, &prl) || !sdp_tok(&p, e, &f, &fl))
		return -1;
	if (tyl >= sizeof(mi->type) || prl >= sizeof(mi->proto))
		return -1;
	memcpy(mi->type, ty, tyl);
	mi->type[tyl] = '\0';
	memcpy(mi->proto, pr, prl);
	mi->proto[prl] = '\0';
	if ((sl = memchr(po, '/', pol)) != NULL) {
		if (sdp_uint(sl + 1, (size_t)(po + pol - sl - 1), 65535,
		    &n) == -1 || n == 0)
			return -1;
		pol = (size_t)(sl - po);
	}
	if (sdp_uint(po, pol, 65535, &mi->rtp_port) == -1)
		return -1;
	for (n = 1; sdp_tok(&p, e, &f, &fl); n++)
		if (n == SDP_MAX_FMTS)
			return -1;
	return 0;
}

/* a=rtcp:<port> [IN IP4|IP6 <addr>] */
static int
sdp_parse_rtcp(const char *v, size_t len, unsigned *port)
{
	const char	*p = v, *e = v + len, *t, *nt, *at, *a, *x;
	size_t		 tl, ntl, atl, al, xl;
	char		 addr[SDP_ADDRLEN];
	int		 fam;

	if (!sdp_tok(&p, e, &t, &tl) || sdp_uint(t, tl, 65535, port) == -1)
		return -1;
	if (!sdp_tok(&p, e, &nt, &ntl))
		return 0;
	if (!sdp_tok(&p, e, &at, &atl) || !sdp_tok(&p, e, &a, &al) ||
	    sdp_tok(&p, e, &x, &xl))
		return -1;
	return sdp_addr(nt, ntl, at, atl, a, al, 0, addr, &fam);
}

/* The payload type that starts an rtpmap/fmtp/rtcp-fb value, and the
 * rest after it; -1 if it does not start with one (0..127) and a space. */
static int
sdp_pt(const char *v, size_t len, size_t *rest)
{
	size_t		 i = 0;
	unsigned	 pt;

	while (i < len && v[i] != ' ')
		i++;
	if (i == len || sdp_uint(v, i, 127, &pt) == -1)
		return -1;
	while (i < len && v[i] == ' ')
		i++;
	*rest = i;
	return (int)pt;
}

static enum sdp_dir
sdp_dir_of(const char *n, size_t nl)
{
	if (sdp_streq(n, nl, "sendrecv"))
		return SDP_SENDRECV;
	if (sdp_streq(n, nl, "sendonly"))
		return SDP_SENDONLY;
	if (sdp_streq(n, nl, "recvonly"))
		return SDP_RECVONLY;
	if (sdp_streq(n, nl, "inactive"))
		return SDP_INACTIVE;
	return SDP_DIR_NONE;
}

/* Classifies an a= line and applies it to the media m (NULL: session
 * level).  Returns 0, or -1 for a malformed attribute we interpret. */
static int
sdp_attr(struct sdp_session *s, struct sdp_media *m, struct sdp_line *l)
{
	static const char *const ice[] = { "ice-ufrag", "ice-pwd",
	    "ice-options", "ice-lite", "ice-mismatch", "candidate",
	    "end-of-candidates", "remote-candidates" };
	static const char *const sec[] = { "crypto", "setup", "fingerprint",
	    "tls-id" };
	const char	*n = l->val, *v = NULL, *c;
	size_t		 nl = l->len, vl = 0, i, rest;
	enum sdp_dir	 d;
	unsigned	 port;

	if ((c = memchr(l->val, ':', l->len)) != NULL) {
		nl = (size_t)(c - n);
		v = c + 1;
		vl = l->len - nl - 1;
	}
	l->attr = SDP_A_OTHER;
	if (nl == 0)
		return -1;
	if (c == NULL && (d = sdp_dir_of(n, nl)) != SDP_DIR_NONE) {
		l->attr = SDP_A_DIR;
		if (m != NULL)
			m->dir = d;
		else
			s->dir = d;
		return 0;
	}
	for (i = 0; i < sizeof(ice) / sizeof(ice[0]); i++)
		if (sdp_streq(n, nl, ice[i])) {
			l->attr = SDP_A_ICE;
			if (m != NULL)
				m->info.ice = 1;
			else
				s->ice = 1;
			return 0;
		}
	for (i = 0; i < sizeof(sec) / sizeof(sec[0]); i++)
		if (sdp_streq(n, nl, sec[i])) {
			l->attr = SDP_A_SEC;
			return 0;
		}
	if (sdp_streq(n, nl, "group")) {
		if (vl >= 6 && memcmp(v, "BUNDLE", 6) == 0 &&
		    (vl == 6 || v[6] == ' '))
			l->attr = SDP_A_BUNDLE;
		return 0;
	}
	if (m == NULL)
		return 0;	/* the rest only mean something per media */
	if (sdp_streq(n, nl, "rtcp-mux") && c == NULL) {
		l->attr = SDP_A_RTCP_MUX;
		m->info.rtcp_mux = 1;
	} else if (sdp_streq(n, nl, "rtcp")) {
		if (c == NULL || sdp_parse_rtcp(v, vl, &port) == -1)
			return -1;
		l->attr = SDP_A_RTCP;
		if (!m->has_rtcp) {
			m->has_rtcp = 1;
			m->info.rtcp_port = port;
		}
	} else if (sdp_streq(n, nl, "rtpmap")) {
		if (c == NULL || (l->pt = sdp_pt(v, vl, &rest)) == -1 ||
		    rest == vl || memchr(v + rest, '/', vl - rest) == NULL)
			return -1;
		l->attr = SDP_A_RTPMAP;
	} else if (sdp_streq(n, nl, "fmtp") && c != NULL &&
	    (l->pt = sdp_pt(v, vl, &rest)) != -1) {
		l->attr = SDP_A_FMTP;
	} else if (sdp_streq(n, nl, "rtcp-fb") && c != NULL &&
	    (l->pt = sdp_pt(v, vl, &rest)) != -1) {
		l->attr = SDP_A_RTCP_FB;
	} else if (sdp_streq(n, nl, "ptime") && c != NULL) {
		l->attr = SDP_A_PTIME;
	} else if (sdp_streq(n, nl, "mid") && c != NULL) {
		l->attr = SDP_A_MID;
	} else
		l->pt = -1;
	return 0;
}

/* The encoding name of the media's first format: its a=rtpmap, else the
 * RFC 3551 name of a static payload type, else "". */
static void
sdp_codec(const struct sdp_session *s, struct sdp_media *m)
{
	const struct sdp_line	*ml = &s->lines[m->first];
	const char		*p = ml->val, *e = ml->val + ml->len, *t;
	const char		*name = NULL;
	size_t			 tl, i, rest, nl = 0;
	unsigned		 pt;
	int			 k;

	for (k = 0; k < 4; k++)		/* media, port, proto, 1st fmt */
		if (!sdp_tok(&p, e, &t, &tl))
			return;
	if (sdp_uint(t, tl, 127, &pt) == -1)
		return;
	for (i = m->first + 1; i < m->first + m->n; i++) {
		const struct sdp_line	*l = &s->lines[i];

		if (l->attr == SDP_A_RTPMAP && l->pt == (int)pt) {
			sdp_pt(l->val + 7, l->len - 7, &rest);
			name = l->val + 7 + rest;
			nl = l->len - 7 - rest;
			break;
		}
	}
	if (name == NULL && (name = sdp_static_codec(pt)) != NULL)
		nl = strlen(name);
	if (name == NULL)
		return;
	if (nl >= sizeof(m->info.codec))
		nl = sizeof(m->info.codec) - 1;
	memcpy(m->info.codec, name, nl);
	m->info.codec[nl] = '\0';
}

/* Completes every media's info from the session defaults; -1 if a media
 * has no connection address. */
static int
sdp_finish(struct sdp_session *s)
{
	size_t	 i;

	for (i = 0; i < s->nmedia; i++) {
		struct sdp_media	*m = &s->media[i];

		if (!m->has_conn) {
			if (s->family == 0)
				return -1;
			memcpy(m->info.addr, s->addr, sizeof(s->addr));
			m->info.family = s->family;
		}
		if (m->info.rtp_port == 0)
			m->info.rtcp_port = 0;
		else if (!m->has_rtcp)
			m->info.rtcp_port = m->info.rtp_port < 65535 ?
			    m->info.rtp_port + 1 : 0;
		m->info.dir = m->dir != SDP_DIR_NONE ? m->dir :
		    s->dir != SDP_DIR_NONE ? s->dir : SDP_SENDRECV;
		if (s->ice)
			m->info.ice = 1;
		sdp_codec(s, m);
	}
	return 0;
}

/* One line, already split off and checked for <letter>=. */
static int
sdp_line(struct sdp_session *s, struct sdp_line *l, int *seen_s,
    int *seen_o)
{
	struct sdp_media	*m = s->nmedia > 0 ? &s->media[s->nmedia - 1] :
				    NULL;
	char			 addr[SDP_ADDRLEN];
	int			 fam;

	switch (l->type) {
	case 'v':
		return -1;	/* only as the first line */
	case 'o':
		if (m != NULL || *seen_o || sdp_parse_origin(l->val,
		    l->len) == -1)
			return -1;
		*seen_o = 1;
		return 0;
	case 's':
		if (m != NULL || *seen_s)
			return -1;
		*seen_s = 1;
		return 0;
	case 'c':
		if (sdp_parse_conn(l->val, l->len, addr, &fam) == -1)
			return -1;
		if (m == NULL) {
			if (s->family != 0)
				return -1;
			memcpy(s->addr, addr, sizeof(addr));
			s->family = fam;
		} else if (!m->has_conn) {
			m->has_conn = 1;
			memcpy(m->info.addr, addr, sizeof(addr));
			m->info.family = fam;
		}
		return 0;
	case 'm':
		if (!*seen_o || !*seen_s || s->nmedia == SDP_MAX_MEDIA)
			return -1;
		if (s->nmedia == 0)
			s->nsess = s->nlines - 1;
		m = &s->media[s->nmedia++];
		m->first = s->nlines - 1;
		return sdp_parse_m(l->val, l->len, &m->info);
	case 'a':
		return sdp_attr(s, m, l);
	default:
		return 0;	/* b=, t=, k=, i=, ...: passed on as they are */
	}
}

struct sdp_session *
sdp_parse(struct ngarena *arena, const char *buf, size_t len,
    const char **err)
{
	struct sdp_session	*s;
	const char		*p, *end, *nl, *le, *q;
	size_t			 cap = 1, i;
	int			 blank = 0, seen_s = 0, seen_o = 0;

	*err = SDP_EPARSE;
	if (buf == NULL || len == 0 || memchr(buf, '\0', len) != NULL)
		return NULL;
	for (p = buf, end = buf + len; cap <= SDP_MAX_LINES &&
	    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1)
		cap++;
	if (cap > SDP_MAX_LINES)
		cap = SDP_MAX_LINES;
	if ((s = ngarena_alloc(arena, sizeof(*s))) == NULL ||
	    (s->lines = ngarena_alloc(arena, cap * sizeof(*s->lines))) == NULL) {
		*err = "Out of memory";
		return NULL;
	}
	for (p = buf; p < end; p = nl == NULL ? end : nl + 1) {
		struct sdp_line	*l;

		nl = memchr(p, '\n', (size_t)(end - p));
		le = nl != NULL ? nl : end;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {
			blank = 1;
			continue;
		}
		if (blank || le - p < 2 || p[0] < 'a' || p[0] > 'z' ||
		    p[1] != '=' || s->nlines == cap)
			return NULL;
		for (q = p + 2; q < le; q++)
			if ((unsigned char)*q < 0x20 && *q != '\t')
				return NULL;
		l = &s->lines[s->nlines++];
		l->type = p[0];
		l->attr = SDP_A_NONE;
		l->pt = -1;
		l->val = p + 2;
		l->len = (size_t)(le - p - 2);
		if (s->nlines == 1) {
			if (l->type != 'v' || !sdp_streq(l->val, l->len, "0"))
				return NULL;
			continue;
		}
		if (sdp_line(s, l, &seen_s, &seen_o) == -1)
			return NULL;
	}
	if (s->nlines == 0 || !seen_o || !seen_s)
		return NULL;
	if (s->nmedia == 0) {
		*err = SDP_EINCOMPLETE;
		return NULL;
	}
	for (i = 0; i < s->nmedia; i++)
		s->media[i].n = (i + 1 < s->nmedia ? s->media[i + 1].first :
		    s->nlines) - s->media[i].first;
	if (sdp_finish(s) == -1) {
		*err = SDP_EINCOMPLETE;
		return NULL;
	}
	*err = NULL;
	return s;
}

size_t
sdp_media_count(const struct sdp_session *s)
{
	return s->nmedia;
}

int
sdp_media_info(const struct sdp_session *s, size_t idx,
    struct sdp_media_info *mi)
{
	if (idx >= s->nmedia)
		return -1;
	*mi = s->media[idx].info;
	return 0;
}

const struct sdp_line *
sdp_session_lines(const struct sdp_session *s, size_t *n)
{
	*n = s->nsess;
	return s->lines;
}

const struct sdp_line *
sdp_media_lines(const struct sdp_session *s, size_t idx, size_t *n)
{
	if (idx >= s->nmedia) {
		*n = 0;
		return NULL;
	}
	*n = s->media[idx].n;
	return &s->lines[s->media[idx].first];
}

int
sdp_media_has_conn(const struct sdp_session *s, size_t idx)
{
	return idx < s->nmedia && s->media[idx].has_conn;
}
