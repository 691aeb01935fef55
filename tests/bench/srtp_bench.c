/*
 * srtp_bench: the cost of the libsrtp2 this build links (make bench-srtp;
 * SRTP=system make bench-srtp for Debian's NSS build).
 *
 * Prints wall-clock microseconds per srtp_create (one outbound stream,
 * AES_CM_128_HMAC_SHA1_80 for RTP and RTCP: what relayd pays per new leg and
 * direction) and per srtp_protect / srtp_unprotect of a 172-byte RTP packet
 * (PCMU, 20 ms), for AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM. Each figure
 * runs for about BENCH_SECONDS (default 1) so that the slow and fast builds
 * both get enough samples.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

/* Exported by both builds; its description names the crypto engine. */
extern const srtp_cipher_type_t srtp_aes_icm_128;

#define PKT	172
#define BATCH	1024

typedef void (*policy_set_fn)(srtp_crypto_policy_t *);

static double seconds = 1.0;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static srtp_t
session(policy_set_fn set, srtp_ssrc_type_t type, const uint8_t *key)
{
	srtp_policy_t	 policy;
	srtp_t		 s;

	memset(&policy, 0, sizeof(policy));
	set(&policy.rtp);
	set(&policy.rtcp);
	policy.ssrc.type = type;
	policy.key = (unsigned char *)key;
	policy.window_size = 128;
	if (srtp_create(&s, &policy) != srtp_err_status_ok) {
		fprintf(stderr, "srtp_bench: srtp_create failed\n");
		exit(1);
	}
	return s;
}

static void
bench_create(const char *name, policy_set_fn set, const uint8_t *key)
{
	double	 spent = 0, t;
	long	 n = 0;
	srtp_t	 s;

	while (spent < seconds || n < 10) {
		t = now();
		s = session(set, ssrc_any_outbound, key);
		spent += now() - t;
		srtp_dealloc(s);
		n++;
	}
	printf("srtp_create     %-24s %10.2f us  (%ld sessions)\n", name,
	    spent * 1e6 / n, n);
}

static void
bench_protect(const char *name, policy_set_fn set, const uint8_t *key)
{
	static uint8_t	 pkt[BATCH][PKT + SRTP_MAX_TRAILER_LEN];
	static int	 len[BATCH];
	double		 tprot = 0, tunprot = 0, t;
	long		 n = 0;
	uint16_t	 seq = 0;
	srtp_t		 tx, rx;
	int		 i;

	tx = session(set, ssrc_any_outbound, key);
	rx = session(set, ssrc_any_inbound, key);
	while (tprot < seconds) {
		for (i = 0; i < BATCH; i++, seq++) {
			memset(pkt[i], 0xd5, PKT);
			pkt[i][0] = 0x80;
			pkt[i][1] = 0x00;
			pkt[i][2] = seq >> 8;
			pkt[i][3] = seq & 0xff;
			memcpy(pkt[i] + 8, "\x12\x34\x56\x78", 4);
			len[i] = PKT;
		}
		t = now();
		for (i = 0; i < BATCH; i++)
			if (srtp_protect(tx, pkt[i], &len[i]) != srtp_err_status_ok)
				goto fail;
		tprot += now() - t;
		t = now();
		for (i = 0; i < BATCH; i++)
			if (srtp_unprotect(rx, pkt[i], &len[i]) !=
			    srtp_err_status_ok)
				goto fail;
		tunprot += now() - t;
		n += BATCH;
	}
	printf("srtp_protect    %-24s %10.3f us  (%ld packets of %d bytes)\n",
	    name, tprot * 1e6 / n, n, PKT);
	printf("srtp_unprotect  %-24s %10.3f us\n", name, tunprot * 1e6 / n);
	srtp_dealloc(tx);
	srtp_dealloc(rx);
	return;
fail:
	fprintf(stderr, "srtp_bench: %s: protect/unprotect failed\n", name);
	exit(1);
}

int
main(void)
{
	uint8_t		 key[SRTP_MAX_KEY_LEN];
	const char	*env = getenv("BENCH_SECONDS");
	size_t		 i;

	if (env != NULL && atof(env) > 0)
		seconds = atof(env);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 1);
	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtp_bench: srtp_init failed\n");
		return 1;
	}
	printf("%s: %s\n", srtp_get_version_string(),
	    srtp_aes_icm_128.description);
	bench_create("AES_CM_128_HMAC_SHA1_80", srtp_crypto_policy_set_rtp_default,
	    key);
	bench_protect("AES_CM_128_HMAC_SHA1_80",
	    srtp_crypto_policy_set_rtp_default, key);
	bench_protect("AEAD_AES_128_GCM",
	    srtp_crypto_policy_set_aes_gcm_128_16_auth, key);
	srtp_shutdown();
	return 0;
}
