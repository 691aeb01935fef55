/*
 * sdp_rewrite: the SDP a relay hands on, byte for byte as rtpengine 10.5
 * writes it (../shared/reference/ng-protocol.md section 6; transcripts 02,
 * 11, 12, 16), see sdp_rewrite.h for the line order.
 *
 * Invariants: the input was accepted by sdp_parse(), so every value copied
 * here is free of line breaks and the m=, o= lines have the fields the
 * parser checked; the relay address is checked with inet_pton(3) before
 * use, so nothing the caller passes can break a line either.  The output
 * always ends its lines in CRLF (RFC 8866 5), whatever the input used.
 * RFC 3605 (a=rtcp), RFC 5761 (a=rtcp-mux), RFC 3551 (static payloads).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "ctld/sdp_rewrite.h"

#define RW_MAXTOK	(3 + SDP_MAX_FMTS)	/* tokens of an m= line */

struct rw_tok {
	const char	*s;
	size_t		 len;
};

/* Splits [s, s + len) at spaces into at most max tokens; returns the
 * count. */
static size_t
rw_split(const char *s, size_t len, struct rw_tok *t, size_t max)
{
	const char	*e = s + len;
	size_t		 n = 0;

	while (n < max) {
		while (s < e && *s == ' ')
			s++;
		if (s == e)
			break;
		t[n].s = s;
		while (s < e && *s != ' ')
			s++;
		t[n].len = (size_t)(s - t[n].s);
		n++;
	}
	return n;
}

static void
rw_line(struct buf *out, const struct sdp_line *l)
{
	buf_addc(out, l->type);
	buf_addc(out, '=');
	buf_add(out, l->val, l->len);
	buf_add(out, "\r\n", 2);
}

/* Is the c= line's address 0.0.0.0 or ::, the old way of holding a
 * stream (RFC 3264 8.4)? */
static int
rw_unspec(const struct sdp_line *l)
{
	static const unsigned char	 zero[sizeof(struct in6_addr)];
	unsigned char			 bin[sizeof(struct in6_addr)];
	struct rw_tok			 t[3];
	char				 a[SDP_ADDRLEN];
	size_t				 n;
	int				 v6;

	if (rw_split(l->val, l->len, t, 3) != 3 || t[1].len != 3)
		return 0;
	v6 = t[1].s[2] == '6';
	for (n = 0; n < t[2].len && t[2].s[n] != '/'; n++)
		;
	if (n >= sizeof(a))
		return 0;
	memcpy(a, t[2].s, n);
	a[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, bin) != 1)
		return 0;
	return memcmp(bin, zero, v6 ? 16 : 4) == 0;
}

/* A c= line toward the relay; one holding the stream with the zero
 * address stays as it is, as rtpengine leaves it. */
static void
rw_conn(struct buf *out, const struct sdp_line *l,
    const struct sdp_rewrite *rw)
{
	if (!rw->replace_zero_addr && rw_unspec(l))
		rw_line(out, l);
	else
		buf_printf(out, "c=IN IP%d %s\r\n", rw->family, rw->addr);
}

/* o=<user> <sess-id> <sess-version> IN IP4 <addr>: the address with
 * replace_origin, the version + 1 with sdp_version (when it is a number
 * that can grow). */
static void
rw_origin(struct buf *out, const struct sdp_line *l,
    const struct sdp_rewrite *rw)
{
	struct rw_tok	 t[6];
	uint64_t	 v = 0;
	size_t		 i;
	int		 bump;

	if (!rw->replace_origin && !rw->sdp_version) {
		rw_line(out, l);
		return;
	}
	if (rw_split(l->val, l->len, t, 6) != 6) {	/* parser checked */
		rw_line(out, l);
		return;
	}
	bump = rw->sdp_version && t[2].len <= 19;
	for (i = 0; bump && i < t[2].len; i++) {
		if (t[2].s[i] < '0' || t[2].s[i] > '9')
			bump = 0;
		else
			v = v * 10 + (uint64_t)(t[2].s[i] - '0');
	}
	buf_add(out, "o=", 2);
	buf_add(out, t[0].s, t[0].len);
	buf_addc(out, ' ');
	buf_add(out, t[1].s, t[1].len);
	buf_addc(out, ' ');
	if (bump)
		buf_printf(out, "%llu", (unsigned long long)v + 1);
	else
		buf_add(out, t[2].s, t[2].len);
	if (rw->replace_origin)
		buf_printf(out, " IN IP%d %s\r\n", rw->family, rw->addr);
	else {
		for (i = 3; i < 6; i++) {
			buf_addc(out, ' ');
			buf_add(out, t[i].s, t[i].len);
		}
		buf_add(out, "\r\n", 2);
	}
}

