/*
 * Unit tests for libcommon/sdes: RFC 4568's own a=crypto examples
 * (sections 4, 5.1 and 6.1), the lines rtpengine 10.5 wrote in the
 * transcripts (../shared/reference/ng-transcripts 03, 09, 11), key and
 * salt lengths per suite (RFC 4568 6.2, RFC 6188, RFC 7714 14.2), every
 * rejection, every prefix of valid lines, format -> parse round trips and
 * key generation.
 *
 * Every parse goes through an exact-size copy without a NUL, so that
 * ASan sees a read past the length.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/buf.h"
#include "libcommon/sdes.h"

/* RFC 4568 section 4: offer and answer (lifetime 2^20, MKI 1, 32 bytes) */
#define RFC_OFFER_KEY	"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define RFC_ANSWER_KEY	"d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj"
/* RFC 4568 section 6.1 key examples and section 5.1's F8 two-key line */
#define RFC_61_KEY	"WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
#define RFC_61_KEY2	"YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2"
#define RFC_F8_KEY1	"MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm"
#define RFC_F8_KEY2	"QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5"

#define S80	"AES_CM_128_HMAC_SHA1_80"
#define K30	RFC_OFFER_KEY

/* rtpengine 10.5's SDES offer (transcript 03), tags 1..8 of 12, and the
 * lines of transcript 09 with lifetime */
static const char *const rtpengine_lines[] = {
	"1 AEAD_AES_256_GCM inline:TqVeVmsJdJxT/RaoP+4ovlo1OUoOJhCguOX7zgXKDc7tluy6Tg5kSX2IBmA",
	"2 AEAD_AES_128_GCM inline:9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06lQ",
	"3 AES_256_CM_HMAC_SHA1_80 inline:2CHjWYpuZoFdrGVyQ1pOlMeD1cV7mnKlK3Ub0EyO7KhJypI0hGGV9WNzn+wAyA",
	"4 AES_256_CM_HMAC_SHA1_32 inline:1JYwG/Rz70yrPa2cJhALnRf/KK5Zc8gqjRhZFpp6piJcSQ7T3WKJuBuMcp0yiA",
	"5 AES_192_CM_HMAC_SHA1_80 inline:e+cCm4IJlM5cighjgz0V1XZsH43WKtRQmqRysXBQgPYiAS+PIa4",
	"6 AES_192_CM_HMAC_SHA1_32 inline:Cm6ZivPw1ju4SUGAWjlzwnz4XK1BCXYgnAZyPWaxZZfzOwgt3Gk",
	"7 AES_CM_128_HMAC_SHA1_80 inline:sYTMa8Y2w7jDkMmerKEtNlnPBweXLo2ESmizlbZQ",
	"8 AES_CM_128_HMAC_SHA1_32 inline:t6wYuxkN0zwIxrXtWTM8e3jF/aIP/Y+ZnsbFkGnC",
	"1 AES_CM_128_HMAC_SHA1_80 inline:BtJ3f7V7Q5ZJ9jRXjAqLAJ9utCs0Vh8Lgvf5cum/|2^31",
	"2 AES_CM_128_HMAC_SHA1_32 inline:ScO8FwrTUSUtlJktI4au6E8zg10/ormA/rGJZguy|2^31",
};

/* Parses s from an exact-size heap copy. */
static int
parse_n(const char *s, size_t len, struct sdes_crypto *c, char *err,
    size_t errlen)
{
	char	*copy;
	int	 rc;

	assert_non_null(copy = test_malloc(len > 0 ? len : 1));
	memcpy(copy, s, len);
	rc = sdes_parse(copy, len, c, err, errlen);
	test_free(copy);
	return rc;
}

static int
parse(const char *s, struct sdes_crypto *c)
{
	char	 err[128];

	return parse_n(s, strlen(s), c, err, sizeof(err));
}

static void
assert_zero(const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < n; i++)
		assert_int_equal(b[i], 0);
}

/* Fails with rc and a reason containing why; no key left in c. */
static void
rejects(const char *s, int rc, const char *why)
{
	struct sdes_crypto	 c;
	char			 err[128];

	memset(err, 'x', sizeof(err));
	if (parse_n(s, strlen(s), &c, err, sizeof(err)) != rc)
		fail_msg("\"%s\": expected %d (%s), got: %s", s, rc, why, err);
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\": expected \"%s\", got \"%s\"", s, why, err);
	assert_zero(c.key, sizeof(c.key));
	assert_int_equal(c.key_len, 0);
	assert_int_equal(c.lifetime, 0);
	assert_int_equal(c.mki_len, 0);
	if (rc == -1)
		assert_int_equal(c.suite, SDES_NSUITES);
}

