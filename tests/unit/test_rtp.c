/*
 * Unit tests for libcommon/rtp: RTP header fields, CSRC/extension/padding
 * bounds, RTCP compound validation (RFC 3550 A.2), RFC 5761 and RFC 7983
 * demultiplexing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/rtp.h"

/* The transcript's PCMU packet: V=2, PT 0, seq 1, ts 160, SSRC 0x11111111,
 * 160 bytes of payload. */
static size_t
pcmu(uint8_t *p)
{
	static const uint8_t hdr[] = { 0x80, 0x00, 0x00, 0x01, 0x00, 0x00,
	    0x00, 0xa0, 0x11, 0x11, 0x11, 0x11 };
	memcpy(p, hdr, sizeof(hdr));
	memset(p + 12, 0xff, 160);
	return 172;
}

static void
test_rtp_basic(void **state)
{
	uint8_t		 p[256];
	struct rtp_hdr	 h;
	size_t		 n = pcmu(p);

	(void)state;
	assert_int_equal(rtp_demux(p, n), RTP_DEMUX_RTP);
	assert_int_equal(rtp_is_rtcp(p, n), 0);
	assert_int_equal(rtp_parse(p, n, &h), 0);
	assert_int_equal(h.pt, 0);
	assert_int_equal(h.seq, 1);
	assert_int_equal(h.ts, 160);
	assert_int_equal(h.ssrc, 0x11111111);
	assert_int_equal(h.hdr_len, 12);
	assert_int_equal(h.payload_len, 160);

	p[1] = 0x80 | 101;	/* marker + telephone-event */
	assert_int_equal(rtp_parse(p, n, &h), 0);
	assert_int_equal(h.marker, 1);
	assert_int_equal(h.pt, 101);
	assert_int_equal(rtp_is_rtcp(p, n), 0);
}

static void
test_rtp_bounds(void **state)
{
	uint8_t		 p[256];
	struct rtp_hdr	 h;
	size_t		 n = pcmu(p);

	(void)state;
	assert_int_equal(rtp_parse(p, 11, &h), -1);	/* short */
	p[0] = 0x40;					/* version 1 */
	assert_int_equal(rtp_parse(p, n, &h), -1);
	p[0] = 0x82;					/* 2 CSRCs */
	assert_int_equal(rtp_parse(p, n, &h), 0);
	assert_int_equal(h.hdr_len, 20);
	assert_int_equal(rtp_parse(p, 19, &h), -1);
	p[0] = 0x8f;					/* 15 CSRCs = 72 bytes */
	assert_int_equal(rtp_parse(p, 70, &h), -1);

	/* extension: profile 0xbede, 1 word */
	n = pcmu(p);
	p[0] = 0x90;
	p[12] = 0xbe; p[13] = 0xde; p[14] = 0x00; p[15] = 0x01;
	assert_int_equal(rtp_parse(p, n, &h), 0);
	assert_int_equal(h.ext_profile, 0xbede);
	assert_int_equal(h.ext_len, 4);
	assert_int_equal(h.hdr_len, 20);
	assert_int_equal(h.payload_len, 152);
	p[14] = 0xff; p[15] = 0xff;			/* extension too long */
	assert_int_equal(rtp_parse(p, n, &h), -1);
	assert_int_equal(rtp_parse(p, 14, &h), -1);	/* ext hdr cut */

	/* padding */
	n = pcmu(p);
	p[0] = 0xa0;
	p[n - 1] = 4;
	assert_int_equal(rtp_parse(p, n, &h), 0);
	assert_int_equal(h.pad_len, 4);
	assert_int_equal(h.payload_len, 156);
	p[n - 1] = 0;					/* zero padding count */
	assert_int_equal(rtp_parse(p, n, &h), -1);
	p[n - 1] = 200;					/* more than payload */
	assert_int_equal(rtp_parse(p, n, &h), -1);
	assert_int_equal(rtp_parse(p, 12, &h), -1);	/* padding, no payload */
}

static void
test_rtcp(void **state)
{
	/* SR (28 bytes) with no report blocks, then an SDES (8 bytes) */
	uint8_t	 p[64] = {
		0x80, 200, 0x00, 0x06, 0x11, 0x11, 0x11, 0x11,
		0xe8, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00,
		0x00, 0x00, 0x1f, 0x40, 0x00, 0x00, 0x00, 0x32,
		0x00, 0x00, 0x20, 0x00,
		0x81, 202, 0x00, 0x01, 0x11, 0x11, 0x11, 0x11,
	};
	struct rtcp_info info;

	(void)state;
	assert_int_equal(rtp_demux(p, 36), RTP_DEMUX_RTP);
	assert_int_equal(rtp_is_rtcp(p, 36), 1);
	assert_int_equal(rtcp_parse(p, 36, &info), 0);
	assert_int_equal(info.first_pt, 200);
	assert_int_equal(info.ssrc, 0x11111111);
	assert_int_equal(info.npackets, 2);
	assert_int_equal(info.has_sr, 1);
	assert_int_equal(info.sr_ntp_mid, 0x12345678);
	assert_int_equal(info.sr_rtp_ts, 8000);
	assert_int_equal(info.sr_packets, 50);
	assert_int_equal(info.sr_octets, 8192);

	assert_int_equal(rtcp_parse(p, 35, &info), -1);	/* cut */
	assert_int_equal(rtcp_parse(p, 40, &info), -1);	/* trailing */
	p[31] = 0x09;					/* SDES too long */
	assert_int_equal(rtcp_parse(p, 36, &info), -1);
	p[31] = 0x01;
	p[1] = 202;					/* first not SR/RR */
	assert_int_equal(rtcp_parse(p, 36, &info), -1);
	p[1] = 200;
	p[3] = 0x02;					/* SR shorter than 28 */
	assert_int_equal(rtcp_parse(p, 12, &info), -1);
	/* a bare RR with no blocks (8 bytes) is valid */
	{
		uint8_t rr[8] = { 0x80, 201, 0x00, 0x01, 1, 2, 3, 4 };
		assert_int_equal(rtcp_parse(rr, 8, &info), 0);
		assert_int_equal(info.has_sr, 0);
		assert_int_equal(info.ssrc, 0x01020304);
	}
}

static void
test_demux(void **state)
{
	uint8_t	 stun[20] = { 0x00, 0x01 };
	uint8_t	 dtls[13] = { 22, 0xfe, 0xfd };
	uint8_t	 junk[4] = { 0x47, 0x45, 0x54, 0x20 };	/* "GET " */

	(void)state;
	assert_int_equal(rtp_demux(stun, sizeof(stun)), RTP_DEMUX_STUN);
	assert_int_equal(rtp_demux(dtls, sizeof(dtls)), RTP_DEMUX_DTLS);
	assert_int_equal(rtp_demux(junk, sizeof(junk)), RTP_DEMUX_OTHER);
	assert_int_equal(rtp_demux(junk, 0), RTP_DEMUX_OTHER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtp_basic),
		cmocka_unit_test(test_rtp_bounds),
		cmocka_unit_test(test_rtcp),
		cmocka_unit_test(test_demux),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