static void
rw_session(const struct sdp_session *sdp, const struct sdp_rewrite *rw,
    struct buf *out)
{
	const struct sdp_line	*l;
	size_t			 n, i;
	int			 conn = rw->replace_session_conn;

	for (i = 0; i < sdp_media_count(sdp); i++)
		if (!sdp_media_has_conn(sdp, i))
			conn = 1;
	l = sdp_session_lines(sdp, &n);
	for (i = 0; i < n; i++, l++) {
		if (l->type == 'o')
			rw_origin(out, l, rw);
		else if (l->type == 'c' && conn)
			rw_conn(out, l, rw);
		else if (l->attr == SDP_A_DIR || l->attr == SDP_A_BUNDLE)
			continue;	/* direction moves into each media */
		else if (l->attr == SDP_A_ICE && (rw->ice_remove ||
		    rw->ice_lines != NULL))
			continue;
		else if (l->attr == SDP_A_SEC && (rw->sec_remove ||
		    rw->sec_lines != NULL))
			continue;
		else
			rw_line(out, l);
	}
}

/* Writes every line of kind a (all of them, or the first with first). */
static void
rw_kind(struct buf *out, const struct sdp_line *l, size_t n,
    enum sdp_attr a, int first)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (l[i].attr == a) {
			rw_line(out, &l[i]);
			if (first)
				return;
		}
}

/* a=rtpmap, a=fmtp, a=rtcp-fb per payload type of the m= line, in its
 * order, each type once; a static type without a=rtpmap gets its name. */
static void
rw_codecs(struct buf *out, const struct sdp_line *l, size_t n,
    const struct rw_tok *fmt, size_t nfmt)
{
	uint32_t	 done[4] = { 0, 0, 0, 0 };
	unsigned	 pt;
	size_t		 f, i, k;
	int		 have;
	const char	*name;

	for (f = 0; f < nfmt; f++) {
		if (fmt[f].len == 0 || fmt[f].len > 3)
			continue;
		for (pt = 0, k = 0; k < fmt[f].len; k++) {
			if (fmt[f].s[k] < '0' || fmt[f].s[k] > '9')
				break;
			pt = pt * 10 + (unsigned)(fmt[f].s[k] - '0');
		}
		if (k < fmt[f].len || pt > 127 ||
		    (done[pt / 32] & (1U << (pt % 32))) != 0)
			continue;
		done[pt / 32] |= 1U << (pt % 32);
		for (have = 0, i = 0; i < n && !have; i++)
			if (l[i].attr == SDP_A_RTPMAP && l[i].pt == (int)pt) {
				rw_line(out, &l[i]);
				have = 1;
			}
		if (!have && (name = sdp_static_codec(pt)) != NULL)
			buf_printf(out, "a=rtpmap:%u %s\r\n", pt, name);
		for (i = 0; i < n; i++)
			if (l[i].attr == SDP_A_FMTP && l[i].pt == (int)pt)
				rw_line(out, &l[i]);
		for (i = 0; i < n; i++)
			if (l[i].attr == SDP_A_RTCP_FB && l[i].pt == (int)pt)
				rw_line(out, &l[i]);
	}
}

static const char *
rw_dir(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDONLY:
		return "a=sendonly\r\n";
	case SDP_RECVONLY:
		return "a=recvonly\r\n";
	case SDP_INACTIVE:
		return "a=inactive\r\n";
	default:
		return "a=sendrecv\r\n";
	}
}

/* Is this line regenerated (written in rtpengine's place, or dropped)
 * rather than passed on where it stands? */
static int
rw_consumed(const struct sdp_line *l, int rtp)
{
	switch (l->attr) {
	case SDP_A_MID:
	case SDP_A_ICE:
	case SDP_A_SEC:
	case SDP_A_BUNDLE:
		return 1;
	case SDP_A_RTPMAP:
	case SDP_A_FMTP:
	case SDP_A_RTCP_FB:
	case SDP_A_RTCP:
	case SDP_A_RTCP_MUX:
	case SDP_A_DIR:
	case SDP_A_PTIME:
		return rtp;
	default:
		return 0;
	}
}