static void
test_suite_table(void **state)
{
	static const struct {
		const char	*name;
		size_t		 key, salt, tag, rtcp_tag;
	} want[] = {
		/* rtpengine's order; RFC 7714 14.2, RFC 6188 3..5, RFC 4568 6.2 */
		{ "AEAD_AES_256_GCM", 32, 12, 16, 16 },
		{ "AEAD_AES_128_GCM", 16, 12, 16, 16 },
		{ "AES_256_CM_HMAC_SHA1_80", 32, 14, 10, 10 },
		{ "AES_256_CM_HMAC_SHA1_32", 32, 14, 4, 10 },
		{ "AES_192_CM_HMAC_SHA1_80", 24, 14, 10, 10 },
		{ "AES_192_CM_HMAC_SHA1_32", 24, 14, 4, 10 },
		{ "AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10 },
		{ "AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10 },
	};
	char	 lower[64];
	size_t	 i, j;

	(void)state;
	assert_int_equal(SDES_NSUITES, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < SDES_NSUITES; i++) {
		const struct sdes_suite_info	*si;

		assert_non_null(si = sdes_suite_info((enum sdes_suite)i));
		assert_string_equal(si->name, want[i].name);
		assert_string_equal(sdes_suite_name((enum sdes_suite)i),
		    want[i].name);
		assert_int_equal(si->key_len, want[i].key);
		assert_int_equal(si->salt_len, want[i].salt);
		assert_int_equal(si->srtp_tag_len, want[i].tag);
		assert_int_equal(si->srtcp_tag_len, want[i].rtcp_tag);
		assert_true(si->key_len + si->salt_len <= SDES_MAX_KEY_SALT);
		assert_int_equal(sdes_suite_by_name(want[i].name,
		    strlen(want[i].name)), (int)i);
		for (j = 0; want[i].name[j] != '\0'; j++)
			lower[j] = (char)tolower((unsigned char)want[i].name[j]);
		assert_int_equal(sdes_suite_by_name(lower, j), (int)i);
		assert_int_equal(sdes_suite_by_name(want[i].name, j - 1), -1);
		/* libsrtp2's own figures for the cipher key with salt */
		if (si->auth_type == SRTP_NULL_AUTH) {
			assert_int_equal(si->auth_key_len, 0);
			assert_int_equal(si->key_len + si->salt_len,
			    si->key_len == 16 ? SRTP_AES_GCM_128_KEY_LEN_WSALT :
			    SRTP_AES_GCM_256_KEY_LEN_WSALT);
		} else {
			assert_int_equal(si->auth_type, SRTP_HMAC_SHA1);
			assert_int_equal(si->auth_key_len, 20);
			assert_int_equal(si->key_len + si->salt_len,
			    si->key_len == 16 ? SRTP_AES_ICM_128_KEY_LEN_WSALT :
			    si->key_len == 24 ? SRTP_AES_ICM_192_KEY_LEN_WSALT :
			    SRTP_AES_ICM_256_KEY_LEN_WSALT);
		}
	}
	assert_int_equal(sdes_suite_info(SDES_AES_CM_128_HMAC_SHA1_80)->profile,
	    srtp_profile_aes128_cm_sha1_80);
	assert_int_equal(sdes_suite_info(SDES_AES_CM_128_HMAC_SHA1_32)->profile,
	    srtp_profile_aes128_cm_sha1_32);
	assert_int_equal(sdes_suite_info(SDES_AEAD_AES_128_GCM)->profile,
	    srtp_profile_aead_aes_128_gcm);
	assert_int_equal(sdes_suite_info(SDES_AEAD_AES_256_GCM)->profile,
	    srtp_profile_aead_aes_256_gcm);
	assert_int_equal(sdes_suite_info(SDES_AES_256_CM_HMAC_SHA1_80)->profile,
	    0x102);	/* relayd/srtp.h's SRTPX_PROFILE_AES256_CM_SHA1_80 */
	assert_int_equal(sdes_suite_info(SDES_AES_192_CM_HMAC_SHA1_32)->profile,
	    0x101);	/* SRTPX_PROFILE_AES192_CM_SHA1_32 */
	assert_int_equal(sdes_suite_info(SDES_AES_256_CM_HMAC_SHA1_80)->cipher_type,
	    SRTP_AES_ICM_256);
	assert_int_equal(sdes_suite_info(SDES_AES_192_CM_HMAC_SHA1_32)->cipher_type,
	    SRTP_AES_ICM_192);

	assert_null(sdes_suite_info(SDES_NSUITES));
	assert_null(sdes_suite_info((enum sdes_suite)-1));
	assert_null(sdes_suite_name(SDES_NSUITES));
	/* rtpengine offers these; libsrtp2 (F8) or we (NULL) do not */
	assert_int_equal(sdes_suite_by_name("F8_128_HMAC_SHA1_80", 19), -1);
	assert_int_equal(sdes_suite_by_name("NULL_HMAC_SHA1_32", 17), -1);
	assert_int_equal(sdes_suite_by_name("", 0), -1);
	assert_int_equal(sdes_suite_by_name("AES_CM_128_HMAC_SHA1_800", 24),
	    -1);
}

static void
test_rfc4568_examples(void **state)
{
	static const uint8_t offer_key[30] = {
		0x3d, 0x2d, 0x6e, 0x40, 0x25, 0x5e, 0x78, 0x21, 0x42, 0x6a,
		0x75, 0x66, 0x72, 0x39, 0x29, 0x3f, 0x2c, 0x23, 0x35, 0x68,
		0x5c, 0x60, 0x3d, 0x26, 0x5d, 0x7b, 0x71, 0x69, 0x50, 0x51 };
	struct sdes_crypto	 c;

	(void)state;
	/* section 4 */
	assert_int_equal(parse("1 " S80 " inline:" RFC_OFFER_KEY "|2^20|1:32",
	    &c), 0);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.suite, SDES_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(c.key_len, 30);
	assert_memory_equal(c.key, offer_key, 30);
	assert_zero(c.key + 30, sizeof(c.key) - 30);
	assert_int_equal(c.lifetime, 1 << 20);
	assert_int_equal(c.mki, 1);
	assert_int_equal(c.mki_len, 32);
	assert_int_equal(c.nkeys, 1);
	assert_int_equal(c.pad, 0);
	assert_int_equal(c.kdr, -1);
	assert_int_equal(c.wsh, 0);
	assert_int_equal(c.fec_order, SDES_FEC_NONE);
	assert_false(c.unencrypted_srtp || c.unencrypted_srtcp ||
	    c.unauthenticated_srtp || c.fec_key);

	assert_int_equal(parse("1 " S80 " inline:" RFC_ANSWER_KEY "|2^20|1:32",
	    &c), 0);
	assert_memory_equal(c.key, "wDfvg&T+)xG7@fb5jU,RaA}\\|p0%*#", 30);

	/* section 5.1's first line (FEC_ORDER), with the 1:4 MKI */
	assert_int_equal(parse("1 " S80 " inline:" RFC_OFFER_KEY
	    "|2^20|1:4 FEC_ORDER=FEC_SRTP", &c), 0);
	assert_int_equal(c.mki_len, 4);
	assert_int_equal(c.fec_order, SDES_FEC_SRTP);

	/* section 6.1: key with lifetime, key with MKI only */
	assert_int_equal(parse("1 " S80 " inline:" RFC_61_KEY "|2^20|1:4",
	    &c), 0);
	assert_memory_equal(c.key, "YS___semctl () {\t220;}\n}\nunles", 30);
	assert_int_equal(parse("1 " S80 " inline:" RFC_61_KEY2 "|1066:4", &c),
	    0);
	assert_memory_equal(c.key, "aBCdefghiJKLmoPQrsTuVwyz123456", 30);
	assert_int_equal(c.lifetime, 0);
	assert_int_equal(c.mki, 1066);
	assert_int_equal(c.mki_len, 4);

	/* section 5.1's second line: an F8 suite we do not have */
	assert_int_equal(parse("2 F8_128_HMAC_SHA1_80 inline:" RFC_F8_KEY1
	    "|2^20|1:4;inline:" RFC_F8_KEY2 "|2^20|2:4 FEC_ORDER=FEC_SRTP",
	    &c), SDES_UNKNOWN_SUITE);
	assert_int_equal(c.tag, 2);
	assert_int_equal(c.suite, SDES_NSUITES);
	/* the same two keys with a suite we have: the first is kept */
	assert_int_equal(parse("2 " S80 " inline:" RFC_F8_KEY1
	    "|2^20|1:4;inline:" RFC_F8_KEY2 "|2^20|2:4\t\tFEC_ORDER=FEC_SRTP",
	    &c), 0);
	assert_int_equal(c.nkeys, 2);
	assert_memory_equal(c.key, "123456789ABCDE0123456789ABcdef", 30);
	assert_int_equal(c.mki, 1);
	assert_int_equal(c.fec_order, SDES_FEC_SRTP);
	sdes_crypto_wipe(&c);
	assert_zero(&c, sizeof(c));
}

static void
test_rtpengine_lines(void **state)
{
	struct sdes_crypto	 c;
	struct buf		 b;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(rtpengine_lines) / sizeof(rtpengine_lines[0]);
	    i++) {
		const char	*l = rtpengine_lines[i];

		assert_int_equal(parse(l, &c), 0);
		assert_int_equal(c.pad, 0);
		assert_int_equal(c.lifetime, i < 8 ? 0 : 1ULL << 31);
		assert_int_equal(c.suite, i < 8 ? i : 6 + i - 8);
		/* format writes back exactly what rtpengine wrote */
		buf_init(&b);
		assert_int_equal(sdes_format(&b, &c), 0);
		assert_true(b.secret);
		assert_int_equal(b.len, 9 + strlen(l) + 2);
		assert_memory_equal(b.p, "a=crypto:", 9);
		assert_memory_equal(b.p + 9, l, strlen(l));
		assert_memory_equal(b.p + b.len - 2, "\r\n", 2);
		buf_wipe(&b);
	}
	/* rtpengine's F8 and NULL suites: tag kept, line to be skipped */
	assert_int_equal(parse("9 F8_128_HMAC_SHA1_80 inline:"
	    "Hx83JQk/ii3t2WefMKJos+PFPzJsMXVwp2sQNyX8", &c),
	    SDES_UNKNOWN_SUITE);
	assert_int_equal(c.tag, 9);
	assert_int_equal(parse("12 NULL_HMAC_SHA1_32 inline:"
	    "+/T/yGfHr7bxhDmDu9jQdg4zF3E2zCo7xDo8iiZ3", &c),
	    SDES_UNKNOWN_SUITE);
	assert_int_equal(c.tag, 12);
}

static void
test_base64(void **state)
{
	struct sdes_crypto	 c;

	(void)state;
	/* padding: optional, but exact when present */
	assert_int_equal(parse("2 AEAD_AES_128_GCM inline:"
	    "9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06lQ==", &c), 0);
	assert_int_equal(c.pad, 1);
	assert_int_equal(parse("1 AEAD_AES_256_GCM inline:TqVeVmsJdJxT/RaoP+"
	    "4ovlo1OUoOJhCguOX7zgXKDc7tluy6Tg5kSX2IBmA=|2^31", &c), 0);
	assert_int_equal(c.pad, 1);
	assert_int_equal(c.key_len, 44);
	rejects("2 AEAD_AES_128_GCM inline:"
	    "9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06lQ=", -1, "padding");
	rejects("2 AEAD_AES_128_GCM inline:"
	    "9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06lQ===", -1, "padding");
	rejects("1 " S80 " inline:" K30 "==", -1, "padding");
	rejects("1 " S80 " inline:" K30 "=", -1, "padding");
	rejects("1 AEAD_AES_128_GCM inline:" "==", -1, "length");
	rejects("2 AEAD_AES_128_GCM inline:"
	    "9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06l==A", -1, "base64");
	/* alphabet */
	rejects("1 " S80 " inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!",
	    -1, "base64");
	rejects("1 " S80 " inline:PS1uQCVeeCFCanVmcjkp-ywjNWhcYD0mXXtxaVBR",
	    -1, "base64");
	rejects("1 " S80 " inline:PS1uQCVeeCFCanVmcjkp=ywjNWhcYD0mXXtxaVBR",
	    -1, "base64");
	rejects("1 " S80 " inline:PS1uQCVeeCFCanVmcjkp_ywjNWhcYD0mXXtxaVBR",
	    -1, "base64");
	/* the unused low bits of the last character must be zero */
	rejects("2 AEAD_AES_128_GCM inline:"
	    "9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06lR", -1, "non-canonical");
	rejects("1 AEAD_AES_256_GCM inline:TqVeVmsJdJxT/RaoP+"
	    "4ovlo1OUoOJhCguOX7zgXKDc7tluy6Tg5kSX2IBmB", -1, "non-canonical");
	/* decoded length must be the suite's key + salt, exactly */
	rejects("1 " S80 " inline:" K30 "AAAA", -1, "length");
	rejects("1 " S80 " inline:" "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB",
	    -1, "length");
	rejects("1 AES_256_CM_HMAC_SHA1_80 inline:" K30, -1, "length");
	rejects("1 AEAD_AES_128_GCM inline:" K30, -1, "length");
	rejects("1 AES_CM_128_HMAC_SHA1_80 inline:"
	    "9ZpFfoYe4Hlonx5rIhZ3j233eDG0rABJLk06lQ", -1, "length");
	rejects("1 AES_CM_128_HMAC_SHA1_80 inline:"
	    "2CHjWYpuZoFdrGVyQ1pOlMeD1cV7mnKlK3Ub0EyO7KhJypI0hGGV9WNzn+wAyA",
	    -1, "length");
	rejects("1 " S80 " inline:" K30 K30, -1, "length");
}

static void
test_key_params(void **state)
{
	struct sdes_crypto	 c;
	char			 line[2048];
	size_t			 n, i;

	(void)state;
	/* lifetime: 2^n up to 2^48 or decimal up to 2^48 */
	assert_int_equal(parse("1 " S80 " inline:" K30 "|2^48", &c), 0);
	assert_int_equal(c.lifetime, 1ULL << 48);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|2^0", &c), 0);
	assert_int_equal(c.lifetime, 1);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|281474976710656",
	    &c), 0);
	assert_int_equal(c.lifetime, 1ULL << 48);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|1000", &c), 0);
	assert_int_equal(c.lifetime, 1000);
	rejects("1 " S80 " inline:" K30 "|2^49", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|2^99999999999999999999999", -1,
	    "lifetime");
	rejects("1 " S80 " inline:" K30 "|281474976710657", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|99999999999999999999999", -1,
	    "lifetime");
	rejects("1 " S80 " inline:" K30 "|0", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|2^", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|2^-1", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|3^4", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|2^20x", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|", -1, "key parameter");
	rejects("1 " S80 " inline:" K30 "|2^20|", -1, "key parameter");
	rejects("1 " S80 " inline:" K30 "||1:4", -1, "key parameter");

	/* MKI: value:length, length 1..128, value fits */
	assert_int_equal(parse("1 " S80 " inline:" K30 "|255:1", &c), 0);
	assert_int_equal(c.mki, 255);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|1:128", &c), 0);
	assert_int_equal(c.mki_len, 128);
	assert_int_equal(parse("1 " S80 " inline:" K30
	    "|2^31|18446744073709551615:8", &c), 0);
	assert_int_equal(c.mki, UINT64_MAX);
	assert_int_equal(c.lifetime, 1ULL << 31);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|4294967296:5", &c),
	    0);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|007:004", &c), 0);
	assert_int_equal(c.mki, 7);
	assert_int_equal(c.mki_len, 4);
	rejects("1 " S80 " inline:" K30 "|1:0", -1, "MKI length");
	rejects("1 " S80 " inline:" K30 "|1:129", -1, "MKI length");
	rejects("1 " S80 " inline:" K30 "|1:999", -1, "MKI length");
	rejects("1 " S80 " inline:" K30 "|1:0004", -1, "MKI");
	rejects("1 " S80 " inline:" K30 "|256:1", -1, "fit");
	rejects("1 " S80 " inline:" K30 "|4294967296:4", -1, "fit");
	rejects("1 " S80 " inline:" K30 "|18446744073709551616:8", -1, "MKI");
	rejects("1 " S80 " inline:" K30 "|:4", -1, "MKI");
	rejects("1 " S80 " inline:" K30 "|1:", -1, "MKI");
	rejects("1 " S80 " inline:" K30 "|1:4:4", -1, "MKI");
	rejects("1 " S80 " inline:" K30 "|2^20|1", -1, "MKI");
	rejects("1 " S80 " inline:" K30 "|2^20|1:4|7", -1, "key parameter");
	rejects("1 " S80 " inline:" K30 "|1:4|2^20", -1, "lifetime");
	rejects("1 " S80 " inline:" K30 "|0x10:4", -1, "MKI");

	/* key method */
	assert_int_equal(parse("1 " S80 " INLINE:" K30, &c), 0);
	rejects("1 " S80 " uri:http://example.com/key", SDES_UNSUPPORTED,
	    "key method");
	rejects("1 " S80 " inline", -1, "key parameter");
	rejects("1 " S80 " inline:", -1, "key parameter");
	rejects("1 " S80 " :" K30, -1, "key parameter");
	rejects("1 " S80 " in-line:" K30, -1, "key parameter");
	rejects("1 " S80 " " K30, -1, "key parameter");
	rejects("1 " S80 " inline=" K30, -1, "key parameter");
	rejects("1 " S80 " inline :" K30, -1, "key parameter");

	/* several keys: all valid, all with MKIs of one length, distinct */
	assert_int_equal(parse("1 " S80 " inline:" K30 "|1:4;inline:"
	    RFC_ANSWER_KEY "|2:4", &c), 0);
	assert_int_equal(c.nkeys, 2);
	assert_int_equal(c.mki, 1);
	rejects("1 " S80 " inline:" K30 ";inline:" RFC_ANSWER_KEY, -1,
	    "without MKI");
	rejects("1 " S80 " inline:" K30 "|1:4;inline:" RFC_ANSWER_KEY, -1,
	    "without MKI");
	rejects("1 " S80 " inline:" K30 ";inline:" RFC_ANSWER_KEY "|1:4", -1,
	    "without MKI");
	rejects("1 " S80 " inline:" K30 "|1:4;inline:" RFC_ANSWER_KEY "|2:2",
	    -1, "MKI lengths");
	rejects("1 " S80 " inline:" K30 "|1:4;inline:" RFC_ANSWER_KEY "|1:4",
	    -1, "duplicate MKI");
	rejects("1 " S80 " inline:" K30 "|1:4;", -1, "key parameter");
	rejects("1 " S80 " ;inline:" K30 "|1:4", -1, "key parameter");
	rejects("1 " S80 " inline:" K30 "|1:4;inline:" RFC_ANSWER_KEY "x|2:4",
	    -1, "length");
	rejects("1 " S80 " inline:" K30 "|1:4;uri:x|2:4", SDES_UNSUPPORTED,
	    "key method");
	/* SDES_MAX_KEYS keys pass, one more does not */
	n = (size_t)snprintf(line, sizeof(line), "1 " S80 " ");
	for (i = 0; i < SDES_MAX_KEYS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
		    "%sinline:" K30 "|%zu:1", i ? ";" : "", i);
	assert_int_equal(parse(line, &c), 0);
	assert_int_equal(c.nkeys, SDES_MAX_KEYS);
	snprintf(line + n, sizeof(line) - n, ";inline:" K30 "|99:1");
	rejects(line, -1, "too many keys");
}

