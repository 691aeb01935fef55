/*
 * Unit tests for ctld/sdes_neg: which side of a media speaks SDES-SRTP,
 * the m= protocol towards the callee (transport-protocol, AVP <-> SAVP,
 * AVPF <-> SAVPF), the SDES-off / SDES-no- / SDES-only- filters in flag
 * and list form, and the choice of the offerer's a=crypto line (RFC 4568
 * 9.1; keys from its examples' lengths).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/bencode.h"
#include "libcommon/ngval.h"
#include "libcommon/sdp.h"
#include "ctld/sdes_neg.h"

static void
opts(const char *benc, struct sdes_neg_opts *o)
{
	struct ngarena	*a = ngarena_new();
	struct ngval	*d;
	const char	*err;

	assert_non_null(a);
	d = bencode_decode(a, benc, strlen(benc), &err);
	assert_non_null(d);
	sdes_neg_opts(d, o);
	ngarena_destroy(&a);
}

static void
test_proto_map(void **state)
{
	(void)state;
	assert_string_equal(sdes_neg_map("RTP/AVP", 1), "RTP/SAVP");
	assert_string_equal(sdes_neg_map("RTP/SAVP", 0), "RTP/AVP");
	assert_string_equal(sdes_neg_map("RTP/AVPF", 1), "RTP/SAVPF");
	assert_string_equal(sdes_neg_map("RTP/SAVPF", 0), "RTP/AVPF");
	assert_string_equal(sdes_neg_map("RTP/SAVP", 1), "RTP/SAVP");
	assert_string_equal(sdes_neg_map("udptl", 1), "udptl");
	assert_true(sdes_neg_is_srtp("RTP/SAVP"));
	assert_true(sdes_neg_is_srtp("RTP/SAVPF"));
	assert_false(sdes_neg_is_srtp("RTP/AVP"));
	assert_false(sdes_neg_is_srtp("UDP/TLS/RTP/SAVPF"));
}

static void
test_callee_proto(void **state)
{
	struct sdes_neg_opts	 o;

	(void)state;
	/* default: the offerer's own */
	opts("d7:command5:offere", &o);
	assert_string_equal(o.proto, "");
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/SAVP"), "RTP/SAVP");
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/AVP"), "RTP/AVP");
	assert_string_equal(sdes_neg_callee_proto(&o, "udptl"), "udptl");
	/* transport-protocol both ways */
	opts("d18:transport-protocol8:RTP/SAVPe", &o);
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/AVP"), "RTP/SAVP");
	assert_string_equal(sdes_neg_callee_proto(&o, "udptl"), "udptl");
	opts("d18:transport-protocol7:RTP/AVPe", &o);
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/SAVP"), "RTP/AVP");
	/* SDES off makes the callee's side plain */
	opts("d5:flagsl8:SDES-offee", &o);
	assert_true(o.off);
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/SAVPF"),
	    "RTP/AVPF");
	opts("d18:transport-protocol8:RTP/SAVP4:SDESl3:offee", &o);
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/AVP"), "RTP/AVP");
	/* a protocol that cannot go on an m= line is ignored */
	opts("d18:transport-protocol7:RTP AVPe", &o);
	assert_string_equal(o.proto, "");
}

static void
test_suites(void **state)
{
	struct sdes_neg_opts	 o;
	const char		*names[SDES_NSUITES];

	(void)state;
	opts("d7:command5:offere", &o);
	assert_int_equal(sdes_neg_suites(&o, "", names), 8);
	assert_string_equal(names[0], "AEAD_AES_256_GCM");
	assert_string_equal(names[6], "AES_CM_128_HMAC_SHA1_80");
	assert_string_equal(names[7], "AES_CM_128_HMAC_SHA1_32");

	opts("d5:flagsl31:SDES-no-AES_CM_128_HMAC_SHA1_3224:SDES-no-AEAD_AES_256_GCMee",
	    &o);
	assert_int_equal(sdes_neg_suites(&o, "", names), 6);
	assert_string_equal(names[0], "AEAD_AES_128_GCM");
	assert_string_equal(names[5], "AES_CM_128_HMAC_SHA1_80");

	opts("d4:SDESl28:only-AES_CM_128_HMAC_SHA1_8021:only-AEAD_AES_128_GCMee",
	    &o);
	assert_int_equal(sdes_neg_suites(&o, "", names), 2);
	assert_string_equal(names[0], "AEAD_AES_128_GCM");
	assert_string_equal(names[1], "AES_CM_128_HMAC_SHA1_80");

	/* only one suite, and that one removed: nothing left, SDES off */
	opts("d5:flagsl26:SDES-only-AEAD_AES_128_GCM24:SDES-no-AEAD_AES_128_GCMee",
	    &o);
	assert_int_equal(sdes_neg_suites(&o, "", names), 0);
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/SAVP"), "RTP/AVP");

	/* unknown words and suites are ignored */
	opts("d4:SDESl3:pad9:no-F8_12813:only-NULL_XYZee", &o);
	assert_false(o.off);
	assert_int_equal(sdes_neg_suites(&o, "", names), 8);

	/* [ctld] sdes_suites: the configured set and order, then the flags */
	opts("d7:command5:offere", &o);
	sdes_neg_restrict(&o, "AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM");
	assert_int_equal(sdes_neg_suites(&o,
	    "AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM", names), 2);
	assert_string_equal(names[0], "AES_CM_128_HMAC_SHA1_80");
	assert_string_equal(names[1], "AEAD_AES_128_GCM");
	/* an SDES-only outside the configured set leaves nothing: plain */
	opts("d5:flagsl26:SDES-only-AEAD_AES_256_GCMee", &o);
	sdes_neg_restrict(&o, "AES_CM_128_HMAC_SHA1_80");
	assert_int_equal(sdes_neg_suites(&o, "AES_CM_128_HMAC_SHA1_80",
	    names), 0);
	assert_string_equal(sdes_neg_callee_proto(&o, "RTP/SAVP"), "RTP/AVP");
}

