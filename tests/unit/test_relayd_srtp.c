/*
 * relayd/srtp: libsrtp2 transforms per leg direction (RFC 3711): round
 * trips for every suite, authentication and replay failures, wrong keys,
 * the rollover counter carried across a rekey (RFC 3711 3.3.1), and the
 * RFC 4568 6.3 session parameters against libsrtp2 itself as the peer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <srtp2/crypto_types.h>

#include "relayd/srtp.h"

#define SSRC	0x11223344u

static void
mkkey(struct srtpx_key *k, srtp_profile_t p, uint8_t seed)
{
	size_t	 i;

	memset(k, 0, sizeof(*k));
	k->profile = p;
	k->len = srtpx_key_len(p);
	for (i = 0; i < k->len; i++)
		k->key[i] = (uint8_t)(seed + i * 7);
}

/* A 12-byte RTP header + 160 bytes payload; returns the length. */
static int
mkrtp(uint8_t *b, uint16_t seq, uint32_t ssrc)
{
	int	 i;

	b[0] = 0x80;
	b[1] = 0;		/* PCMU */
	b[2] = seq >> 8;
	b[3] = seq & 0xff;
	b[4] = b[5] = b[6] = 0;
	b[7] = 160;
	b[8] = ssrc >> 24;
	b[9] = ssrc >> 16;
	b[10] = ssrc >> 8;
	b[11] = ssrc & 0xff;
	for (i = 0; i < 160; i++)
		b[12 + i] = (uint8_t)(i ^ seq);
	return 172;
}

static int	mkrtcp(uint8_t *);

static int
setup(void **state)
{
	(void)state;
	return srtpx_init();
}

static void
test_roundtrip_every_suite(void **state)
{
	static const srtp_profile_t profiles[] = {
	    srtp_profile_aes128_cm_sha1_80, srtp_profile_aes128_cm_sha1_32,
	    srtp_profile_aead_aes_128_gcm, srtp_profile_aead_aes_256_gcm };
	struct srtpx_key k;
	struct srtpx	*out, *in;
	uint8_t		 pkt[172 + SRTPX_OVERHEAD], orig[172];
	char		 err[128];
	int		 len, i;
	size_t		 p;

	(void)state;
	for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
		mkkey(&k, profiles[p], (uint8_t)p);
		out = srtpx_new(&k, 0, err, sizeof(err));
		in = srtpx_new(&k, 1, err, sizeof(err));
		assert_non_null(out);
		assert_non_null(in);
		for (i = 0; i < 50; i++) {
			len = mkrtp(pkt, (uint16_t)(1000 + i), SSRC);
			memcpy(orig, pkt, sizeof(orig));
			assert_int_equal(srtpx_protect(out, pkt, &len, 0),
			    srtp_err_status_ok);
			assert_true(len > 172);
			assert_memory_not_equal(pkt + 12, orig + 12, 160);
			assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
			    srtp_err_status_ok);
			assert_int_equal(len, 172);
			assert_memory_equal(pkt, orig, 172);
		}
		srtpx_destroy(&out);
		srtpx_destroy(&in);
		assert_null(out);
	}
}

static void
test_auth_replay_wrong_key(void **state)
{
	struct srtpx_key k, bad;
	struct srtpx	*out, *in, *wrong;
	uint8_t		 pkt[172 + SRTPX_OVERHEAD], copy[sizeof(pkt)];
	char		 err[128];
	int		 len, clen;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 1);
	mkkey(&bad, srtp_profile_aes128_cm_sha1_80, 2);
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k, 1, err, sizeof(err)));
	assert_non_null(wrong = srtpx_new(&bad, 1, err, sizeof(err)));

	len = mkrtp(pkt, 7, SSRC);
	assert_int_equal(srtpx_protect(out, pkt, &len, 0), srtp_err_status_ok);
	memcpy(copy, pkt, sizeof(pkt));
	clen = len;
	/* the wrong key never authenticates */
	assert_int_equal(srtpx_unprotect(wrong, copy, &clen, 0),
	    srtp_err_status_auth_fail);
	/* a flipped payload bit is an auth failure */
	memcpy(copy, pkt, sizeof(pkt));
	clen = len;
	copy[40] ^= 1;
	assert_int_equal(srtpx_unprotect(in, copy, &clen, 0),
	    srtp_err_status_auth_fail);
	/* the genuine packet passes once, then is a replay */
	memcpy(copy, pkt, sizeof(pkt));
	clen = len;
	assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
	    srtp_err_status_ok);
	assert_int_equal(srtpx_unprotect(in, copy, &clen, 0),
	    srtp_err_status_replay_fail);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
	srtpx_destroy(&wrong);
}