static void
test_session_params(void **state)
{
	struct sdes_crypto	 c;

	(void)state;
	assert_int_equal(parse("1 " S80 " inline:" K30 " KDR=0 "
	    "UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP "
	    "FEC_ORDER=SRTP_FEC FEC_KEY=inline:" RFC_ANSWER_KEY "|2^20|1:4 "
	    "WSH=64", &c), 0);
	assert_int_equal(c.kdr, 0);
	assert_true(c.unencrypted_srtp && c.unencrypted_srtcp &&
	    c.unauthenticated_srtp && c.fec_key);
	assert_int_equal(c.fec_order, SDES_SRTP_FEC);
	assert_int_equal(c.wsh, 64);
	/* the FEC key is checked, never kept: the line's key is K30's */
	assert_memory_equal(c.key, "=-n@%^x!Bjufr9)?", 16);

	/* case-insensitive names, tabs, trailing whitespace */
	assert_int_equal(parse("1\t" S80 "\tinline:" K30 "\tkdr=24\t"
	    "unencrypted_srtp wsh=2147483647 \t ", &c), 0);
	assert_int_equal(c.kdr, 24);
	assert_int_equal(c.wsh, 0x7fffffff);
	assert_true(c.unencrypted_srtp);
	assert_false(c.unencrypted_srtcp);

	/* optional parameters ('-') are ignored and counted */
	assert_int_equal(parse("1 " S80 " inline:" K30 " -FOO -BAR=1 KDR=1",
	    &c), 0);
	assert_int_equal(c.nignored, 2);
	assert_int_equal(c.kdr, 1);

	/* unknown mandatory ones make the line unusable (6.3.7) */
	rejects("1 " S80 " inline:" K30 " FOO", SDES_UNSUPPORTED,
	    "unknown session parameter");
	rejects("1 " S80 " inline:" K30 " KDR=1 garbage", SDES_UNSUPPORTED,
	    "unknown session parameter");
	rejects("1 " S80 " inline:" K30 " UNENCRYPTED_SRTPX",
	    SDES_UNSUPPORTED, "unknown session parameter");
	rejects("1 " S80 " inline:" K30 " KDR", SDES_UNSUPPORTED,
	    "unknown session parameter");
	rejects("1 " S80 " inline:" K30 " -", -1,
	    "invalid session parameter");
	rejects("1 " S80 " inline:" K30 " \x01", -1,
	    "invalid session parameter");
	rejects("1 " S80 " inline:" K30 " KDR=1\x7f", -1,
	    "invalid session parameter");
	rejects("1 " S80 " inline:" K30 " \xc3\xa9", -1,
	    "invalid session parameter");
	/* values */
	rejects("1 " S80 " inline:" K30 " KDR=25", -1, "KDR");
	rejects("1 " S80 " inline:" K30 " KDR=05", -1, "KDR");
	rejects("1 " S80 " inline:" K30 " KDR=100", -1, "KDR");
	rejects("1 " S80 " inline:" K30 " KDR=", -1, "KDR");
	rejects("1 " S80 " inline:" K30 " KDR=-1", -1, "KDR");
	rejects("1 " S80 " inline:" K30 " WSH=63", -1, "WSH");
	rejects("1 " S80 " inline:" K30 " WSH=2147483648", -1, "WSH");
	rejects("1 " S80 " inline:" K30 " WSH=99999999999999999999999", -1,
	    "WSH");
	rejects("1 " S80 " inline:" K30 " WSH=", -1, "WSH");
	rejects("1 " S80 " inline:" K30 " FEC_ORDER=FEC", -1, "FEC_ORDER");
	rejects("1 " S80 " inline:" K30 " FEC_ORDER=", -1, "FEC_ORDER");
	rejects("1 " S80 " inline:" K30 " FEC_KEY=", -1, "key parameter");
	rejects("1 " S80 " inline:" K30 " FEC_KEY=inline:" K30 "AAAA", -1,
	    "length");
	rejects("1 " S80 " inline:" K30 " FEC_KEY=uri:x", SDES_UNSUPPORTED,
	    "key method");
	/* each known one at most once */
	rejects("1 " S80 " inline:" K30 " KDR=1 KDR=1", -1, "duplicate");
	rejects("1 " S80 " inline:" K30 " UNENCRYPTED_SRTP unencrypted_srtp",
	    -1, "duplicate");
	rejects("1 " S80 " inline:" K30 " WSH=64 WSH=128", -1, "duplicate");
}

