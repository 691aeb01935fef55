/*
 * Unit tests for libcommon/sdp (parser) and ctld/sdp_rewrite: the SDPs of
 * the rtpengine 10.5 transcripts (../shared/reference/ng-transcripts 02,
 * 04, 10, 11, 12, 16) go in, rtpengine's exact output bytes must come out
 * with the transcript's relay ports; then multiple media, IPv6, rejected
 * media, and the parser's rejections of malformed or oversized input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/buf.h"
#include "libcommon/ngval.h"
#include "libcommon/sdp.h"
#include "ctld/sdp_rewrite.h"

/* 02: alice's offer and bob's answer, and what rtpengine made of them
 * (replace: origin, session-connection). */
#define T02(user, id, addr, port, fmts, maps, tail)			\
	"v=0\r\n"							\
	"o=" user " " id " " id " IN IP4 " addr "\r\n"			\
	"s=Talk\r\n"							\
	"c=IN IP4 " addr "\r\n"						\
	"t=0 0\r\n"							\
	"m=audio " port " RTP/AVP " fmts "\r\n"				\
	"a=rtpmap:0 PCMU/8000\r\n"					\
	maps								\
	"a=rtpmap:101 telephone-event/8000\r\n"				\
	"a=fmtp:101 0-16\r\n"						\
	tail
#define PCMA	"a=rtpmap:8 PCMA/8000\r\n"
#define IN_TAIL	"a=ptime:20\r\na=sendrecv\r\n"
#define OUT_TAIL(rtcp) "a=sendrecv\r\na=rtcp:" rtcp "\r\na=ptime:20\r\n"
static const char t02_offer[] = T02("alice", "2890844526", "127.0.0.2",
    "47516", "0 8 101", PCMA, IN_TAIL);
static const char t02_offer_out[] = T02("alice", "2890844526", "127.0.0.1",
    "41000", "0 8 101", PCMA, OUT_TAIL("41001"));
static const char t02_answer[] = T02("bob", "2808844564", "127.0.0.3",
    "57102", "0 101", "", IN_TAIL);
static const char t02_answer_out[] = T02("bob", "2808844564", "127.0.0.1",
    "41008", "0 101", "", OUT_TAIL("41009"));

/* 11 (and 12's Kamailio offer, which differs only in o=/port): the offer
 * every variant starts from, and the common head of the outputs. */
#define T11_HEAD(addr, port, proto)					\
	"v=0\r\n"							\
	"o=alice 10 10 IN IP4 127.0.0.2\r\n"				\
	"s=-\r\n"							\
	"c=IN IP4 " addr "\r\n"						\
	"t=0 0\r\n"							\
	"m=audio " port " " proto " 0 8 101\r\n"			\
	"a=rtpmap:0 PCMU/8000\r\n"					\
	"a=rtpmap:8 PCMA/8000\r\n"					\
	"a=rtpmap:101 telephone-event/8000\r\n"				\
	"a=fmtp:101 0-16\r\n"						\
	"a=sendrecv\r\n"
static const char t11_offer[] = T11_HEAD("127.0.0.2", "53586", "RTP/AVP");

static const char t11_media_c[] =
	"v=0\r\n"
	"o=alice 10 10 IN IP4 127.0.0.2\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"m=audio 53586 RTP/AVP 0\r\n"
	"c=IN IP4 127.0.0.2\r\n"
	"a=rtcp:53587 IN IP4 127.0.0.2\r\n"
	"a=sendrecv\r\n";
static const char t11_media_c_out[] =
	"v=0\r\n"
	"o=alice 10 10 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"m=audio 41232 RTP/AVP 0\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=sendrecv\r\n"
	"a=rtcp:41233\r\n";

static const char t16_offer[] =
	"v=0\r\n"
	"o=u 1 1 IN IP4 127.0.0.2\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.2\r\n"
	"t=0 0\r\n"
	"m=audio 30100 RTP/AVP 0\r\n"
	"a=sendrecv\r\n";
static const char t16_offer_out[] =
	"v=0\r\n"
	"o=u 1 1 IN IP4 127.0.0.2\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 41716 RTP/AVP 0\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=sendrecv\r\n"
	"a=rtcp:41717\r\n";