static void
test_bad_key_length(void **state)
{
	struct srtpx_key k;
	char		 err[128] = "";

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 1);
	k.len--;
	assert_null(srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "key length"));
}

static void
test_rtcp_roundtrip(void **state)
{
	struct srtpx_key k;
	struct srtpx	*out, *in;
	uint8_t		 pkt[64 + SRTPX_OVERHEAD], orig[28];
	char		 err[128];
	int		 len = 28;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 3);
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k, 1, err, sizeof(err)));
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 200;		/* SR */
	pkt[3] = 6;
	pkt[4] = 0x11; pkt[5] = 0x22; pkt[6] = 0x33; pkt[7] = 0x44;
	memcpy(orig, pkt, sizeof(orig));
	assert_int_equal(srtpx_protect(out, pkt, &len, 1), srtp_err_status_ok);
	assert_true(len > 28);
	assert_int_equal(srtpx_unprotect(in, pkt, &len, 1),
	    srtp_err_status_ok);
	assert_int_equal(len, 28);
	assert_memory_equal(pkt, orig, 28);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
}

/* Sends seq 65500..65535, 0..99 (a wrap: ROC 1), rekeys both ends, and
 * checks the next packets still pass; a receiver that starts the new key
 * at ROC 0 must fail them, which shows the ROC entered the crypto. */
static void
test_roc_survives_rekey(void **state)
{
	struct srtpx_key k1, k2;
	struct srtpx	*out, *in, *fresh;
	uint8_t		 pkt[172 + SRTPX_OVERHEAD], copy[sizeof(pkt)];
	char		 err[128];
	uint32_t	 n;
	uint16_t	 seq = 65500;
	int		 len, clen;

	(void)state;
	mkkey(&k1, srtp_profile_aes128_cm_sha1_80, 10);
	mkkey(&k2, srtp_profile_aes128_cm_sha1_80, 20);
	assert_non_null(out = srtpx_new(&k1, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k1, 1, err, sizeof(err)));
	for (n = 0; n < 136; n++, seq++) {
		len = mkrtp(pkt, seq, SSRC);
		assert_int_equal(srtpx_protect(out, pkt, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
		    srtp_err_status_ok);
	}
	assert_int_equal(srtpx_roc(out, SSRC), 1);
	assert_int_equal(srtpx_roc(in, SSRC), 1);

	assert_int_equal(srtpx_rekey(out, &k2, err, sizeof(err)), 0);
	assert_int_equal(srtpx_rekey(in, &k2, err, sizeof(err)), 0);
	assert_non_null(fresh = srtpx_new(&k2, 1, err, sizeof(err)));
	for (n = 0; n < 20; n++, seq++) {
		len = mkrtp(pkt, seq, SSRC);
		assert_int_equal(srtpx_protect(out, pkt, &len, 0),
		    srtp_err_status_ok);
		memcpy(copy, pkt, sizeof(pkt));
		clen = len;
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(fresh, copy, &clen, 0),
		    srtp_err_status_auth_fail);
	}
	assert_int_equal(srtpx_roc(out, SSRC), 1);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
	srtpx_destroy(&fresh);
}

/*
 * A restarted relayd (persist.c) rebuilds its transforms from the saved
 * (SSRC, ROC, seq): past a wrap, both directions carry on with ROC 1,
 * where a fresh transform fails; a state saved a quarter cycle before
 * the wrap still gives the right ROC (the nearest index).
 */