static void
test_rejects(void **state)
{
	struct sdes_crypto	 c;
	char			 err[8];

	(void)state;
	/* tag: 1*9DIGIT, nothing before it */
	rejects("", -1, "tag");
	rejects(" 1 " S80 " inline:" K30, -1, "tag");
	rejects("\t1 " S80 " inline:" K30, -1, "tag");
	rejects("a " S80 " inline:" K30, -1, "tag");
	rejects("1a " S80 " inline:" K30, -1, "tag");
	rejects("-1 " S80 " inline:" K30, -1, "tag");
	rejects("+1 " S80 " inline:" K30, -1, "tag");
	rejects("1234567890 " S80 " inline:" K30, -1, "tag");
	assert_int_equal(parse("999999999 " S80 " inline:" K30, &c), 0);
	assert_int_equal(c.tag, 999999999);
	assert_int_equal(parse("0 " S80 " inline:" K30, &c), 0);
	assert_int_equal(c.tag, 0);
	/* suite */
	rejects("1", -1, "missing crypto suite");
	rejects("1 ", -1, "missing crypto suite");
	rejects("1 AES-CM-128 inline:" K30, -1, "invalid crypto suite");
	rejects("1 F8_128_HMAC_SHA1_32 inline:" K30, SDES_UNKNOWN_SUITE,
	    "unknown crypto suite");
	rejects("1 AES_CM_128_HMAC_SHA1_81 inline:" K30, SDES_UNKNOWN_SUITE,
	    "unknown crypto suite");
	rejects("1 AES_CM_128_HMAC_SHA1_80x", SDES_UNKNOWN_SUITE,
	    "unknown crypto suite");
	/* key-params */
	rejects("1 " S80, -1, "missing key parameters");
	rejects("1 " S80 " ", -1, "missing key parameters");
	rejects("1 " S80 " \t ", -1, "missing key parameters");
	/* NUL and control characters anywhere */
	assert_int_equal(parse_n("1 " S80 " inline:" K30 "\0",
	    sizeof("1 " S80 " inline:" K30 "\0") - 1, &c, NULL, 0), -1);
	assert_int_equal(parse_n("1\0" S80 " inline:" K30,
	    sizeof("1\0" S80 " inline:" K30) - 1, &c, NULL, 0), -1);
	rejects("1 " S80 " inline:" K30 "\r", -1, "base64");
	rejects("1 " S80 " inline:" K30 "\n", -1, "base64");
	/* NULL input, NULL or tiny error buffers */
	assert_int_equal(sdes_parse(NULL, 0, &c, NULL, 0), -1);
	assert_int_equal(sdes_parse(NULL, 5, &c, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(parse_n("x", 1, &c, err, 1), -1);
	assert_string_equal(err, "");
	/* a line that fails after its key decoded leaves no key behind */
	memset(&c, 0xa5, sizeof(c));
	rejects("1 " S80 " inline:" K30 "|2^20|1:4 KDR=99", -1, "KDR");
	/* no reason quotes the input */
	assert_int_equal(parse_n("1 " S80 " inline:" K30 " X",
	    sizeof("1 " S80 " inline:" K30 " X") - 1, &c, err, sizeof(err)),
	    SDES_UNSUPPORTED);
	assert_null(strstr(err, "PS1u"));
}

/* Every prefix of valid lines parses or is rejected, without reading past
 * its length; and every single-byte change of them too. */
static void
test_prefixes(void **state)
{
	static const char *const lines[] = {
		"1 " S80 " inline:" RFC_OFFER_KEY "|2^20|1:32",
		"12 AEAD_AES_256_GCM inline:TqVeVmsJdJxT/RaoP+4ovlo1OUoOJhCguOX7zgXKDc7tluy6Tg5kSX2IBmA=|281474976710656|18446744073709551615:8;inline:xBw2bLuI2P+Crn9EoxjxEwj03+sSYxaM31lUfTFZb42aP9drp5fZWPvtMbs|2^48|7:8 KDR=24 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP FEC_ORDER=FEC_SRTP FEC_KEY=inline:TqVeVmsJdJxT/RaoP+4ovlo1OUoOJhCguOX7zgXKDc7tluy6Tg5kSX2IBmA|1:1 WSH=128 -X",
		"2 AES_192_CM_HMAC_SHA1_32\tinline:Cm6ZivPw1ju4SUGAWjlzwnz4XK1BCXYgnAZyPWaxZZfzOwgt3Gk=\t",
	};
	struct sdes_crypto	 c;
	char			 err[128];
	size_t			 i, j;
	int			 rc;
	unsigned		 v;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t	 len = strlen(lines[i]);
		char	*m;

		assert_int_equal(parse(lines[i], &c), 0);
		for (j = 0; j <= len; j++) {
			rc = parse_n(lines[i], j, &c, err, sizeof(err));
			assert_true(rc >= -1 && rc <= SDES_UNSUPPORTED);
			if (rc != 0)
				assert_zero(c.key, sizeof(c.key));
		}
		assert_non_null(m = malloc(len));
		for (j = 0; j < len; j++)
			for (v = 0; v < 256; v += 7) {
				memcpy(m, lines[i], len);
				m[j] = (char)v;
				rc = parse_n(m, len, &c, err, sizeof(err));
				assert_true(rc >= -1 && rc <= SDES_UNSUPPORTED);
			}
		free(m);
	}
}

/* format -> parse gives the same attribute; format of that, the same
 * bytes. */
static void
roundtrip(const struct sdes_crypto *in)
{
	struct sdes_crypto	 out;
	struct buf		 b, b2;

	buf_init(&b);
	buf_init(&b2);
	assert_int_equal(sdes_format(&b, in), 0);
	assert_true(b.len > 11);
	assert_memory_equal(b.p, "a=crypto:", 9);
	assert_memory_equal(b.p + b.len - 2, "\r\n", 2);
	assert_null(memchr(b.p, '\n', b.len - 1));
	assert_int_equal(parse_n(b.p + 9, b.len - 11, &out, NULL, 0), 0);
	assert_int_equal(out.tag, in->tag);
	assert_int_equal(out.suite, in->suite);
	assert_int_equal(out.key_len, in->key_len);
	assert_memory_equal(out.key, in->key, sizeof(out.key));
	assert_int_equal(out.lifetime, in->lifetime);
	assert_int_equal(out.mki, in->mki);
	assert_int_equal(out.mki_len, in->mki_len);
	assert_int_equal(out.nkeys, 1);
	/* a key of a multiple of 3 bytes has no padding to tell */
	assert_int_equal(out.pad, in->key_len % 3 != 0 ? in->pad : 0);
	assert_int_equal(out.unencrypted_srtp, in->unencrypted_srtp);
	assert_int_equal(out.unencrypted_srtcp, in->unencrypted_srtcp);
	assert_int_equal(out.unauthenticated_srtp, in->unauthenticated_srtp);
	assert_int_equal(out.kdr, in->kdr);
	assert_int_equal(out.fec_order, in->fec_order);
	assert_int_equal(out.wsh, in->wsh);
	assert_int_equal(sdes_format(&b2, &out), 0);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.p, b.p, b.len);
	buf_wipe(&b);
	buf_wipe(&b2);
	sdes_crypto_wipe(&out);
}