/* 12: Kamailio 5.6 with no flags, offer (UAC) and answer (UAS). */
#define T12(o, c, port)							\
	"v=0\r\n"							\
	"o=u 1 1 IN IP4 " o "\r\n"					\
	"s=-\r\n"							\
	"c=IN IP4 " c "\r\n"						\
	"t=0 0\r\n"							\
	"m=audio " port " RTP/AVP 0 8 101\r\n"				\
	"a=rtpmap:0 PCMU/8000\r\n"					\
	"a=rtpmap:8 PCMA/8000\r\n"					\
	"a=rtpmap:101 telephone-event/8000\r\n"				\
	"a=fmtp:101 0-16\r\n"						\
	"a=sendrecv\r\n"

/* 10: a WebRTC offer toward plain RTP/AVP (ICE=remove, rtcp-mux demux,
 * transport-protocol RTP/AVP, replace origin and session-connection). */
static const char t10_offer[] =
	"v=0\r\n"
	"o=- 7614219274584779017 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=msid-semantic: WMS stream0\r\n"
	"m=audio 35220 UDP/TLS/RTP/SAVPF 111 0 8 126\r\n"
	"c=IN IP4 127.0.0.2\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=candidate:842163049 1 udp 2122260223 127.0.0.2 35220 typ host generation 0\r\n"
	"a=ice-ufrag:Zm9v\r\n"
	"a=ice-pwd:YmFyYmF6cXV4cXV1eHF1dXo\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 D0:B6:56:2A:9B:35:01:05:9F:6A:4D:B4:B5:F2:93:40:3C:52:08:AE:20:C4:D7:D9:6C:9A:7E:95:A5:21:B8:2B\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=sendrecv\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=ssrc:3735928559 cname:abcdef\r\n";
static const char t10_offer_out[] =
	"v=0\r\n"
	"o=- 7614219274584779017 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=msid-semantic: WMS stream0\r\n"
	"m=audio 41102 RTP/AVP 111 0 8 126\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"a=ssrc:3735928559 cname:abcdef\r\n"
	"a=mid:0\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=sendrecv\r\n"
	"a=rtcp:41103\r\n";

/* 04: a WebRTC answer, handed back to a plain RTP/AVP caller that had
 * offered no a=mid and no a=rtcp-mux. */