static void
test_roc_survives_restart(void **state)
{
	struct srtpx_key	 k;
	struct srtpx		*out, *in, *out2, *in2, *in3, *fresh;
	struct srtpx_roc	 ri[SRTPX_MAX_SSRC], ro[SRTPX_MAX_SSRC], old;
	uint8_t			 pkt[172 + SRTPX_OVERHEAD], c1[sizeof(pkt)];
	uint8_t			 c2[sizeof(pkt)], c3[sizeof(pkt)];
	char			 err[128];
	size_t			 ni, no;
	uint32_t		 n;
	uint16_t		 seq = 65500;
	int			 len, l1, l2, l3, dirty = 0;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 30);
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k, 1, err, sizeof(err)));
	for (n = 0; n < 136; n++, seq++) {
		len = mkrtp(pkt, seq, SSRC);
		assert_int_equal(srtpx_protect(out, pkt, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
		    srtp_err_status_ok);
		dirty |= srtpx_dirty(in);
	}
	/* the wrap put the seq in another quarter: time to save */
	assert_true(dirty);
	assert_int_equal(ni = srtpx_state(in, ri), 1);
	assert_int_equal(no = srtpx_state(out, ro), 1);
	assert_int_equal(ri[0].ssrc, SSRC);
	assert_int_equal(ri[0].roc, 1);
	assert_int_equal(ri[0].seq, (uint16_t)(seq - 1));
	assert_int_equal(ro[0].roc, 1);

	assert_non_null(in2 = srtpx_restore(&k, 1, ri, ni, err, sizeof(err)));
	assert_non_null(out2 = srtpx_restore(&k, 0, ro, no, err,
	    sizeof(err)));
	old.ssrc = SSRC;
	old.roc = 0;
	old.seq = 0xf000;
	old.rtcp = 0;
	assert_non_null(in3 = srtpx_restore(&k, 1, &old, 1, err, sizeof(err)));
	assert_non_null(fresh = srtpx_new(&k, 1, err, sizeof(err)));
	/* before any packet, the saved state is what would be saved again */
	assert_int_equal(srtpx_state(in2, ri), 1);
	assert_int_equal(ri[0].roc, 1);
	for (n = 0; n < 20; n++, seq++) {
		/* the restarted relay protects what it relays on ... */
		len = mkrtp(pkt, seq, SSRC);
		assert_int_equal(srtpx_protect(out2, pkt, &len, 0),
		    srtp_err_status_ok);
		memcpy(c1, pkt, sizeof(pkt));
		memcpy(c2, pkt, sizeof(pkt));
		memcpy(c3, pkt, sizeof(pkt));
		l1 = l2 = l3 = len;
		/* ... to a receiver that never restarted */
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
		    srtp_err_status_ok);
		/* and unprotects what the endpoint goes on sending */
		assert_int_equal(srtpx_unprotect(in2, c1, &l1, 0),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(in3, c2, &l2, 0),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(fresh, c3, &l3, 0),
		    srtp_err_status_auth_fail);
	}
	assert_int_equal(srtpx_roc(in2, SSRC), 1);
	assert_int_equal(srtpx_roc(in3, SSRC), 1);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
	srtpx_destroy(&out2);
	srtpx_destroy(&in2);
	srtpx_destroy(&in3);
	srtpx_destroy(&fresh);
}

/*
 * The SRTCP index of a restored outbound session goes on past the saved
 * one: a receiver that never restarted accepts the next report (index
 * reuse would also reuse keystream, RFC 3711 3.4), where a fresh session
 * starting again at index 1 is refused as a replay.
 */
static void
test_rtcp_index_survives_restart(void **state)
{
	struct srtpx_key	 k;
	struct srtpx		*out, *in, *out2, *fresh;
	struct srtpx_roc	 st[SRTPX_MAX_SSRC];
	uint8_t			 pkt[64 + SRTPX_OVERHEAD];
	char			 err[128];
	srtp_err_status_t	 rc;
	size_t			 n;
	int			 i, len, dirty = 0;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 7);
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k, 1, err, sizeof(err)));
	for (i = 0; i < 70; i++) {
		len = mkrtcp(pkt);
		assert_int_equal(srtpx_protect(out, pkt, &len, 1),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 1),
		    srtp_err_status_ok);
		dirty |= srtpx_dirty(out);
	}
	assert_true(dirty);	/* saved at the 64th */
	assert_int_equal(n = srtpx_state(out, st), 1);
	assert_int_equal(st[0].ssrc, 0x11223344u);
	assert_int_equal(st[0].rtcp, 70);
	/* the state saved at the 64th packet is what a crash leaves */
	st[0].rtcp = 64;
	assert_non_null(out2 = srtpx_restore(&k, 0, st, n, err, sizeof(err)));
	assert_non_null(fresh = srtpx_new(&k, 0, err, sizeof(err)));
	len = mkrtcp(pkt);
	assert_int_equal(srtpx_protect(fresh, pkt, &len, 1),
	    srtp_err_status_ok);
	rc = srtpx_unprotect(in, pkt, &len, 1);
	assert_true(rc == srtp_err_status_replay_fail ||
	    rc == srtp_err_status_replay_old);
	for (i = 0; i < 3; i++) {
		len = mkrtcp(pkt);
		assert_int_equal(srtpx_protect(out2, pkt, &len, 1),
		    srtp_err_status_ok);
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 1),
		    srtp_err_status_ok);
	}
	assert_int_equal(srtpx_state(out2, st), 1);
	assert_int_equal(st[0].rtcp, 64 + SRTPX_RTCP_MARGIN + 3);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
	srtpx_destroy(&out2);
	srtpx_destroy(&fresh);
}

