/*
 * srtpcat: a minimal SDES-SRTP endpoint for the integration tests
 * (test_sdes.py), with the libsrtp2 the build links.
 *
 *   srtpcat SUITE KEY_TX KEY_RX LADDR LPORT DADDR DPORT NSEND NRECV TIMEOUT_MS
 *
 * Binds LADDR:LPORT, sends NSEND RTP packets (SSRC 0x5e5e0001, payload
 * "srtpcat-NNNN" + 148 bytes of 0xa5) protected with KEY_TX (base64
 * key||salt of SUITE, "-" sends plain RTP) to DADDR:DPORT, then receives
 * until NRECV packets unprotected with KEY_RX or TIMEOUT_MS passed.
 * Prints "rx <payload hex>" per good packet, then "auth_fail <n>" and
 * "rx_count <n>".  Exit 0, or 2 for bad arguments or set-up errors.
 *
 * Environment, for the attacks and edge cases:
 *   SRTPCAT_SEQ=n    first sequence number (65530: a wrap, ROC 0 -> 1)
 *   SRTPCAT_BAD=1    after the NSEND good packets, also send one forged
 *                    (a payload bit flipped), one replay of the last good
 *                    packet and one protected with a random wrong key;
 *                    the relay must drop all three
 *   SRTPCAT_UNENC=1  RFC 4568 UNENCRYPTED_SRTP: RTP authenticated only
 *                    (sec_serv_auth), the payload in clear, both ways
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>

static int
policy_for(const char *suite, srtp_policy_t *p)
{
	if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") == 0) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AES_256_CM_HMAC_SHA1_80") == 0) {
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p->rtcp);
	} else if (strcmp(suite, "AEAD_AES_128_GCM") == 0) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
	} else if (strcmp(suite, "AEAD_AES_256_GCM") == 0) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
	} else
		return -1;
	if (getenv("SRTPCAT_UNENC") != NULL)
		p->rtp.sec_serv = sec_serv_auth;
	return 0;
}

/* base64 (padded or not) into out; returns the length or -1. */
static int
b64(const char *s, unsigned char *out, size_t outlen)
{
	char	 buf[128];
	size_t	 len = strlen(s), pad = 0;
	int	 n;

	if (len + 3 >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	while (len % 4 != 0)
		buf[len++] = '=';
	buf[len] = '\0';
	while (pad < len && buf[len - 1 - pad] == '=')
		pad++;
	if ((len / 4) * 3 > outlen + 2)
		return -1;
	{
		unsigned char	 tmp[96];

		if ((n = EVP_DecodeBlock(tmp, (unsigned char *)buf,
		    (int)len)) < 0 || (size_t)n - pad > outlen)
			return -1;
		n -= (int)pad;
		memcpy(out, tmp, (size_t)n);
	}
	return n;
}

static srtp_t
session(const char *suite, const char *key, int inbound, unsigned char *k)
{
	srtp_policy_t	 p;
	srtp_t		 s;

	if (strcmp(key, "-") == 0)
		return NULL;
	memset(&p, 0, sizeof(p));
	if (policy_for(suite, &p) == -1 || b64(key, k, 64) <= 0) {
		fprintf(stderr, "srtpcat: bad suite or key\n");
		exit(2);
	}
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = k;
	p.window_size = 128;
	if (srtp_create(&s, &p) != srtp_err_status_ok) {
		fprintf(stderr, "srtpcat: srtp_create failed\n");
		exit(2);
	}
	return s;
}

/* The three packets the relay must refuse: forged (a fresh sequence
 * number, so that it meets the authentication check, not the replay
 * check), a replay of the last good packet, and one with a wrong key.
 * last/len: the last good protected packet, seq its sequence number. */
static void
send_bad(int fd, const struct sockaddr_in *da, const char *suite, srtp_t tx,
    const unsigned char *last, int len, uint16_t seq)
{
	unsigned char	 p[2048], k[64];
	srtp_policy_t	 pol;
	srtp_t		 s;
	int		 n, i;

	for (i = 0; i < 3; i++) {
		memcpy(p, last, 12);
		seq++;
		p[2] = seq >> 8;
		p[3] = seq & 0xff;
		memset(p + 12, 0x5a, 160);
		n = 172;
		if (i == 1) {		/* the replay */
			sendto(fd, last, (size_t)len, 0,
			    (const struct sockaddr *)da, sizeof(*da));
			seq--;
			usleep(2000);
			continue;
		}
		if (i == 0)		/* forged: right key, then a flip */
			s = tx;
		else {			/* wrong key */
			memset(&pol, 0, sizeof(pol));
			if (policy_for(suite, &pol) == -1 ||
			    RAND_bytes(k, sizeof(k)) != 1)
				exit(2);
			pol.ssrc.type = ssrc_any_outbound;
			pol.key = k;
			if (srtp_create(&s, &pol) != srtp_err_status_ok)
				exit(2);
		}
		if (srtp_protect(s, p, &n) != srtp_err_status_ok)
			exit(2);
		if (i == 0)
			p[40] ^= 0x01;
		else
			srtp_dealloc(s);
		sendto(fd, p, (size_t)n, 0, (const struct sockaddr *)da,
		    sizeof(*da));
		usleep(2000);
	}
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int
main(int argc, char **argv)
{
	unsigned char		 ktx[64], krx[64], pkt[2048];
	struct sockaddr_in	 la, da;
	srtp_t			 tx, rx;
	struct pollfd		 pfd;
	long			 deadline;
	int			 fd, nsend, nrecv, i, len, good = 0, fail = 0;
	uint16_t		 seq = 1000;
	uint32_t		 ts = 5000, ssrc = 0x5e5e0001;

	if (argc != 11) {
		fprintf(stderr, "usage: srtpcat SUITE KEY_TX KEY_RX LADDR LPORT "
		    "DADDR DPORT NSEND NRECV TIMEOUT_MS\n");
		return 2;
	}
	if (srtp_init() != srtp_err_status_ok)
		return 2;
	tx = session(argv[1], argv[2], 0, ktx);
	rx = session(argv[1], argv[3], 1, krx);
	memset(&la, 0, sizeof(la));
	memset(&da, 0, sizeof(da));
	la.sin_family = da.sin_family = AF_INET;
	la.sin_port = htons((uint16_t)atoi(argv[5]));
	da.sin_port = htons((uint16_t)atoi(argv[7]));
	if (inet_pton(AF_INET, argv[4], &la.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[6], &da.sin_addr) != 1)
		return 2;
	nsend = atoi(argv[8]);
	nrecv = atoi(argv[9]);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&la, sizeof(la)) == -1) {
		perror("srtpcat: bind");
		return 2;
	}
	if (getenv("SRTPCAT_SEQ") != NULL)
		seq = (uint16_t)(atoi(getenv("SRTPCAT_SEQ")) - 1);
	for (i = 0; i < nsend; i++) {
		pkt[0] = 0x80;
		pkt[1] = 0;
		seq++;
		ts += 160;
		pkt[2] = seq >> 8;
		pkt[3] = seq & 0xff;
		pkt[4] = ts >> 24; pkt[5] = ts >> 16; pkt[6] = ts >> 8; pkt[7] = ts;
		pkt[8] = ssrc >> 24; pkt[9] = ssrc >> 16; pkt[10] = ssrc >> 8;
		pkt[11] = ssrc;
		memset(pkt + 12, 0xa5, 160);
		memcpy(pkt + 12, "srtpcat-", 8);
		snprintf((char *)pkt + 20, 5, "%04d", i % 10000);
		pkt[24] = 0xa5;
		len = 12 + 160;
		if (tx != NULL && srtp_protect(tx, pkt, &len) !=
		    srtp_err_status_ok) {
			fprintf(stderr, "srtpcat: protect failed\n");
			return 2;
		}
		if (sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&da,
		    sizeof(da)) == -1)
			perror("srtpcat: sendto");
		usleep(2000);
	}
	if (getenv("SRTPCAT_BAD") != NULL && tx != NULL && nsend > 0)
		send_bad(fd, &da, argv[1], tx, pkt, len, seq);
	deadline = now_ms() + atol(argv[10]);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (good < nrecv && now_ms() < deadline) {
		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		if ((len = (int)recv(fd, pkt, sizeof(pkt), 0)) < 12)
			continue;
		if (rx != NULL && srtp_unprotect(rx, pkt, &len) !=
		    srtp_err_status_ok) {
			fail++;
			continue;
		}
		good++;
		printf("rx ");
		for (i = 12; i < len; i++)
			printf("%02x", pkt[i]);
		printf("\n");
	}
	printf("auth_fail %d\nrx_count %d\n", fail, good);
	return 0;
}
