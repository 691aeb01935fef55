/*
 * Unit tests for the libsrtp2 the build links: the OpenSSL build of
 * tools/libsrtp.sh (the Makefile then defines RTPSEC_SRTP_OPENSSL=1) or the
 * system one (Debian builds it with NSS; SRTP=system, or the fallback).
 *
 * - the crypto engine is the one the build chose;
 * - known answers: libsrtp's own reference packets for AES_CM_128_HMAC_SHA1_80
 *   and AEAD_AES_128_GCM (its test/srtp_driver.c), and one AEAD_AES_256_GCM
 *   packet computed once with the system (NSS) libsrtp2, which the OpenSSL
 *   build matches: the two engines agree;
 * - for AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM and AEAD_AES_256_GCM: a
 *   sender and a receiver session, protect then unprotect bit-exact, a
 *   tampered packet fails authentication, a replayed one fails the replay
 *   check (RFC 3711 3.3.2, 3.3.4). Both engines support GCM: Debian's NSS
 *   build defines GCM as the OpenSSL build does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

/* The cipher types of the engine compiled in; exported by both builds. */
extern const srtp_cipher_type_t srtp_aes_icm_128;
extern const srtp_cipher_type_t srtp_aes_gcm_128;

#ifdef RTPSEC_SRTP_OPENSSL
#define ENGINE "openssl"
#else
#define ENGINE "NSS"
#endif

typedef void (*policy_set_fn)(srtp_crypto_policy_t *);

struct suite {
	const char	*name;
	policy_set_fn	 set;
	size_t		 key_len;	/* master key || master salt */
	int		 overhead;	/* auth tag octets added */
};

static const struct suite suites[] = {
	{ "AES_CM_128_HMAC_SHA1_80",
	    srtp_crypto_policy_set_rtp_default, 30, 10 },
	{ "AEAD_AES_128_GCM", srtp_crypto_policy_set_aes_gcm_128_16_auth, 28,
	    16 },
	{ "AEAD_AES_256_GCM", srtp_crypto_policy_set_aes_gcm_256_16_auth, 44,
	    16 },
};

/* libsrtp's reference RTP packet (srtp_driver.c): SSRC 0xcafebabe. */
static const uint8_t ref_plain[28] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
	0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab,
};

static int
group_setup(void **state)
{
	(void)state;
	return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return srtp_shutdown() == srtp_err_status_ok ? 0 : -1;
}

/* A session of one suite for RTP and RTCP; ssrc_type is ssrc_specific (with
 * ssrc), ssrc_any_outbound or ssrc_any_inbound. */
static srtp_t
session(const struct suite *s, const uint8_t *key, srtp_ssrc_type_t ssrc_type,
    uint32_t ssrc)
{
	srtp_policy_t	 policy;
	srtp_t		 srtp = NULL;

	memset(&policy, 0, sizeof(policy));
	s->set(&policy.rtp);
	s->set(&policy.rtcp);
	policy.ssrc.type = ssrc_type;
	policy.ssrc.value = ssrc;
	policy.key = (unsigned char *)key;
	policy.window_size = 128;
	assert_int_equal(srtp_create(&srtp, &policy), srtp_err_status_ok);
	assert_non_null(srtp);
	return srtp;
}

static void
test_engine(void **state)
{
	(void)state;
	assert_non_null(strstr(srtp_aes_icm_128.description, ENGINE));
	assert_non_null(strstr(srtp_aes_gcm_128.description, ENGINE));
	assert_true(srtp_get_version() >= 0x02050000);
}

static void
known_answer(const struct suite *s, const uint8_t *key, const uint8_t *want,
    int want_len)
{
	uint8_t	 p[64] = { 0 };
	int	 len = sizeof(ref_plain);
	srtp_t	 tx, rx;

	tx = session(s, key, ssrc_specific, 0xcafebabe);
	rx = session(s, key, ssrc_specific, 0xcafebabe);
	memcpy(p, ref_plain, sizeof(ref_plain));
	assert_int_equal(srtp_protect(tx, p, &len), srtp_err_status_ok);
	assert_int_equal(len, want_len);
	assert_memory_equal(p, want, want_len);
	assert_int_equal(srtp_unprotect(rx, p, &len), srtp_err_status_ok);
	assert_int_equal(len, sizeof(ref_plain));
	assert_memory_equal(p, ref_plain, sizeof(ref_plain));
	assert_int_equal(srtp_dealloc(tx), srtp_err_status_ok);
	assert_int_equal(srtp_dealloc(rx), srtp_err_status_ok);
}

static void
test_known_answer_aes_cm_128(void **state)
{
	/* srtp_driver.c test_key: 16 octets of key, 14 of salt */
	static const uint8_t key[30] = {
		0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
		0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
		0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb,
		0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
	};
	static const uint8_t want[38] = {
		0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
		0xca, 0xfe, 0xba, 0xbe, 0x4e, 0x55, 0xdc, 0x4c,
		0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15,
		0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc,
		0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
	};

	(void)state;
	known_answer(&suites[0], key, want, sizeof(want));
}

static void
test_known_answer_gcm_128(void **state)
{
	/* srtp_driver.c test_key_gcm: 16 octets of key, 12 of salt */
	static const uint8_t key[28] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		0xa8, 0xa9, 0xaa, 0xab,
	};
	static const uint8_t want[44] = {
		0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
		0xca, 0xfe, 0xba, 0xbe, 0xc5, 0x00, 0x2e, 0xde,
		0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0,
		0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97, 0x68, 0x26,
		0xf7, 0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1,
		0x27, 0xe8, 0xa3, 0x92,
	};

	(void)state;
	known_answer(&suites[1], key, want, sizeof(want));
}