/* A libsrtp2 session as the peer: AES_CM_128_HMAC_SHA1_80 with the
 * given services. */
static srtp_t
peer_new(const struct srtpx_key *k, int inbound, srtp_sec_serv_t rtp,
    srtp_sec_serv_t rtcp)
{
	srtp_policy_t	 pol;
	srtp_t		 s;

	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_rtp_default(&pol.rtp);
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	pol.rtp.sec_serv = rtp;
	if (!(rtp & sec_serv_auth)) {
		pol.rtp.auth_type = SRTP_NULL_AUTH;
		pol.rtp.auth_key_len = 0;
		pol.rtp.auth_tag_len = 0;
	}
	pol.rtcp.sec_serv = rtcp;
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = (unsigned char *)k->key;
	pol.window_size = 1024;
	assert_int_equal(srtp_create(&s, &pol), srtp_err_status_ok);
	return s;
}

static int
mkrtcp(uint8_t *b)
{
	int	 i;

	memset(b, 0, 28);
	b[0] = 0x80;
	b[1] = 200;		/* SR */
	b[3] = 6;
	b[4] = 0x11; b[5] = 0x22; b[6] = 0x33; b[7] = 0x44;
	for (i = 8; i < 28; i++)
		b[i] = (uint8_t)(i * 3);
	return 28;
}

/* UNENCRYPTED_SRTP + UNENCRYPTED_SRTCP: the payload goes in clear but
 * carries the tag; the peer (sec_serv_auth) accepts it and refuses a
 * tampered one.  SRTCP: E flag clear, still authenticated. */