static void
test_roundtrip(void **state)
{
	static const uint64_t	 lifetimes[] = { 0, 1, 2, 1000, 1ULL << 20,
	    (1ULL << 31), (1ULL << 48) - 1, 1ULL << 48 };
	struct sdes_crypto	 c;
	struct buf		 b;
	size_t			 i, k;

	(void)state;
	for (i = 0; i < SDES_NSUITES; i++)
		for (k = 0; k < 16; k++) {
			assert_int_equal(sdes_keygen(&c, (enum sdes_suite)i,
			    k == 15 ? SDES_MAX_TAG : (uint32_t)k), 0);
			c.pad = k & 1;
			c.lifetime = lifetimes[k % 8];
			if (k & 2) {
				c.mki_len = (unsigned)(1 + k * 8);
				c.mki = c.mki_len >= 8 ? UINT64_MAX : 1;
			}
			c.kdr = k & 4 ? (int)k : -1;
			c.unencrypted_srtp = (k >> 1) & 1;
			c.unencrypted_srtcp = (k >> 2) & 1;
			c.unauthenticated_srtp = (k >> 3) & 1;
			c.fec_order = (enum sdes_fec_order)(k % 3);
			c.wsh = k & 8 ? 64 + (uint32_t)k * 1000 : 0;
			roundtrip(&c);
		}

	/* the RFC's line comes back as it was */
	assert_int_equal(parse("1 " S80 " inline:" RFC_OFFER_KEY
	    "|2^20|1:32 FEC_ORDER=FEC_SRTP", &c), 0);
	buf_init(&b);
	assert_int_equal(sdes_format(&b, &c), 0);
	assert_string_equal(b.p, "a=crypto:1 " S80 " inline:" RFC_OFFER_KEY
	    "|2^20|1:32 FEC_ORDER=FEC_SRTP\r\n");
	/* canonical form: upper case, one space, 2^n, one key */
	buf_reset(&b);
	assert_int_equal(parse("7\taes_cm_128_hmac_sha1_80  inline:" K30
	    "|1048576|01:4;inline:" RFC_ANSWER_KEY "|2:4\twsh=64 -x kdr=3",
	    &c), 0);
	assert_int_equal(sdes_format(&b, &c), 0);
	assert_string_equal(b.p, "a=crypto:7 " S80 " inline:" K30
	    "|2^20|1:4 KDR=3 WSH=64\r\n");
	/* lines append; the buffer keeps what was there */
	for (i = 0; i < 100; i++)
		assert_int_equal(sdes_format(&b, &c), 0);
	assert_int_equal(b.len, 101 * strlen("a=crypto:7 " S80 " inline:" K30
	    "|2^20|1:4 KDR=3 WSH=64\r\n"));
	assert_memory_equal(b.p + b.len - 2, "\r\n", 2);
	buf_wipe(&b);
	assert_null(b.p);

	/* what format refuses */
	assert_int_equal(sdes_keygen(&c, SDES_AES_CM_128_HMAC_SHA1_80, 1), 0);
	buf_init(&b);
	c.suite = SDES_NSUITES;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.suite = SDES_AES_CM_128_HMAC_SHA1_80;
	c.tag = SDES_MAX_TAG + 1;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.tag = 1;
	c.key_len = 16;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.key_len = 30;
	c.lifetime = SDES_MAX_LIFETIME + 1;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.lifetime = 0;
	c.mki_len = 1;
	c.mki = 256;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.mki_len = SDES_MAX_MKI_LEN + 1;
	c.mki = 1;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.mki_len = 0;
	c.kdr = 25;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.kdr = -2;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.kdr = -1;
	c.wsh = 63;
	assert_int_equal(sdes_format(&b, &c), -1);
	c.wsh = 0;
	c.fec_order = (enum sdes_fec_order)3;
	assert_int_equal(sdes_format(&b, &c), -1);
	assert_int_equal(b.len, 0);
	c.fec_order = SDES_FEC_NONE;
	assert_int_equal(sdes_format(&b, &c), 0);
	buf_wipe(&b);
	sdes_crypto_wipe(&c);
}