static int
rw_media(const struct sdp_session *sdp, size_t idx,
    const struct sdp_rewrite *rw, struct buf *out, struct rw_tok *fmt)
{
	const struct sdp_rewrite_media	*rm = &rw->media[idx];
	const struct sdp_line		*l;
	struct sdp_media_info		 mi;
	const char			*proto;
	size_t				 n, i, nfmt;
	int				 rtp, conn = 0;

	if ((l = sdp_media_lines(sdp, idx, &n)) == NULL || n == 0 ||
	    sdp_media_info(sdp, idx, &mi) == -1)
		return -1;
	rtp = strstr(mi.proto, "RTP/") != NULL;
	nfmt = rw_split(l[0].val, l[0].len, fmt, RW_MAXTOK);
	if (nfmt < 4)
		return -1;
	proto = mi.proto;
	if (rtp && rw->protos != NULL && rw->protos[idx] != NULL)
		proto = rw->protos[idx];
	else if (rtp && rw->proto != NULL)
		proto = rw->proto;
	buf_printf(out, "m=%s %u %s", mi.type, rm->rtp_port, proto);
	for (i = 3; i < nfmt; i++) {
		buf_addc(out, ' ');
		buf_add(out, fmt[i].s, fmt[i].len);
	}
	buf_add(out, "\r\n", 2);

	for (i = 1; i < n; i++) {
		if (l[i].type == 'c') {
			if (!conn)
				rw_conn(out, &l[i], rw);
			conn = 1;
		} else if (!rw_consumed(&l[i], rtp))
			rw_line(out, &l[i]);
	}
	if (!rw->mid_strip)
		rw_kind(out, l, n, SDP_A_MID, 1);
	if (rm->rtp_port == 0)
		return 0;
	if (rtp) {
		rw_codecs(out, l, n, fmt + 3, nfmt - 3);
		buf_addstr(out, rw_dir(mi.dir));
		if (!rw->no_rtcp_attr && rm->rtcp_port != 0) {
			if (rw->full_rtcp_attr)
				buf_printf(out, "a=rtcp:%u IN IP%d %s\r\n",
				    rm->rtcp_port, rw->family, rw->addr);
			else
				buf_printf(out, "a=rtcp:%u\r\n",
				    rm->rtcp_port);
		}
		if ((mi.rtcp_mux && !rw->rtcp_mux_strip) || rw->rtcp_mux_add)
			buf_addstr(out, "a=rtcp-mux\r\n");
	}
	if (rw->sec_lines != NULL) {
		if (rw->sec_lines[idx] != NULL)
			buf_addstr(out, rw->sec_lines[idx]);
	} else if (!rw->sec_remove)
		rw_kind(out, l, n, SDP_A_SEC, 0);
	if (rtp)
		rw_kind(out, l, n, SDP_A_PTIME, 1);
	if (rw->ice_lines != NULL) {
		if (rw->ice_lines[idx] != NULL)
			buf_addstr(out, rw->ice_lines[idx]);
	} else if (!rw->ice_remove)
		rw_kind(out, l, n, SDP_A_ICE, 0);
	return 0;
}

/* A protocol goes on the m= line verbatim: 1..31 printable characters. */
static int
rw_proto_bad(const char *proto)
{
	size_t	 i;

	for (i = 0; proto[i] != '\0'; i++)
		if (i == 31 || proto[i] <= ' ' || proto[i] >= 0x7f)
			return 1;
	return i == 0;
}

/* The relay address must be a literal of the stated family: it goes into
 * c=, o= and a=rtcp lines verbatim. */
static int
rw_check(const struct sdp_session *sdp, const struct sdp_rewrite *rw)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 i;

	if (rw->addr == NULL || (rw->family != 4 && rw->family != 6) ||
	    strnlen(rw->addr, SDP_ADDRLEN) >= SDP_ADDRLEN ||
	    inet_pton(rw->family == 4 ? AF_INET : AF_INET6, rw->addr,
	    bin) != 1)
		return -1;
	if (rw->proto != NULL && rw_proto_bad(rw->proto))
		return -1;
	for (i = 0; rw->protos != NULL && i < rw->nmedia; i++)
		if (rw->protos[i] != NULL && rw_proto_bad(rw->protos[i]))
			return -1;
	if (rw->nmedia != sdp_media_count(sdp) ||
	    (rw->nmedia > 0 && rw->media == NULL))
		return -1;
	for (i = 0; i < rw->nmedia; i++)
		if (rw->media[i].rtp_port > 65535 ||
		    rw->media[i].rtcp_port > 65535)
			return -1;
	return 0;
}

int
sdp_rewrite(const struct sdp_session *sdp, const struct sdp_rewrite *rw,
    struct buf *out, const char **err)
{
	struct rw_tok	 fmt[RW_MAXTOK];
	size_t		 i;

	if (rw_check(sdp, rw) == -1) {
		*err = "Failed to rewrite SDP";
		return -1;
	}
	rw_session(sdp, rw, out);
	for (i = 0; i < rw->nmedia; i++)
		if (rw_media(sdp, i, rw, out, fmt) == -1) {
			*err = "Failed to rewrite SDP";
			return -1;
		}
	if (out->oom) {
		*err = "Out of memory";
		return -1;
	}
	return 0;
}
