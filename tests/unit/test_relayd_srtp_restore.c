/*
 * relayd/srtp after a restart (srtpx_restore): the first packet of a
 * restored SSRC fixes its ROC only if it authenticates, so a forged or
 * stray packet cannot break the stream; a rekey before the SSRC is heard
 * keeps the saved ROC, not libsrtp2's (pending, unreadable) one; the
 * ROC may also go back to 0 from a state saved just after a wrap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <srtp2/crypto_types.h>

#include "relayd/srtp.h"

#define SSRC	0x55667788u

static void
mkkey(struct srtpx_key *k, uint8_t seed)
{
	size_t	 i;

	memset(k, 0, sizeof(*k));
	k->profile = srtp_profile_aes128_cm_sha1_80;
	k->len = srtpx_key_len(k->profile);
	for (i = 0; i < k->len; i++)
		k->key[i] = (uint8_t)(seed + i * 5);
}

static int
mkrtp(uint8_t *b, uint16_t seq)
{
	int	 i;

	b[0] = 0x80;
	b[1] = 0;
	b[2] = seq >> 8;
	b[3] = seq & 0xff;
	b[4] = b[5] = b[6] = 0;
	b[7] = 160;
	b[8] = SSRC >> 24;
	b[9] = SSRC >> 16 & 0xff;
	b[10] = SSRC >> 8 & 0xff;
	b[11] = SSRC & 0xff;
	for (i = 0; i < 160; i++)
		b[12 + i] = (uint8_t)(i ^ seq);
	return 172;
}

static int
setup(void **state)
{
	(void)state;
	return srtpx_init();
}

/* A sender at ROC roc from seq: n packets, protected by out, into in. */
static void
run(struct srtpx *out, struct srtpx *in, uint16_t *seq, int n,
    srtp_err_status_t want)
{
	uint8_t	 pkt[172 + SRTPX_OVERHEAD];
	int	 len;

	for (; n > 0; n--, (*seq)++) {
		len = mkrtp(pkt, *seq);
		assert_int_equal(srtpx_protect(out, pkt, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 0), want);
	}
}

/* The sender's transform at ROC 1, seq: a restored outbound one. */
static struct srtpx *
sender(const struct srtpx_key *k, uint32_t roc, uint16_t seq)
{
	struct srtpx_roc	 r = { SSRC, roc, seq, 0 };
	char			 err[128];
	struct srtpx		*x;

	assert_non_null(x = srtpx_restore(k, 0, &r, 1, err, sizeof(err)));
	return x;
}

static void
test_forged_first_packet(void **state)
{
	struct srtpx_key	 k, bad;
	struct srtpx		*out, *forger, *in;
	struct srtpx_roc	 r = { SSRC, 1, 100, 0 };
	uint8_t			 pkt[172 + SRTPX_OVERHEAD];
	char			 err[128];
	uint16_t		 seq = 120, fseq = 100 + 40000;
	int			 len;

	(void)state;
	mkkey(&k, 1);
	mkkey(&bad, 99);
	out = sender(&k, 1, 110);
	assert_non_null(forger = srtpx_new(&bad, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_restore(&k, 1, &r, 1, err, sizeof(err)));
	/* a packet with the stream's SSRC, a seq that would pick ROC 0,
	 * and no valid tag */
	len = mkrtp(pkt, fseq);
	assert_int_equal(srtpx_protect(forger, pkt, &len, 0),
	    srtp_err_status_ok);
	assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
	    srtp_err_status_auth_fail);
	/* the real stream still authenticates at ROC 1 */
	run(out, in, &seq, 10, srtp_err_status_ok);
	assert_int_equal(srtpx_roc(in, SSRC), 1);
	srtpx_destroy(&out);
	srtpx_destroy(&forger);
	srtpx_destroy(&in);
}

static void
test_rekey_before_first_packet(void **state)
{
	struct srtpx_key	 k1, k2;
	struct srtpx		*out, *in;
	struct srtpx_roc	 r = { SSRC, 3, 5000, 0 }, st[SRTPX_MAX_SSRC];
	char			 err[128];
	uint16_t		 seq = 5010;

	(void)state;
	mkkey(&k1, 1);
	mkkey(&k2, 2);
	out = sender(&k2, 3, 5005);
	assert_non_null(in = srtpx_restore(&k1, 1, &r, 1, err, sizeof(err)));
	assert_int_equal(srtpx_rekey(in, &k2, err, sizeof(err)), 0);
	assert_int_equal(srtpx_state(in, st), 1);
	assert_int_equal(st[0].roc, 3);
	run(out, in, &seq, 10, srtp_err_status_ok);
	assert_int_equal(srtpx_roc(in, SSRC), 3);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
}

/* Saved at ROC 1 seq 10 (just after a wrap), resumed by a packet of ROC
 * 0 seq 65530 (reordered from before the wrap): the nearest index. */
static void
test_back_to_roc_zero(void **state)
{
	struct srtpx_key	 k;
	struct srtpx		*out, *in;
	struct srtpx_roc	 r = { SSRC, 1, 10, 0 };
	char			 err[128];
	uint16_t		 seq = 65530;

	(void)state;
	mkkey(&k, 3);
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_restore(&k, 1, &r, 1, err, sizeof(err)));
	run(out, in, &seq, 20, srtp_err_status_ok);	/* wraps */
	assert_int_equal(srtpx_roc(in, SSRC), 1);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forged_first_packet),
		cmocka_unit_test(test_rekey_before_first_packet),
		cmocka_unit_test(test_back_to_roc_zero),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