static void
test_keygen(void **state)
{
	struct sdes_crypto	 a, b;
	size_t			 i;

	(void)state;
	for (i = 0; i < SDES_NSUITES; i++) {
		const struct sdes_suite_info	*si = sdes_suite_info(
					    (enum sdes_suite)i);
		size_t				 kl = si->key_len + si->salt_len;

		assert_int_equal(sdes_keygen(&a, (enum sdes_suite)i,
		    (uint32_t)i + 1), 0);
		assert_int_equal(sdes_keygen(&b, (enum sdes_suite)i,
		    (uint32_t)i + 1), 0);
		assert_int_equal(a.key_len, kl);
		assert_int_equal(a.tag, i + 1);
		assert_int_equal(a.suite, i);
		assert_int_equal(a.nkeys, 1);
		assert_int_equal(a.kdr, -1);
		assert_int_equal(a.lifetime, 0);
		assert_int_equal(a.mki_len, 0);
		/* 2^-(8*28) odds of a false failure */
		assert_memory_not_equal(a.key, b.key, kl);
		assert_zero(a.key + kl, sizeof(a.key) - kl);
		assert_zero(b.key + kl, sizeof(b.key) - kl);
		sdes_crypto_wipe(&a);
		assert_zero(&a, sizeof(a));
		sdes_crypto_wipe(&b);
	}
	assert_int_equal(sdes_keygen(&a, SDES_NSUITES, 1), -1);
	assert_zero(a.key, sizeof(a.key));
	assert_int_equal(sdes_keygen(&a, SDES_AEAD_AES_256_GCM,
	    SDES_MAX_TAG + 1), -1);
	assert_zero(a.key, sizeof(a.key));
	assert_int_equal(sdes_keygen(&a, SDES_AEAD_AES_256_GCM, SDES_MAX_TAG),
	    0);
	sdes_crypto_wipe(&a);
}