static struct sdp_session *
sdp(struct ngarena *a, const char *text)
{
	struct sdp_session	*s;
	const char		*err;

	s = sdp_parse(a, text, strlen(text), &err);
	assert_non_null(s);
	return s;
}

#define SDP_HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n" \
	"c=IN IP4 192.0.2.1\r\nt=0 0\r\n"

static void
test_pick(void **state)
{
	struct ngarena		*a = ngarena_new();
	struct sdp_session	*s;
	const char		*val;
	size_t			 len;
	enum sdes_suite		 suite;
	uint32_t		 tag;

	(void)state;
	/* skipped: malformed, unknown suite (F8), MKI, a short key,
	 * UNENCRYPTED_SRTP with a GCM suite; taken: tag 6 (RFC 4568 9.1's
	 * example key) */
	s = sdp(a, SDP_HEAD "m=audio 4000 RTP/SAVP 0\r\n"
	    "a=fingerprint:sha-256 AB:CD\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80\r\n"
	    "a=crypto:2 F8_128_HMAC_SHA1_80 "
	    "inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm\r\n"
	    "a=crypto:3 AES_CM_128_HMAC_SHA1_80 "
	    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n"
	    "a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHV2\r\n"
	    "a=crypto:5 AEAD_AES_128_GCM "
	    "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw UNENCRYPTED_SRTP\r\n"
	    "a=crypto:6 AES_CM_128_HMAC_SHA1_32 "
	    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20\r\n"
	    "a=crypto:7 AES_CM_128_HMAC_SHA1_80 "
	    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
	    "m=audio 4002 RTP/SAVP 0\r\n"
	    "a=crypto:1 F8_128_HMAC_SHA1_80 "
	    "inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm\r\n"
	    "m=audio 4004 RTP/AVP 0\r\n");
	assert_int_equal(sdes_neg_pick(s, 0, &val, &len, &suite, &tag, NULL), 0);
	assert_int_equal(tag, 6);
	assert_int_equal(suite, SDES_AES_CM_128_HMAC_SHA1_32);
	assert_true(len > 0 && memcmp(val, "6 AES_CM_128_HMAC_SHA1_32 ", 26) == 0);
	assert_int_equal(val[len - 1], '0');
	assert_int_equal(sdes_neg_pick(s, 1, &val, &len, &suite, &tag, NULL), -1);
	assert_int_equal(sdes_neg_pick(s, 2, &val, &len, &suite, &tag, NULL), -1);
	assert_int_equal(sdes_neg_pick(s, 3, &val, &len, &suite, &tag, NULL), -1);
	ngarena_destroy(&a);
}

/* RFC 4568 6.3 session parameters: the words of the SDES list and flags,
 * and the parameters of a picked line. */
static void
test_params(void **state)
{
	struct ngarena		*a = ngarena_new();
	struct sdp_session	*s;
	struct sdes_neg_opts	 o;
	const char		*val;
	size_t			 len;
	enum sdes_suite		 suite;
	uint32_t		 tag;
	unsigned		 params;

	(void)state;
	opts("d7:command5:offere", &o);
	assert_int_equal(o.params, 0);
	opts("d4:SDESl16:unencrypted_srtp17:unencrypted_srtcp"
	    "20:unauthenticated_srtpee", &o);
	assert_int_equal(o.params, SDES_P_ALL);
	assert_int_equal(sdes_neg_suites(&o, "", (const char *[SDES_NSUITES]){ 0 }),
	    8);
	opts("d5:flagsl22:SDES-UNENCRYPTED_SRTCP21:SDES-unencrypted-srtp"
	    "19:SDES-encrypted_srtpee", &o);
	assert_int_equal(o.params, SDES_P_UNENCRYPTED_SRTCP);
	opts("d4:SDES20:unauthenticated_srtpe", &o);
	assert_int_equal(o.params, SDES_P_UNAUTHENTICATED_SRTP);
	opts("d4:SDESl20:unauthenticated_srtp18:authenticated_srtpee", &o);
	assert_int_equal(o.params, 0);

	s = sdp(a, SDP_HEAD "m=audio 4000 RTP/SAVP 0\r\n"
	    "a=crypto:1 AEAD_AES_128_GCM "
	    "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw UNENCRYPTED_SRTCP\r\n"
	    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 "
	    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR "
	    "UNENCRYPTED_SRTP UNAUTHENTICATED_SRTP\r\n"
	    "m=audio 4002 RTP/SAVP 0\r\n"
	    "a=crypto:1 AEAD_AES_128_GCM "
	    "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw\r\n");
	assert_int_equal(sdes_neg_pick(s, 0, &val, &len, &suite, &tag,
	    &params), 0);
	assert_int_equal(tag, 2);
	assert_int_equal(params, SDES_P_UNENCRYPTED_SRTP |
	    SDES_P_UNAUTHENTICATED_SRTP);
	assert_int_equal(sdes_neg_pick(s, 1, &val, &len, &suite, &tag,
	    &params), 0);
	assert_int_equal(suite, SDES_AEAD_AES_128_GCM);
	assert_int_equal(params, 0);
	ngarena_destroy(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_map),
		cmocka_unit_test(test_callee_proto),
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