static void
test_known_answer_gcm_256(void **state)
{
	/* key octets 0, 1, ..., 43; the answer was computed with Debian's
	 * libsrtp2 2.5.0 (NSS) and the OpenSSL build gives the same. */
	static const uint8_t want[44] = {
		0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
		0xca, 0xfe, 0xba, 0xbe, 0xd5, 0x4e, 0xd6, 0x32,
		0xa7, 0x6b, 0xff, 0x3f, 0xa2, 0xef, 0xbb, 0x55,
		0x97, 0xa5, 0xd5, 0xe8, 0x7c, 0x07, 0x49, 0x7c,
		0x6b, 0x89, 0x72, 0x9d, 0x12, 0x91, 0x31, 0x7a,
		0xee, 0xf1, 0x1b, 0xa7,
	};
	uint8_t	 key[44];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	known_answer(&suites[2], key, want, sizeof(want));
}

/* A 172-octet PCMU packet (20 ms at 8 kHz) with sequence number seq. */
static int
pcmu(uint8_t *p, uint16_t seq)
{
	static const uint8_t hdr[12] = { 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x12, 0x34, 0x56, 0x78 };
	int	 i;

	memcpy(p, hdr, sizeof(hdr));
	p[2] = seq >> 8;
	p[3] = seq & 0xff;
	p[7] = 0xa0;
	for (i = 12; i < 172; i++)
		p[i] = (uint8_t)(i * 7 + seq);
	return 172;
}

static void
round_trip(const struct suite *s)
{
	uint8_t	 key[SRTP_MAX_KEY_LEN], plain[256], p[256], bad[256];
	int	 n, len, bad_len;
	size_t	 i;
	srtp_t	 tx, rx;

	for (i = 0; i < s->key_len; i++)
		key[i] = (uint8_t)(0x5a ^ (i * 13));
	tx = session(s, key, ssrc_any_outbound, 0);
	rx = session(s, key, ssrc_any_inbound, 0);

	n = pcmu(plain, 1000);
	memcpy(p, plain, n);
	len = n;
	assert_int_equal(srtp_protect(tx, p, &len), srtp_err_status_ok);
	assert_int_equal(len, n + s->overhead);
	assert_memory_not_equal(p + 12, plain + 12, n - 12);

	/* one flipped payload bit: the tag no longer verifies */
	memcpy(bad, p, len);
	bad_len = len;
	bad[40] ^= 0x01;
	assert_int_equal(srtp_unprotect(rx, bad, &bad_len),
	    srtp_err_status_auth_fail);

	/* the genuine packet still decrypts bit-exact */
	memcpy(bad, p, len);
	bad_len = len;
	assert_int_equal(srtp_unprotect(rx, p, &len), srtp_err_status_ok);
	assert_int_equal(len, n);
	assert_memory_equal(p, plain, n);

	/* and a second copy of it is a replay */
	assert_int_equal(srtp_unprotect(rx, bad, &bad_len),
	    srtp_err_status_replay_fail);

	/* the stream goes on after the drops */
	n = pcmu(plain, 1001);
	memcpy(p, plain, n);
	len = n;
	assert_int_equal(srtp_protect(tx, p, &len), srtp_err_status_ok);
	assert_int_equal(srtp_unprotect(rx, p, &len), srtp_err_status_ok);
	assert_memory_equal(p, plain, n);

	assert_int_equal(srtp_dealloc(tx), srtp_err_status_ok);
	assert_int_equal(srtp_dealloc(rx), srtp_err_status_ok);
	explicit_bzero(key, sizeof(key));
}

static void
test_round_trip_aes_cm_128(void **state)
{
	(void)state;
	round_trip(&suites[0]);
}

static void
test_round_trip_gcm_128(void **state)
{
	(void)state;
	round_trip(&suites[1]);
}

static void
test_round_trip_gcm_256(void **state)
{
	(void)state;
	round_trip(&suites[2]);
}

/* A receiver with another key rejects every packet. */
static void
test_wrong_key(void **state)
{
	uint8_t	 k1[30], k2[30], p[256];
	int	 len;
	srtp_t	 tx, rx;

	(void)state;
	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x11, sizeof(k2));
	k2[0] = 0x12;
	tx = session(&suites[0], k1, ssrc_any_outbound, 0);
	rx = session(&suites[0], k2, ssrc_any_inbound, 0);
	len = pcmu(p, 7);
	assert_int_equal(srtp_protect(tx, p, &len), srtp_err_status_ok);
	assert_int_equal(srtp_unprotect(rx, p, &len),
	    srtp_err_status_auth_fail);
	assert_int_equal(srtp_dealloc(tx), srtp_err_status_ok);
	assert_int_equal(srtp_dealloc(rx), srtp_err_status_ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine),
		cmocka_unit_test(test_known_answer_aes_cm_128),
		cmocka_unit_test(test_known_answer_gcm_128),
		cmocka_unit_test(test_known_answer_gcm_256),
		cmocka_unit_test(test_round_trip_aes_cm_128),
		cmocka_unit_test(test_round_trip_gcm_128),
		cmocka_unit_test(test_round_trip_gcm_256),
		cmocka_unit_test(test_wrong_key),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