static void
test_mki_bytes(void **state)
{
	struct sdes_crypto	 c;
	uint8_t			 out[SDES_MAX_MKI_LEN];
	uint8_t			 want[32] = { 0 };

	(void)state;
	assert_int_equal(parse("1 " S80 " inline:" K30, &c), 0);
	assert_int_equal(sdes_mki_bytes(&c, out, 0), 0);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|2^20|1:32", &c), 0);
	assert_int_equal(sdes_mki_bytes(&c, out, sizeof(out)), 32);
	want[31] = 1;
	assert_memory_equal(out, want, 32);
	assert_int_equal(sdes_mki_bytes(&c, out, 31), -1);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|258:2", &c), 0);
	assert_int_equal(sdes_mki_bytes(&c, out, 2), 2);
	assert_memory_equal(out, "\x01\x02", 2);
	assert_int_equal(parse("1 " S80 " inline:" K30
	    "|1234605616436508552:9", &c), 0);
	assert_int_equal(sdes_mki_bytes(&c, out, sizeof(out)), 9);
	assert_memory_equal(out, "\x00\x11\x22\x33\x44\x55\x66\x77\x88", 9);
	assert_int_equal(parse("1 " S80 " inline:" K30 "|1066:4", &c), 0);
	assert_int_equal(sdes_mki_bytes(&c, out, 4), 4);
	assert_memory_equal(out, "\x00\x00\x04\x2a", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_table),
		cmocka_unit_test(test_rfc4568_examples),
		cmocka_unit_test(test_rtpengine_lines),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_key_params),
		cmocka_unit_test(test_session_params),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_mki_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