static const char t04_answer[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.3\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=audio 43908 UDP/TLS/RTP/SAVPF 0 101\r\n"
	"c=IN IP4 127.0.0.3\r\n"
	"a=rtcp:43908 IN IP4 127.0.0.3\r\n"
	"a=candidate:1 1 udp 2130706431 127.0.0.3 43908 typ host\r\n"
	"a=ice-ufrag:Bw3k\r\n"
	"a=ice-pwd:q8x2YJ0yJ2ZlN1nYkR7dVf3a\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 22:17:02:93:0B:45:B4:22:CC:DA:4A:74:C5:FF:E0:99:B0:5E:C6:DE:05:13:CD:1A:3F:06:23:7F:14:D3:6D:B6\r\n"
	"a=setup:active\r\n"
	"a=mid:0\r\n"
	"a=sendrecv\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n";
static const char t04_answer_out[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=audio 41064 RTP/AVP 0 101\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"a=sendrecv\r\n"
	"a=rtcp:41065\r\n";

static struct ngarena	*arena;

static int
setup(void **state)
{
	(void)state;
	arena = ngarena_new();
	return arena == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	ngarena_destroy(&arena);
	return 0;
}

static const struct sdp_session *
parse_ok(const char *s)
{
	const struct sdp_session	*sdp;
	const char			*err = "unset";

	sdp = sdp_parse(arena, s, strlen(s), &err);
	if (sdp == NULL)
		fail_msg("parse failed: %s", err);
	assert_null(err);
	return sdp;
}

static void
parse_fails(const char *s, size_t len, const char *why)
{
	const char	*err = NULL;

	if (sdp_parse(arena, s, len, &err) != NULL)
		fail_msg("accepted: %.*s", (int)len, s);
	assert_non_null(err);
	assert_string_equal(err, why);
}

/* Rewrites in with one (rtp, rtp + 1) pair per media from ports and
 * compares with want byte for byte. */
static void
rewrite_eq(const char *in, struct sdp_rewrite *rw, const unsigned *ports,
    const char *want)
{
	const struct sdp_session	*sdp = parse_ok(in);
	struct sdp_rewrite_media	 rm[SDP_MAX_MEDIA];
	struct buf			 out;
	const char			*err = NULL;
	size_t				 i, n = sdp_media_count(sdp);

	for (i = 0; i < n; i++) {
		rm[i].rtp_port = ports[i];
		rm[i].rtcp_port = ports[i] == 0 ? 0 : ports[i] + 1;
	}
	if (rw->addr == NULL)
		rw->addr = "127.0.0.1";
	if (rw->family == 0)
		rw->family = 4;
	rw->media = rm;
	rw->nmedia = n;
	buf_init(&out);
	assert_int_equal(sdp_rewrite(sdp, rw, &out, &err), 0);
	assert_non_null(out.p);
	if (out.len != strlen(want) || memcmp(out.p, want, out.len) != 0)
		fail_msg("got:\n%s\nwant:\n%s", out.p, want);
	/* what we write must parse again, with the same media */
	assert_non_null(sdp = sdp_parse(arena, out.p, out.len, &err));
	assert_int_equal(sdp_media_count(sdp), n);
	buf_free(&out);
}

static void
test_parse_t02(void **state)
{
	const struct sdp_session	*sdp;
	struct sdp_media_info		 mi;

	(void)state;
	assert_int_equal(strlen(t02_offer), 239);	/* as on the wire */
	assert_int_equal(strlen(t02_offer_out), 253);
	assert_int_equal(strlen(t02_answer), 213);
	sdp = parse_ok(t02_offer);
	assert_int_equal(sdp_media_count(sdp), 1);
	assert_int_equal(sdp_media_info(sdp, 0, &mi), 0);
	assert_int_equal(sdp_media_info(sdp, 1, &mi), -1);
	assert_string_equal(mi.type, "audio");
	assert_string_equal(mi.proto, "RTP/AVP");
	assert_string_equal(mi.codec, "PCMU/8000");
	assert_string_equal(mi.addr, "127.0.0.2");
	assert_int_equal(mi.family, 4);
	assert_int_equal(mi.rtp_port, 47516);
	assert_int_equal(mi.rtcp_port, 47517);
	assert_int_equal(mi.rtcp_mux, 0);
	assert_int_equal(mi.dir, SDP_SENDRECV);
	assert_int_equal(mi.ice, 0);

	sdp = parse_ok(t02_answer);
	assert_int_equal(sdp_media_info(sdp, 0, &mi), 0);
	assert_string_equal(mi.addr, "127.0.0.3");
	assert_int_equal(mi.rtp_port, 57102);
}

static void
test_rewrite_t02(void **state)
{
	struct sdp_rewrite	 rw;
	unsigned		 p1[] = { 41000 }, p2[] = { 41008 };

	(void)state;
	memset(&rw, 0, sizeof(rw));
	rw.replace_origin = rw.replace_session_conn = 1;
	rewrite_eq(t02_offer, &rw, p1, t02_offer_out);
	memset(&rw, 0, sizeof(rw));
	rw.replace_origin = rw.replace_session_conn = 1;
	rewrite_eq(t02_answer, &rw, p2, t02_answer_out);
}

static void
test_rewrite_t11(void **state)
{
	struct sdp_rewrite	 rw;
	unsigned		 p;

	(void)state;
	memset(&rw, 0, sizeof(rw));	/* no replace: o= kept */
	p = 41138;
	rewrite_eq(t11_offer, &rw, &p, T11_HEAD("127.0.0.1", "41138",
	    "RTP/AVP") "a=rtcp:41139\r\n");

	memset(&rw, 0, sizeof(rw));
	rw.full_rtcp_attr = 1;
	p = 41164;
	rewrite_eq(t11_offer, &rw, &p, T11_HEAD("127.0.0.1", "41164",
	    "RTP/AVP") "a=rtcp:41165 IN IP4 127.0.0.1\r\n");

	memset(&rw, 0, sizeof(rw));
	rw.no_rtcp_attr = 1;
	p = 41198;
	rewrite_eq(t11_offer, &rw, &p, T11_HEAD("127.0.0.1", "41198",
	    "RTP/AVP"));

	memset(&rw, 0, sizeof(rw));
	rw.replace_origin = 1;
	p = 41232;
	rewrite_eq(t11_media_c, &rw, &p, t11_media_c_out);

	memset(&rw, 0, sizeof(rw));	/* media-address: 127.0.0.9 */
	rw.addr = "127.0.0.9";
	p = 41260;
	rewrite_eq(t11_offer, &rw, &p, T11_HEAD("127.0.0.9", "41260",
	    "RTP/AVP") "a=rtcp:41261\r\n");
}

/* The slots ctld fills once it generates DTLS and ICE itself (11: SDES
 * off, ICE force) land where rtpengine puts them. */
static void
test_rewrite_t11_slots(void **state)
{
	static const char *const sec[] = { "a=setup:actpass\r\n"
	    "a=fingerprint:sha-256 43:C5:C3:9B:05:E3:8C:44:44:39:C4:A4:C5:61:"
	    "68:09:B8:D3:2F:E5:3B:68:91:DC:75:20:16:A0:93:45:3E:BA\r\n" };
	static const char *const ice[] = { "a=ice-ufrag:p5NpXnAU\r\n"
	    "a=ice-pwd:6VzWfk9l7e2eplSxr1GSWvVOnD\r\n"
	    "a=candidate:HT5ldsNLk0zZxNRh 1 UDP 2130706431 127.0.0.1 41374 "
	    "typ host\r\n"
	    "a=candidate:HT5ldsNLk0zZxNRh 2 UDP 2130706430 127.0.0.1 41375 "
	    "typ host\r\n" };
	struct sdp_rewrite	 rw;
	unsigned		 p;

	(void)state;
	memset(&rw, 0, sizeof(rw));
	rw.proto = "RTP/SAVP";
	rw.sec_lines = sec;
	p = 41334;
	rewrite_eq(t11_offer, &rw, &p, T11_HEAD("127.0.0.1", "41334",
	    "RTP/SAVP") "a=rtcp:41335\r\n" "a=setup:actpass\r\n"
	    "a=fingerprint:sha-256 43:C5:C3:9B:05:E3:8C:44:44:39:C4:A4:C5:61:"
	    "68:09:B8:D3:2F:E5:3B:68:91:DC:75:20:16:A0:93:45:3E:BA\r\n");

	memset(&rw, 0, sizeof(rw));
	rw.ice_lines = ice;
	p = 41374;
	rewrite_eq(t11_offer, &rw, &p, T11_HEAD("127.0.0.1", "41374",
	    "RTP/AVP") "a=rtcp:41375\r\n" "a=ice-ufrag:p5NpXnAU\r\n"
	    "a=ice-pwd:6VzWfk9l7e2eplSxr1GSWvVOnD\r\n"
	    "a=candidate:HT5ldsNLk0zZxNRh 1 UDP 2130706431 127.0.0.1 41374 "
	    "typ host\r\n"
	    "a=candidate:HT5ldsNLk0zZxNRh 2 UDP 2130706430 127.0.0.1 41375 "
	    "typ host\r\n");
}

static void
test_parse_t11_media_c(void **state)
{
	const struct sdp_session	*sdp;
	struct sdp_media_info		 mi;

	(void)state;
	sdp = parse_ok(t11_media_c);
	assert_int_equal(sdp_media_info(sdp, 0, &mi), 0);
	assert_string_equal(mi.addr, "127.0.0.2");
	assert_int_equal(mi.rtp_port, 53586);
	assert_int_equal(mi.rtcp_port, 53587);
	assert_string_equal(mi.codec, "PCMU/8000");	/* static, no rtpmap */
}

static void
test_rewrite_t16_t12(void **state)
{
	struct sdp_rewrite	 rw;
	unsigned		 p;

	(void)state;
	memset(&rw, 0, sizeof(rw));
	p = 41716;
	rewrite_eq(t16_offer, &rw, &p, t16_offer_out);

	memset(&rw, 0, sizeof(rw));	/* Kamailio, no flags */
	p = 41468;
	rewrite_eq(T12("127.0.0.2", "127.0.0.2", "30002"), &rw, &p,
	    T12("127.0.0.2", "127.0.0.1", "41468") "a=rtcp:41469\r\n");
	memset(&rw, 0, sizeof(rw));
	p = 41490;
	rewrite_eq(T12("127.0.0.3", "127.0.0.3", "40002"), &rw, &p,
	    T12("127.0.0.3", "127.0.0.1", "41490") "a=rtcp:41491\r\n");
}

static void
test_webrtc_t10_t04(void **state)
{
	const struct sdp_session	*sdp;
	struct sdp_media_info		 mi;
	struct sdp_rewrite		 rw;
	unsigned			 p;

	(void)state;
	sdp = parse_ok(t10_offer);
	assert_int_equal(sdp_media_info(sdp, 0, &mi), 0);
	assert_string_equal(mi.proto, "UDP/TLS/RTP/SAVPF");
	assert_string_equal(mi.codec, "opus/48000/2");
	assert_int_equal(mi.rtcp_port, 9);
	assert_int_equal(mi.rtcp_mux, 1);
	assert_int_equal(mi.ice, 1);

	memset(&rw, 0, sizeof(rw));
	rw.replace_origin = rw.replace_session_conn = 1;
	rw.ice_remove = rw.sec_remove = rw.rtcp_mux_strip = 1;
	rw.proto = "RTP/AVP";
	p = 41102;
	rewrite_eq(t10_offer, &rw, &p, t10_offer_out);

	memset(&rw, 0, sizeof(rw));
	rw.replace_origin = rw.replace_session_conn = 1;
	rw.ice_remove = rw.sec_remove = rw.rtcp_mux_strip = 1;
	rw.mid_strip = 1;
	rw.proto = "RTP/AVP";
	p = 41064;
	rewrite_eq(t04_answer, &rw, &p, t04_answer_out);
}

/* Two media, one of them rejected, IPv6 on the video, session-level
 * direction moved into each media, SDP-version bumped, LF line ends. */
static void
test_multi_media(void **state)
{
	static const char in[] =
	    "v=0\n"
	    "o=x 5 41 IN IP4 192.0.2.1\n"
	    "s=multi\n"
	    "c=IN IP4 192.0.2.1\n"
	    "b=AS:256\n"
	    "t=0 0\n"
	    "a=sendonly\n"
	    "a=ice-lite\n"
	    "m=audio 5004 RTP/AVP 18 96 13\n"
	    "i=voice\n"
	    "a=rtpmap:96 opus/48000/2\n"
	    "a=rtpmap:97 unused/8000\n"
	    "a=fmtp:18 annexb=no\n"
	    "a=rtcp-fb:96 nack\n"
	    "a=maxptime:40\n"
	    "a=ptime:20\n"
	    "a=ptime:30\n"
	    "a=candidate:1 1 UDP 1 192.0.2.1 5004 typ host\n"
	    "m=video 6000/2 RTP/AVPF 31\n"
	    "c=IN IP6 2001:db8::7/3\n"
	    "a=rtcp:6100 IN IP6 2001:db8::8\n"
	    "a=rtcp-mux\n"
	    "a=recvonly\n"
	    "m=text 0 RTP/AVP 98\n"
	    "a=rtpmap:98 t140/1000\n"
	    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
	    "a=sctp-port:5000\n"
	    "a=sendrecv\n";
	static const char want[] =
	    "v=0\r\n"
	    "o=x 5 42 IN IP6 2001:db8::1\r\n"
	    "s=multi\r\n"
	    "c=IN IP6 2001:db8::1\r\n"
	    "b=AS:256\r\n"
	    "t=0 0\r\n"
	    "m=audio 40000 RTP/AVP 18 96 13\r\n"
	    "i=voice\r\n"
	    "a=maxptime:40\r\n"
	    "a=rtpmap:18 G729/8000\r\n"
	    "a=fmtp:18 annexb=no\r\n"
	    "a=rtpmap:96 opus/48000/2\r\n"
	    "a=rtcp-fb:96 nack\r\n"
	    "a=rtpmap:13 CN/8000\r\n"
	    "a=sendonly\r\n"
	    "a=rtcp:40001 IN IP6 2001:db8::1\r\n"
	    "a=ptime:20\r\n"
	    "m=video 40002 RTP/AVPF 31\r\n"
	    "c=IN IP6 2001:db8::1\r\n"
	    "a=rtpmap:31 H261/90000\r\n"
	    "a=recvonly\r\n"
	    "a=rtcp:40003 IN IP6 2001:db8::1\r\n"
	    "a=rtcp-mux\r\n"
	    "m=text 0 RTP/AVP 98\r\n"
	    "m=application 40004 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	    "a=sctp-port:5000\r\n"
	    "a=sendrecv\r\n";
	const struct sdp_session	*sdp;
	struct sdp_media_info		 mi;
	struct sdp_rewrite		 rw;
	unsigned			 p[] = { 40000, 40002, 0, 40004 };

	(void)state;
	sdp = parse_ok(in);
	assert_int_equal(sdp_media_count(sdp), 4);
	assert_int_equal(sdp_media_info(sdp, 0, &mi), 0);
	assert_string_equal(mi.codec, "G729/8000");
	assert_string_equal(mi.addr, "192.0.2.1");
	assert_int_equal(mi.dir, SDP_SENDONLY);
	assert_int_equal(mi.ice, 1);		/* session ice-lite */
	assert_int_equal(sdp_media_info(sdp, 1, &mi), 0);
	assert_string_equal(mi.type, "video");
	assert_string_equal(mi.proto, "RTP/AVPF");
	assert_string_equal(mi.addr, "2001:db8::7");
	assert_int_equal(mi.family, 6);
	assert_int_equal(mi.rtp_port, 6000);
	assert_int_equal(mi.rtcp_port, 6100);
	assert_int_equal(mi.rtcp_mux, 1);
	assert_int_equal(mi.dir, SDP_RECVONLY);
	assert_string_equal(mi.codec, "H261/90000");
	assert_int_equal(sdp_media_info(sdp, 2, &mi), 0);
	assert_int_equal(mi.rtp_port, 0);
	assert_int_equal(mi.rtcp_port, 0);
	assert_string_equal(mi.codec, "t140/1000");
	assert_int_equal(sdp_media_info(sdp, 3, &mi), 0);
	assert_string_equal(mi.codec, "");
	assert_int_equal(mi.dir, SDP_SENDRECV);

	memset(&rw, 0, sizeof(rw));
	rw.addr = "2001:db8::1";
	rw.family = 6;
	rw.replace_origin = rw.sdp_version = 1;
	rw.full_rtcp_attr = rw.ice_remove = 1;
	rewrite_eq(in, &rw, p, want);
}

/* Without ICE=remove and with SDES passed through, the peer's ICE and
 * crypto lines move to rtpengine's places; a zero c= (hold) stays. */
static void
test_passthrough_hold(void **state)
{
	static const char in[] =
	    "v=0\r\n"
	    "o=- 1 1 IN IP4 10.0.0.1\r\n"
	    "s=-\r\n"
	    "c=IN IP4 0.0.0.0\r\n"
	    "t=0 0\r\n"
	    "m=audio 4000 RTP/SAVP 8\r\n"
	    "a=candidate:1 1 UDP 9 10.0.0.1 4000 typ host\r\n"
	    "a=ice-ufrag:abcd\r\n"
	    "a=ptime:20\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	    "a=rtcp-mux\r\n"
	    "a=inactive\r\n"
	    "a=x-unknown:1\r\n"
	    "m=audio 4002 RTP/AVP 0\r\n"
	    "c=IN IP6 ::\r\n";
	static const char want[] =
	    "v=0\r\n"
	    "o=- 1 1 IN IP4 10.0.0.1\r\n"
	    "s=-\r\n"
	    "c=IN IP4 0.0.0.0\r\n"
	    "t=0 0\r\n"
	    "m=audio 41000 RTP/SAVP 8\r\n"
	    "a=x-unknown:1\r\n"
	    "a=rtpmap:8 PCMA/8000\r\n"
	    "a=inactive\r\n"
	    "a=rtcp:41001\r\n"
	    "a=rtcp-mux\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	    "a=ptime:20\r\n"
	    "a=candidate:1 1 UDP 9 10.0.0.1 4000 typ host\r\n"
	    "a=ice-ufrag:abcd\r\n"
	    "m=audio 41002 RTP/AVP 0\r\n"
	    "c=IN IP6 ::\r\n"
	    "a=rtpmap:0 PCMU/8000\r\n"
	    "a=sendrecv\r\n"
	    "a=rtcp:41003\r\n";
	const struct sdp_session	*sdp;
	struct sdp_media_info		 mi;
	struct sdp_rewrite		 rw;
	unsigned			 p[] = { 41000, 41002 };

	(void)state;
	sdp = parse_ok(in);
	assert_int_equal(sdp_media_info(sdp, 0, &mi), 0);
	assert_string_equal(mi.addr, "0.0.0.0");
	assert_int_equal(mi.dir, SDP_INACTIVE);
	assert_int_equal(mi.ice, 1);
	assert_int_equal(mi.rtcp_mux, 1);
	assert_int_equal(sdp_media_info(sdp, 1, &mi), 0);
	assert_string_equal(mi.addr, "::");
	assert_int_equal(mi.family, 6);
	assert_int_equal(mi.ice, 0);

	memset(&rw, 0, sizeof(rw));
	rewrite_eq(in, &rw, p, want);

	memset(&rw, 0, sizeof(rw));
	rw.replace_zero_addr = rw.replace_session_conn = 1;
	rw.ice_remove = rw.sec_remove = 1;
	rewrite_eq(in, &rw, p,
	    "v=0\r\n"
	    "o=- 1 1 IN IP4 10.0.0.1\r\n"
	    "s=-\r\n"
	    "c=IN IP4 127.0.0.1\r\n"
	    "t=0 0\r\n"
	    "m=audio 41000 RTP/SAVP 8\r\n"
	    "a=x-unknown:1\r\n"
	    "a=rtpmap:8 PCMA/8000\r\n"
	    "a=inactive\r\n"
	    "a=rtcp:41001\r\n"
	    "a=rtcp-mux\r\n"
	    "a=ptime:20\r\n"
	    "m=audio 41002 RTP/AVP 0\r\n"
	    "c=IN IP4 127.0.0.1\r\n"
	    "a=rtpmap:0 PCMU/8000\r\n"
	    "a=sendrecv\r\n"
	    "a=rtcp:41003\r\n");
}

static void
test_rewrite_errors(void **state)
{
	const struct sdp_session	*sdp;
	struct sdp_rewrite_media	 rm[2] = { { 1000, 1001 }, { 0, 0 } };
	struct sdp_rewrite		 rw;
	struct buf			 out;
	const char			*err;

	(void)state;
	sdp = parse_ok(t02_offer);
	buf_init(&out);
	memset(&rw, 0, sizeof(rw));
	rw.addr = "127.0.0.1";
	rw.family = 4;
	rw.media = rm;
	rw.nmedia = 2;			/* the SDP has one */
	err = NULL;
	assert_int_equal(sdp_rewrite(sdp, &rw, &out, &err), -1);
	assert_non_null(err);
	rw.nmedia = 1;
	rw.addr = "127.0.0.1\r\na=x";	/* would inject a line */
	assert_int_equal(sdp_rewrite(sdp, &rw, &out, &err), -1);
	rw.addr = "::1";		/* family 4 */
	assert_int_equal(sdp_rewrite(sdp, &rw, &out, &err), -1);
	rw.addr = "127.0.0.1";
	rw.proto = "RTP/AVP\r\n";
	assert_int_equal(sdp_rewrite(sdp, &rw, &out, &err), -1);
	rw.proto = NULL;
	rm[0].rtp_port = 70000;
	assert_int_equal(sdp_rewrite(sdp, &rw, &out, &err), -1);
	rm[0].rtp_port = 1000;
	assert_int_equal(sdp_rewrite(sdp, &rw, &out, &err), 0);
	buf_free(&out);
}

#define HDR	"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n"
#define BAD(s)	parse_fails(s, sizeof(s) - 1, "Failed to parse SDP")
#define INCOMPLETE(s) parse_fails(s, sizeof(s) - 1, \
	    "Incomplete SDP specification")

static void
test_parse_rejects(void **state)
{
	static const char nul[] = HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0"
	    "\0\r\n";
	static const char noend[] = HDR "c=IN IP4 1.2.3.4\r\n"
	    "m=audio 1 RTP/AVP 0";
	static const char blank[] = HDR "c=IN IP4 1.2.3.4\r\n"
	    "m=audio 1 RTP/AVP 0\r\n\r\n";
	char		 big[SDP_MAX_LINES * 8 + 128];
	size_t		 i, n;
	const char	*err;

	(void)state;
	BAD("garbage");
	BAD("");
	BAD("\r\n");
	BAD("o=a 1 1 IN IP4 1.2.3.4\r\nv=0\r\n");		/* v= not first */
	BAD("v=1\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n");
	BAD("v=0\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD("v=0\r\no=a 1 IN IP4 1.2.3.4\r\ns=-\r\n"		/* 5 fields */
	    "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD("v=0\r\no=a 1 1 XX IP4 1.2.3.4\r\ns=-\r\n"
	    "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 65536 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 99999999999 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio -1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1/0 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP\r\n");	/* no fmt */
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio\r\n");		/* truncated */
	BAD(HDR "c=IN IP4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 300.1.2.3\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 host.example\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP5 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP6 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4/\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4 x\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n"
	    "a=rtcp:70000\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n"
	    "a=rtcp:5 IN IP4\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n"
	    "a=rtpmap:128 x/8000\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n"
	    "a=rtpmap:0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\nx\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\nA=b\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=x\ry\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\n\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "s=again\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n");
	BAD(HDR "c=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n"
	    "o=a 1 1 IN IP4 1.2.3.4\r\n");
	parse_fails(nul, sizeof(nul) - 1, "Failed to parse SDP");

	INCOMPLETE(HDR "m=audio 1 RTP/AVP 0\r\n");		/* no c= */
	INCOMPLETE(HDR "m=audio 1 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n"
	    "m=audio 2 RTP/AVP 0\r\n");
	INCOMPLETE(HDR "c=IN IP4 1.2.3.4\r\nt=0 0\r\n");	/* no m= */

	/* the last line may lack its line end; trailing blank lines pass */
	assert_non_null(sdp_parse(arena, noend, strlen(noend), &err));
	assert_non_null(sdp_parse(arena, blank, strlen(blank), &err));

	/* limits: SDP_MAX_MEDIA media, SDP_MAX_LINES lines */
	n = (size_t)snprintf(big, sizeof(big), HDR "c=IN IP4 1.2.3.4\r\n");
	for (i = 0; i < SDP_MAX_MEDIA; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "m=audio %zu RTP/AVP 0\r\n", 1000 + 2 * i);
	assert_non_null(sdp_parse(arena, big, n, &err));
	n += (size_t)snprintf(big + n, sizeof(big) - n, "m=audio 9 RTP/AVP 0\r\n");
	parse_fails(big, n, "Failed to parse SDP");

	n = (size_t)snprintf(big, sizeof(big), HDR "c=IN IP4 1.2.3.4\r\n"
	    "m=audio 1 RTP/AVP 0\r\n");
	for (i = 5; i < SDP_MAX_LINES; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "a=x\r\n");
	assert_non_null(sdp_parse(arena, big, n, &err));
	n += (size_t)snprintf(big + n, sizeof(big) - n, "a=x\r\n");
	parse_fails(big, n, "Failed to parse SDP");
}

/* Every prefix of a valid SDP is either rejected or parses, without
 * reading past its length (valgrind/ASan see to the latter). */
static void
test_parse_prefixes(void **state)
{
	const char	*err;
	char		*copy;
	size_t		 len = strlen(t10_offer), i;

	(void)state;
	for (i = 0; i <= len; i++) {
		assert_non_null(copy = test_malloc(i + 1));
		memcpy(copy, t10_offer, i);
		(void)sdp_parse(arena, copy, i, &err);
		test_free(copy);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_t02),
		cmocka_unit_test(test_rewrite_t02),
		cmocka_unit_test(test_rewrite_t11),
		cmocka_unit_test(test_rewrite_t11_slots),
		cmocka_unit_test(test_parse_t11_media_c),
		cmocka_unit_test(test_rewrite_t16_t12),
		cmocka_unit_test(test_webrtc_t10_t04),
		cmocka_unit_test(test_multi_media),
		cmocka_unit_test(test_passthrough_hold),
		cmocka_unit_test(test_rewrite_errors),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_prefixes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