static void
test_unencrypted(void **state)
{
	struct srtpx_key k;
	struct srtpx	*out, *in;
	srtp_t		 peer_in, peer_out;
	uint8_t		 pkt[172 + SRTPX_OVERHEAD], orig[172];
	char		 err[128];
	int		 len, i;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 40);
	k.unencrypted_srtp = k.unencrypted_srtcp = 1;
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k, 1, err, sizeof(err)));
	peer_in = peer_new(&k, 1, sec_serv_auth, sec_serv_auth);
	peer_out = peer_new(&k, 0, sec_serv_auth, sec_serv_auth);
	for (i = 0; i < 10; i++) {
		len = mkrtp(pkt, (uint16_t)(500 + i), SSRC);
		memcpy(orig, pkt, sizeof(orig));
		assert_int_equal(srtpx_protect(out, pkt, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(len, 172 + 10);
		assert_memory_equal(pkt, orig, 172);	/* in clear */
		if (i == 5) {
			pkt[20] ^= 1;
			assert_int_equal(srtp_unprotect(peer_in, pkt, &len),
			    srtp_err_status_auth_fail);
			continue;
		}
		assert_int_equal(srtp_unprotect(peer_in, pkt, &len),
		    srtp_err_status_ok);
		assert_int_equal(len, 172);
		assert_memory_equal(pkt, orig, 172);
		/* and the other way */
		len = mkrtp(pkt, (uint16_t)(900 + i), SSRC + 1);
		memcpy(orig, pkt, sizeof(orig));
		assert_int_equal(srtp_protect(peer_out, pkt, &len),
		    srtp_err_status_ok);
		assert_memory_equal(pkt, orig, 172);
		assert_int_equal(srtpx_unprotect(in, pkt, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(len, 172);
		assert_memory_equal(pkt, orig, 172);
	}
	len = mkrtcp(pkt);
	memcpy(orig, pkt, 28);
	assert_int_equal(srtpx_protect(out, pkt, &len, 1), srtp_err_status_ok);
	assert_int_equal(len, 28 + 4 + 10);
	assert_memory_equal(pkt, orig, 28);
	assert_int_equal(pkt[28] & 0x80, 0);		/* E flag */
	assert_int_equal(srtp_unprotect_rtcp(peer_in, pkt, &len),
	    srtp_err_status_ok);
	assert_int_equal(len, 28);
	assert_memory_equal(pkt, orig, 28);
	srtpx_destroy(&out);
	srtpx_destroy(&in);
	srtp_dealloc(peer_in);
	srtp_dealloc(peer_out);
}

/* UNAUTHENTICATED_SRTP: encrypted, no tag on SRTP; SRTCP keeps its tag
 * (RFC 4568 6.3.3). */
static void
test_unauthenticated(void **state)
{
	struct srtpx_key k;
	struct srtpx	*out;
	srtp_t		 peer;
	uint8_t		 pkt[172 + SRTPX_OVERHEAD], orig[172];
	char		 err[128];
	int		 len;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 50);
	k.unauthenticated_srtp = 1;
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	peer = peer_new(&k, 1, sec_serv_conf, sec_serv_conf_and_auth);
	len = mkrtp(pkt, 7, SSRC);
	memcpy(orig, pkt, sizeof(orig));
	assert_int_equal(srtpx_protect(out, pkt, &len, 0), srtp_err_status_ok);
	assert_int_equal(len, 172);			/* no tag */
	assert_memory_not_equal(pkt + 12, orig + 12, 160);
	assert_int_equal(srtp_unprotect(peer, pkt, &len), srtp_err_status_ok);
	assert_memory_equal(pkt, orig, 172);
	len = mkrtcp(pkt);
	memcpy(orig, pkt, 28);
	assert_int_equal(srtpx_protect(out, pkt, &len, 1), srtp_err_status_ok);
	assert_int_equal(len, 28 + 4 + 10);
	assert_int_equal(pkt[28] & 0x80, 0x80);
	assert_int_equal(srtp_unprotect_rtcp(peer, pkt, &len),
	    srtp_err_status_ok);
	assert_memory_equal(pkt, orig, 28);
	srtpx_destroy(&out);
	srtp_dealloc(peer);
}

/* A change of session parameters is a rekey; AEAD suites refuse them. */
static void
test_params_rekey_and_aead(void **state)
{
	struct srtpx_key k;
	struct srtpx	*out;
	uint8_t		 pkt[172 + SRTPX_OVERHEAD], orig[172];
	char		 err[128];
	int		 len;

	(void)state;
	mkkey(&k, srtp_profile_aes128_cm_sha1_80, 60);
	assert_non_null(out = srtpx_new(&k, 0, err, sizeof(err)));
	len = mkrtp(pkt, 1, SSRC);
	memcpy(orig, pkt, sizeof(orig));
	assert_int_equal(srtpx_protect(out, pkt, &len, 0), srtp_err_status_ok);
	assert_memory_not_equal(pkt + 12, orig + 12, 160);
	k.unencrypted_srtp = 1;
	assert_int_equal(srtpx_rekey(out, &k, err, sizeof(err)), 0);
	len = mkrtp(pkt, 2, SSRC);
	memcpy(orig, pkt, sizeof(orig));
	assert_int_equal(srtpx_protect(out, pkt, &len, 0), srtp_err_status_ok);
	assert_memory_equal(pkt, orig, 172);
	srtpx_destroy(&out);

	mkkey(&k, srtp_profile_aead_aes_128_gcm, 70);
	k.unencrypted_srtcp = 1;
	assert_null(srtpx_new(&k, 0, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_suite),
		cmocka_unit_test(test_auth_replay_wrong_key),
		cmocka_unit_test(test_bad_key_length),
		cmocka_unit_test(test_rtcp_roundtrip),
		cmocka_unit_test(test_roc_survives_rekey),
		cmocka_unit_test(test_roc_survives_restart),
		cmocka_unit_test(test_rtcp_index_survives_restart),
		cmocka_unit_test(test_unencrypted),
		cmocka_unit_test(test_unauthenticated),
		cmocka_unit_test(test_params_rekey_and_aead),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
