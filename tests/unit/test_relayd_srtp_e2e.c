/*
 * test_relayd_srtp_e2e: relayd in-process on 127.0.0.1 bridging a plain
 * RTP caller (leg A) and an SRTP callee (leg B), set up with srtp_set
 * through the ROUTER handlers.  The test is the callee's SRTP stack
 * (relayd/srtp.h): the caller's RTP/RTCP reaches the callee as SRTP/SRTCP
 * that decrypts bit-exact, the callee's SRTP/SRTCP reaches the caller as
 * plain bit-exact; forged, replayed and wrongly keyed packets are dropped
 * and counted and never latch; a rekey mid-stream keeps media flowing;
 * every suite round-trips; srtp_set errors.  Also a loopback measurement
 * of the relay worker's CPU time per packet, plain against SRTP.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "relayd/call.h"
#include "relayd/ports.h"
#include "relayd/srtp.h"
#include "relayd/stats.h"
#include "tests/unit/engines.h"

#define CALL	"srtp-call"
#define SSRC_A	0x0a0a0a0au
#define SSRC_B	0x0b0b0b0bu

static struct config	 cfg;
static struct relayd	 r;
static struct ipc_w	 last;		/* the bytes of the last reply */
static int		 have_last;

static void
req(struct ipc_w *q, struct ipc_r *out)
{
	struct ipc_r	 in;

	assert_int_equal(ipc_r_parse(&in, q->sb.data, q->sb.size), 0);
	if (have_last)
		ipc_w_free(&last);
	ipc_w_init(&last);
	have_last = 1;
	call_handle(&r, &in, &last);
	assert_int_equal(ipc_r_parse(out, last.sb.data, last.sb.size), 0);
	ipc_r_free(&in);
	ipc_w_free(q);
}

/* Two UDP sockets on 127.0.0.1 at an even port and the next one. */
static void
udp_pair(int fd[2], uint16_t *port)
{
	static uint16_t		 next = 47000;
	struct sockaddr_in	 sin;
	int			 k;

	for (; next < 48000; next += 2) {
		for (k = 0; k < 2; k++) {
			fd[k] = socket(AF_INET, SOCK_DGRAM, 0);
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sin.sin_port = htons(next + k);
			if (bind(fd[k], (struct sockaddr *)&sin,
			    sizeof(sin)) == -1)
				break;
		}
		if (k == 2) {
			*port = next;
			next += 2;
			return;
		}
		close(fd[k]);
		if (k == 1)
			close(fd[0]);
	}
	fail_msg("no free port pair");
}

static void
sendto_port(int fd, uint16_t port, const void *p, size_t n)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_int_equal(sendto(fd, p, n, 0, (struct sockaddr *)&sin,
	    sizeof(sin)), (ssize_t)n);
}

static ssize_t
recv_wait(int fd, void *buf, size_t n, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recv(fd, buf, n, 0);
}

static void
alloc_leg(const char *leg, uint16_t *rtp)
{
	struct ipc_w			 w;
	struct ipc_r			 a;
	const msgpack_object_array	*ports;
	uint64_t			 p;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_ALLOC, 1, 3);
	ipc_w_str(&w, "call", CALL);
	ipc_w_str(&w, "leg", leg);
	ipc_w_uint(&w, "media", 1);
	req(&w, &a);
	assert_true(a.ok);
	ports = ipc_get_array(a.root, "ports");
	assert_non_null(ports);
	assert_int_equal(ipc_obj_uint(&ports->ptr[0].via.array.ptr[0], &p), 0);
	*rtp = p;
	ipc_r_free(&a);
}

static void
update_leg(const char *leg, const char *peer, uint16_t port)
{
	struct ipc_w	 w;
	struct ipc_r	 a;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_UPDATE, 2, 4);
	ipc_w_str(&w, "call", CALL);
	ipc_w_str(&w, "leg", leg);
	ipc_w_str(&w, "peer", peer);
	ipc_w_key(&w, "media");
	msgpack_pack_array(&w.pk, 1);
	msgpack_pack_map(&w.pk, 4);
	ipc_pack_str(&w.pk, "index");
	msgpack_pack_uint32(&w.pk, 1);
	ipc_pack_str(&w.pk, "addr");
	ipc_pack_str(&w.pk, "127.0.0.1");
	ipc_pack_str(&w.pk, "rtp");
	msgpack_pack_uint32(&w.pk, port);
	ipc_pack_str(&w.pk, "rtcp");
	msgpack_pack_uint32(&w.pk, port + 1);
	req(&w, &a);
	assert_true(a.ok);
	ipc_r_free(&a);
}

/* srtp_set; suite NULL: back to plain.  Returns ok, with the error
 * copied to err (if not NULL). */
static int
srtp_set_full(const char *call, const char *leg, unsigned media,
    const char *dir, const char *suite, const void *key, size_t keylen,
    char *err)
{
	struct ipc_w	 w;
	struct ipc_r	 a;
	int		 ok;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_SRTP_SET, 3, suite != NULL ? 6 : 4);
	ipc_w_str(&w, "call", call);
	ipc_w_str(&w, "leg", leg);
	ipc_w_uint(&w, "media", media);
	ipc_w_str(&w, "dir", dir);
	if (suite != NULL) {
		ipc_w_str(&w, "profile", suite);
		ipc_w_bin(&w, "key", key, keylen);
	}
	req(&w, &a);
	ok = a.ok;
	if (err != NULL)
		snprintf(err, 128, "%.120s", ok ? "" : a.error);
	ipc_r_free(&a);
	return ok;
}

static void
srtp_set(const char *leg, const char *dir, const char *suite,
    const struct srtpx_key *k)
{
	char	 err[128];

	if (!srtp_set_full(CALL, leg, 1, dir, suite, k ? k->key : NULL,
	    k ? k->len : 0, err))
		fail_msg("srtp_set %s %s %s: %s", leg, dir,
		    suite ? suite : "plain", err);
}

static void
mkkey(struct srtpx_key *k, srtp_profile_t p, uint8_t seed)
{
	size_t	 i;

	memset(k, 0, sizeof(*k));
	k->profile = p;
	k->len = srtpx_key_len(p);
	for (i = 0; i < k->len; i++)
		k->key[i] = (uint8_t)(seed * 31 + i * 7);
}

static size_t
rtp_packet(uint8_t *p, uint16_t seq, uint32_t ssrc, size_t len)
{
	size_t	 i;

	memset(p, 0, len);
	p[0] = 0x80;
	p[1] = 0;
	p[2] = seq >> 8;
	p[3] = seq;
	p[7] = (uint8_t)seq;
	p[8] = ssrc >> 24;
	p[9] = ssrc >> 16;
	p[10] = ssrc >> 8;
	p[11] = ssrc;
	for (i = 12; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seq);
	return len;
}

/* An RTCP receiver report (PT 201) with one report block: 32 bytes. */
static size_t
rtcp_packet(uint8_t *p, uint32_t ssrc, uint8_t fill)
{
	size_t	 i;

	memset(p, 0, 32);
	p[0] = 0x81;
	p[1] = 201;
	p[3] = 7;		/* length: 8 words - 1 */
	p[4] = ssrc >> 24;
	p[5] = ssrc >> 16;
	p[6] = ssrc >> 8;
	p[7] = ssrc;
	for (i = 8; i < 32; i++)
		p[i] = (uint8_t)(fill + i);
	return 32;
}

/* A call_query stream map of leg (A or B), media 1, stream k. */
static const msgpack_object *
query_stream(struct ipc_r *q, const char *leg, int k)
{
	const msgpack_object_array	*legs, *media, *streams;
	const char			*s;
	size_t				 n;
	uint32_t			 i;
	struct ipc_w			 w;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_QUERY, 4, 1);
	ipc_w_str(&w, "call", CALL);
	req(&w, q);
	assert_true(q->ok);
	assert_non_null(legs = ipc_get_array(q->root, "legs"));
	for (i = 0; i < legs->size; i++) {
		assert_int_equal(ipc_get_str(&legs->ptr[i], "leg", &s, &n), 0);
		if (n != strlen(leg) || memcmp(s, leg, n) != 0)
			continue;
		assert_non_null(media = ipc_get_array(&legs->ptr[i],
		    "media"));
		assert_non_null(streams = ipc_get_array(&media->ptr[0],
		    "streams"));
		return &streams->ptr[k];
	}
	fail_msg("no leg %s", leg);
	return NULL;
}

static uint64_t
stream_drop(const msgpack_object *st, const char *why)
{
	uint64_t	 v;

	assert_int_equal(ipc_get_uint(ipc_get_map(st, "drops"), why, &v), 0);
	return v;
}

static uint64_t
stream_uint(const msgpack_object *st, const char *key)
{
	uint64_t	 v;

	assert_int_equal(ipc_get_uint(st, key, &v), 0);
	return v;
}

static int	 a[2], b[2], c[2];	/* caller, callee, third party */
static uint16_t	 pa, pb, pc, ra, rb;

static void
test_bridge(void **state)
{
	struct srtpx_key	 kin, kout, kbad, knew;
	struct srtpx		*cin, *cout, *bad;	/* the callee's stack */
	uint8_t			 pkt[256 + SRTPX_OVERHEAD], orig[256];
	uint8_t			 got[2048], saved[256 + SRTPX_OVERHEAD];
	struct ipc_r		 q;
	const msgpack_object	*st;
	struct io_totals	 t0, t;
	char			 err[128];
	ssize_t			 n;
	int			 len, savedlen = 0, i, lat;
	uint16_t		 seqb = 1000;

	(void)state;
	udp_pair(a, &pa);
	udp_pair(b, &pb);
	udp_pair(c, &pc);
	alloc_leg("A", &ra);
	alloc_leg("B", &rb);
	update_leg("A", "B", pa);
	update_leg("B", "A", pb);
	/* B speaks SRTP: "in" what the callee sends, "out" what it gets */
	mkkey(&kin, srtp_profile_aes128_cm_sha1_80, 1);
	mkkey(&kout, srtp_profile_aes128_cm_sha1_80, 2);
	mkkey(&kbad, srtp_profile_aes128_cm_sha1_80, 3);
	srtp_set("B", "in", "AES_CM_128_HMAC_SHA1_80", &kin);
	srtp_set("B", "out", "AES_CM_128_HMAC_SHA1_80", &kout);
	assert_non_null(cout = srtpx_new(&kin, 0, err, sizeof(err)));
	assert_non_null(cin = srtpx_new(&kout, 1, err, sizeof(err)));
	assert_non_null(bad = srtpx_new(&kbad, 0, err, sizeof(err)));
	io_totals(r.io, &t0);

	/* a wrongly keyed packet from a third address first: refused as
	 * srtp_auth, B does not latch on it, nothing reaches the caller */
	len = (int)rtp_packet(pkt, 1, 0xbadbad00, 172);
	assert_int_equal(srtpx_protect(bad, pkt, &len, 0), srtp_err_status_ok);
	sendto_port(c[0], rb, pkt, len);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 200), -1);
	st = query_stream(&q, "B", 0);
	assert_int_equal(stream_drop(st, "srtp_auth"), 1);
	assert_false(ipc_get_bool(st, "latched", &lat) == -1 ? 1 : lat);
	ipc_r_free(&q);

	/* caller -> callee: plain in, SRTP out, decrypts bit-exact */
	for (i = 0; i < 20; i++) {
		len = (int)rtp_packet(pkt, (uint16_t)(100 + i), SSRC_A, 172);
		memcpy(orig, pkt, len);
		sendto_port(a[0], ra, pkt, len);
		n = recv_wait(b[0], got, sizeof(got), 1000);
		assert_true(n > 172);		/* + auth tag */
		len = (int)n;
		assert_int_equal(srtpx_unprotect(cin, got, &len, 0),
		    srtp_err_status_ok);
		assert_int_equal(len, 172);
		assert_memory_equal(got, orig, 172);
	}
	/* callee -> caller: SRTP in, plain out, bit-exact; latches B */
	for (i = 0; i < 20; i++) {
		len = (int)rtp_packet(pkt, seqb++, SSRC_B, 100);
		memcpy(orig, pkt, len);
		assert_int_equal(srtpx_protect(cout, pkt, &len, 0),
		    srtp_err_status_ok);
		if (i == 5) {
			memcpy(saved, pkt, len);
			savedlen = len;
		}
		sendto_port(b[0], rb, pkt, len);
		assert_int_equal(recv_wait(a[0], got, sizeof(got), 1000), 100);
		assert_memory_equal(got, orig, 100);
	}
	/* RTCP on the RTCP ports, both ways (SRTCP on B) */
	len = (int)rtcp_packet(pkt, SSRC_A, 1);
	memcpy(orig, pkt, len);
	sendto_port(a[1], ra + 1, pkt, len);
	n = recv_wait(b[1], got, sizeof(got), 1000);
	assert_true(n > 32);
	len = (int)n;
	assert_int_equal(srtpx_unprotect(cin, got, &len, 1), srtp_err_status_ok);
	assert_int_equal(len, 32);
	assert_memory_equal(got, orig, 32);
	len = (int)rtcp_packet(pkt, SSRC_B, 2);
	memcpy(orig, pkt, len);
	assert_int_equal(srtpx_protect(cout, pkt, &len, 1), srtp_err_status_ok);
	sendto_port(b[1], rb + 1, pkt, len);
	assert_int_equal(recv_wait(a[1], got, sizeof(got), 1000), 32);
	assert_memory_equal(got, orig, 32);
	/* RTCP muxed on the RTP ports (RFC 5761), both ways */
	len = (int)rtcp_packet(pkt, SSRC_A, 3);
	memcpy(orig, pkt, len);
	sendto_port(a[0], ra, pkt, len);
	n = recv_wait(b[0], got, sizeof(got), 1000);
	assert_true(n > 32);
	len = (int)n;
	assert_int_equal(srtpx_unprotect(cin, got, &len, 1), srtp_err_status_ok);
	assert_memory_equal(got, orig, 32);
	len = (int)rtcp_packet(pkt, SSRC_B, 4);
	memcpy(orig, pkt, len);
	assert_int_equal(srtpx_protect(cout, pkt, &len, 1), srtp_err_status_ok);
	sendto_port(b[0], rb, pkt, len);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 1000), 32);
	assert_memory_equal(got, orig, 32);

	/* forged (one payload bit flipped) and replayed: dropped */
	len = (int)rtp_packet(pkt, seqb++, SSRC_B, 100);
	assert_int_equal(srtpx_protect(cout, pkt, &len, 0), srtp_err_status_ok);
	pkt[40] ^= 0x10;
	sendto_port(b[0], rb, pkt, len);
	sendto_port(b[0], rb, saved, savedlen);
	/* from a third address once B has latched: a replay of B's packet
	 * and a wrongly keyed one do not authenticate, so they cannot take
	 * the latch over (counted as wrong_source) */
	sendto_port(c[0], rb, saved, savedlen);
	len = (int)rtp_packet(pkt, 7, 0xbadbad00, 100);
	assert_int_equal(srtpx_protect(bad, pkt, &len, 0), srtp_err_status_ok);
	sendto_port(c[0], rb, pkt, len);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 200), -1);
	/* a packet that authenticates from a third address: the key holder
	 * moved (NAT rebinding): B re-latches there, media to B follows */
	len = (int)rtp_packet(pkt, seqb++, SSRC_B, 100);
	memcpy(orig, pkt, len);
	assert_int_equal(srtpx_protect(cout, pkt, &len, 0), srtp_err_status_ok);
	sendto_port(c[0], rb, pkt, len);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 1000), 100);
	assert_memory_equal(got, orig, 100);
	len = (int)rtp_packet(pkt, 400, SSRC_A, 172);
	sendto_port(a[0], ra, pkt, len);
	assert_true(recv_wait(c[0], got, sizeof(got), 1000) > 172);
	assert_int_equal(recv_wait(b[0], got, sizeof(got), 200), -1);
	/* and back to the original address the same way */
	len = (int)rtp_packet(pkt, seqb++, SSRC_B, 100);
	memcpy(orig, pkt, len);
	assert_int_equal(srtpx_protect(cout, pkt, &len, 0), srtp_err_status_ok);
	sendto_port(b[0], rb, pkt, len);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 1000), 100);
	assert_memory_equal(got, orig, 100);

	st = query_stream(&q, "B", 0);
	assert_int_equal(stream_drop(st, "srtp_auth"), 2);
	assert_int_equal(stream_drop(st, "srtp_replay"), 1);
	assert_int_equal(stream_drop(st, "srtp_error"), 0);
	assert_int_equal(stream_drop(st, "wrong_source"), 2);
	assert_int_equal(stream_uint(st, "relatched"), 2);
	assert_int_equal(ipc_get_bool(st, "latched", &lat), 0);
	assert_true(lat);
	assert_int_equal(stream_uint(st, "srtp_decrypted"), 20 + 1 + 2);
	assert_int_equal(stream_uint(st, "srtp_encrypted"), 20 + 1 + 1);
	assert_int_equal(stream_uint(st, "packets"), 20 + 1 + 2);
	ipc_r_free(&q);
	st = query_stream(&q, "B", 1);
	assert_int_equal(stream_uint(st, "srtp_decrypted"), 1);
	assert_int_equal(stream_uint(st, "srtp_encrypted"), 1);
	ipc_r_free(&q);
	st = query_stream(&q, "A", 0);
	assert_int_equal(stream_uint(st, "srtp_decrypted"), 0);
	assert_int_equal(stream_uint(st, "srtp_encrypted"), 0);
	assert_int_equal(stream_drop(st, "srtp_auth"), 0);
	ipc_r_free(&q);
	/* call totals */
	query_stream(&q, "A", 0);
	assert_int_equal(stream_uint(q.root, "srtp_decrypted"), 24);
	assert_int_equal(stream_uint(q.root, "srtp_encrypted"), 23);
	ipc_r_free(&q);
	io_totals(r.io, &t);
	assert_int_equal(t.srtp_decrypted - t0.srtp_decrypted, 24);
	assert_int_equal(t.srtp_encrypted - t0.srtp_encrypted, 23);
	assert_int_equal(t.drops[RELAY_DROP_SRTP_AUTH] -
	    t0.drops[RELAY_DROP_SRTP_AUTH], 2);
	assert_int_equal(t.drops[RELAY_DROP_SRTP_REPLAY] -
	    t0.drops[RELAY_DROP_SRTP_REPLAY], 1);

	/* the same key again is a no-op: the replay window is kept */
	srtp_set("B", "in", "AES_CM_128_HMAC_SHA1_80", &kin);
	sendto_port(b[0], rb, saved, savedlen);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 200), -1);
	st = query_stream(&q, "B", 0);
	assert_int_equal(stream_drop(st, "srtp_replay"), 2);
	ipc_r_free(&q);

	/* rekey mid-stream: relayd first, then the callee; a sequence
	 * number wrap on the way keeps the rollover counter */
	mkkey(&knew, srtp_profile_aes128_cm_sha1_80, 4);
	srtp_set("B", "in", "AES_CM_128_HMAC_SHA1_80", &knew);
	assert_int_equal(srtpx_rekey(cout, &knew, err, sizeof(err)), 0);
	for (i = 0; i < 10; i++) {
		len = (int)rtp_packet(pkt, seqb++, SSRC_B, 100);
		memcpy(orig, pkt, len);
		assert_int_equal(srtpx_protect(cout, pkt, &len, 0),
		    srtp_err_status_ok);
		sendto_port(b[0], rb, pkt, len);
		assert_int_equal(recv_wait(a[0], got, sizeof(got), 1000),
		    100);
		assert_memory_equal(got, orig, 100);
	}
	/* and a new suite on "out" (rekey with another profile) */
	mkkey(&knew, srtp_profile_aead_aes_128_gcm, 5);
	srtp_set("B", "out", "AEAD_AES_128_GCM", &knew);
	assert_int_equal(srtpx_rekey(cin, &knew, err, sizeof(err)), 0);
	len = (int)rtp_packet(pkt, 500, SSRC_A, 172);
	memcpy(orig, pkt, len);
	sendto_port(a[0], ra, pkt, len);
	n = recv_wait(b[0], got, sizeof(got), 1000);
	len = (int)n;
	assert_int_equal(srtpx_unprotect(cin, got, &len, 0), srtp_err_status_ok);
	assert_memory_equal(got, orig, 172);

	/* back to plain on "out": the callee gets plain RTP */
	srtp_set("B", "out", NULL, NULL);
	len = (int)rtp_packet(pkt, 501, SSRC_A, 172);
	sendto_port(a[0], ra, pkt, len);
	assert_int_equal(recv_wait(b[0], got, sizeof(got), 1000), 172);
	assert_memory_equal(got, pkt, 172);

	/* errors */
	assert_false(srtp_set_full(CALL, "B", 1, "in",
	    "AES_CM_128_HMAC_SHA1_80", kin.key, 29, err));
	assert_string_equal(err, "bad key length");
	assert_false(srtp_set_full(CALL, "B", 1, "in", "F8_128_HMAC_SHA1_80",
	    kin.key, 30, err));
	assert_string_equal(err, "unsupported suite");
	assert_false(srtp_set_full(CALL, "Z", 1, "in",
	    "AES_CM_128_HMAC_SHA1_80", kin.key, 30, err));
	assert_string_equal(err, "unknown leg");
	assert_false(srtp_set_full("nope", "B", 1, "in",
	    "AES_CM_128_HMAC_SHA1_80", kin.key, 30, err));
	assert_string_equal(err, "unknown call");
	assert_false(srtp_set_full(CALL, "B", 2, "in",
	    "AES_CM_128_HMAC_SHA1_80", kin.key, 30, err));
	assert_string_equal(err, "bad media index");
	assert_false(srtp_set_full(CALL, "B", 1, "sideways",
	    "AES_CM_128_HMAC_SHA1_80", kin.key, 30, err));
	{
		/* profile without key: a bad field */
		struct ipc_w	 w;

		ipc_w_init(&w);
		ipc_w_begin(&w, IPC_OP_SRTP_SET, 3, 5);
		ipc_w_str(&w, "call", CALL);
		ipc_w_str(&w, "leg", "B");
		ipc_w_uint(&w, "media", 1);
		ipc_w_str(&w, "dir", "in");
		ipc_w_str(&w, "profile", "AES_CM_128_HMAC_SHA1_80");
		req(&w, &q);
		assert_false(q.ok);
		ipc_r_free(&q);
	}
	/* a refused rekey leaves the old key in force */
	len = (int)rtp_packet(pkt, seqb++, SSRC_B, 100);
	memcpy(orig, pkt, len);
	assert_int_equal(srtpx_protect(cout, pkt, &len, 0), srtp_err_status_ok);
	sendto_port(b[0], rb, pkt, len);
	assert_int_equal(recv_wait(a[0], got, sizeof(got), 1000), 100);
	assert_memory_equal(got, orig, 100);

	srtpx_destroy(&cin);
	srtpx_destroy(&cout);
	srtpx_destroy(&bad);
}

/* Every suite both ways on a fresh pair of legs (B in and out). */
static void
test_every_suite(void **state)
{
	static const struct {
		const char	*name;
		srtp_profile_t	 p;
	} suites[] = {
		{ "AES_CM_128_HMAC_SHA1_80", srtp_profile_aes128_cm_sha1_80 },
		{ "AES_CM_128_HMAC_SHA1_32", srtp_profile_aes128_cm_sha1_32 },
		{ "AES_192_CM_HMAC_SHA1_80", SRTPX_PROFILE_AES192_CM_SHA1_80 },
		{ "AES_192_CM_HMAC_SHA1_32", SRTPX_PROFILE_AES192_CM_SHA1_32 },
		{ "AES_256_CM_HMAC_SHA1_80", SRTPX_PROFILE_AES256_CM_SHA1_80 },
		{ "AES_256_CM_HMAC_SHA1_32", SRTPX_PROFILE_AES256_CM_SHA1_32 },
		{ "AEAD_AES_128_GCM", srtp_profile_aead_aes_128_gcm },
		{ "AEAD_AES_256_GCM", srtp_profile_aead_aes_256_gcm },
	};
	struct srtpx_key	 kin, kout;
	struct srtpx		*cin, *cout;
	uint8_t			 pkt[256 + SRTPX_OVERHEAD], orig[256];
	uint8_t			 got[2048];
	char			 err[128];
	size_t			 s;
	int			 len, rtcp;
	ssize_t			 n;
	uint16_t		 seq = 7000;

	(void)state;
	for (s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		mkkey(&kin, suites[s].p, (uint8_t)(10 + s));
		mkkey(&kout, suites[s].p, (uint8_t)(20 + s));
		srtp_set("B", "in", suites[s].name, &kin);
		srtp_set("B", "out", suites[s].name, &kout);
		assert_non_null(cout = srtpx_new(&kin, 0, err, sizeof(err)));
		assert_non_null(cin = srtpx_new(&kout, 1, err, sizeof(err)));
		for (rtcp = 0; rtcp < 2; rtcp++) {
			/* caller -> callee */
			len = rtcp ? (int)rtcp_packet(pkt, SSRC_A, (uint8_t)s)
			    : (int)rtp_packet(pkt, seq++, SSRC_A, 172);
			memcpy(orig, pkt, len);
			sendto_port(a[rtcp], ra + rtcp, pkt, len);
			n = recv_wait(b[rtcp], got, sizeof(got), 1000);
			assert_true(n > len);
			assert_int_equal(srtpx_unprotect(cin, got,
			    &(int){ (int)n }, rtcp), srtp_err_status_ok);
			assert_memory_equal(got, orig, len);
			/* callee -> caller */
			len = rtcp ? (int)rtcp_packet(pkt, SSRC_B, (uint8_t)s)
			    : (int)rtp_packet(pkt, seq++, SSRC_B, 100);
			memcpy(orig, pkt, len);
			n = len;
			assert_int_equal(srtpx_protect(cout, pkt, &len,
			    rtcp), srtp_err_status_ok);
			sendto_port(b[rtcp], rb + rtcp, pkt, len);
			assert_int_equal(recv_wait(a[rtcp], got, sizeof(got),
			    1000), n);
			assert_memory_equal(got, orig, n);
		}
		srtpx_destroy(&cin);
		srtpx_destroy(&cout);
	}
}

/* CPU nanoseconds of every thread of this process but the caller's:
 * the relay workers (schedstat's first field). */
static uint64_t
worker_ns(void)
{
	DIR		*d = opendir("/proc/self/task");
	struct dirent	*e;
	char		 path[320];
	FILE		*f;
	unsigned long long ns;
	uint64_t	 sum = 0;
	int		 me = gettid();

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == me)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat",
		    e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * from: 0 caller -> callee (A plain in, B out), 1 callee -> caller
 * (B in, A plain out).  Bursts of 16 packets of 172 bytes (PCMU 20 ms);
 * prints the relay workers' CPU time per packet and the packet rate.
 */
static void
bench(const char *what, int from, struct srtpx *cout, int npkt)
{
	uint8_t		 pkt[256 + SRTPX_OVERHEAD], got[2048];
	struct pollfd	 pfd;
	uint64_t	 ns0, ns1;
	double		 t0, t1;
	int		 i, k, len, recvd = 0, sent = 0;
	uint16_t	 seq = 0;
	static uint16_t	 seqb = 20000;

	ns0 = worker_ns();
	t0 = now_s();
	for (i = 0; i < npkt; i += 16) {
		for (k = 0; k < 16; k++) {
			if (from == 0) {
				len = (int)rtp_packet(pkt, seq++, SSRC_A, 172);
				sendto_port(a[0], ra, pkt, len);
			} else {
				len = (int)rtp_packet(pkt, seqb++, SSRC_B,
				    172);
				if (cout != NULL)
					assert_int_equal(srtpx_protect(cout,
					    pkt, &len, 0), srtp_err_status_ok);
				sendto_port(b[0], rb, pkt, len);
			}
			sent++;
		}
		pfd.fd = from == 0 ? b[0] : a[0];
		pfd.events = POLLIN;
		while (recvd < sent && poll(&pfd, 1, 200) == 1)
			while (recv(pfd.fd, got, sizeof(got), MSG_DONTWAIT) >
			    0)
				recvd++;
	}
	t1 = now_s();
	ns1 = worker_ns();
	print_message("bench %-34s %6d pkts, %5d lost, relay worker "
	    "%.2f us/pkt, %.0f pkt/s end to end\n", what, sent, sent - recvd,
	    (ns1 - ns0) / 1e3 / (recvd ? recvd : 1), recvd / (t1 - t0));
	assert_true(recvd >= sent * 9 / 10);
}

/* The crypto alone, in this thread, for comparison with the relay
 * worker's whole cost: loops over 172-byte RTP packets that build only,
 * build + protect, build + protect + unprotect; the differences. */
static void
bench_crypto(const char *what, srtp_profile_t p, int npkt)
{
	struct srtpx_key	 k;
	struct srtpx		*o, *in;
	uint8_t			 pkt[256 + SRTPX_OVERHEAD];
	char			 err[128];
	double			 t[3], t0;
	int			 i, len, pass;

	mkkey(&k, p, 50);
	assert_non_null(o = srtpx_new(&k, 0, err, sizeof(err)));
	assert_non_null(in = srtpx_new(&k, 1, err, sizeof(err)));
	for (pass = 0; pass < 3; pass++) {
		t0 = now_s();
		for (i = 0; i < npkt; i++) {
			len = (int)rtp_packet(pkt, (uint16_t)i,
			    SSRC_A + pass, 172);
			if (pass >= 1 && srtpx_protect(o, pkt, &len, 0) !=
			    srtp_err_status_ok)
				fail();
			if (pass == 2 && srtpx_unprotect(in, pkt, &len, 0) !=
			    srtp_err_status_ok)
				fail();
		}
		t[pass] = now_s() - t0;
	}
	print_message("crypto %-18s protect %.2f us, unprotect %.2f us "
	    "(172-byte RTP, one thread)\n", what,
	    (t[1] - t[0]) * 1e6 / npkt, (t[2] - t[1]) * 1e6 / npkt);
	srtpx_destroy(&o);
	srtpx_destroy(&in);
}

static void
test_bench(void **state)
{
	struct srtpx_key	 kin, kout;
	struct srtpx		*cout;
	char			 err[128];
	int			 npkt = getenv("RTPSEC_BENCH_PKTS") ?
	    atoi(getenv("RTPSEC_BENCH_PKTS")) : 20000;

	(void)state;
	mkkey(&kin, srtp_profile_aes128_cm_sha1_80, 40);
	mkkey(&kout, srtp_profile_aes128_cm_sha1_80, 41);
	srtp_set("B", "in", NULL, NULL);
	srtp_set("B", "out", NULL, NULL);
	bench("plain -> plain", 0, NULL, npkt);
	srtp_set("B", "out", "AES_CM_128_HMAC_SHA1_80", &kout);
	bench("plain -> SRTP (protect, AES_CM_128_80)", 0, NULL, npkt);
	srtp_set("B", "in", "AES_CM_128_HMAC_SHA1_80", &kin);
	assert_non_null(cout = srtpx_new(&kin, 0, err, sizeof(err)));
	bench("SRTP -> plain (unprotect, AES_CM_128_80)", 1, cout, npkt);
	srtpx_destroy(&cout);
	mkkey(&kin, srtp_profile_aead_aes_128_gcm, 42);
	mkkey(&kout, srtp_profile_aead_aes_128_gcm, 43);
	srtp_set("B", "out", "AEAD_AES_128_GCM", &kout);
	bench("plain -> SRTP (protect, AEAD_AES_128_GCM)", 0, NULL, npkt);
	srtp_set("B", "out", NULL, NULL);
	bench("plain -> plain (again)", 0, NULL, npkt);
	bench_crypto("AES_CM_128_80", srtp_profile_aes128_cm_sha1_80, npkt);
	bench_crypto("AEAD_AES_128_GCM", srtp_profile_aead_aes_128_gcm, npkt);
}

static void
test_stats_and_delete(void **state)
{
	struct ipc_w		 w;
	struct ipc_r		 q;
	const msgpack_object	*m;
	uint64_t		 v;

	(void)state;
	ipc_w_init(&w);
	stats_build(&r, &w, 9);
	assert_int_equal(ipc_r_parse(&q, w.sb.data, w.sb.size), 0);
	assert_non_null(m = ipc_get_map(q.root, "metrics"));
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_srtp_packets_total{op=\"decrypt\"}", &v), 0);
	assert_true(v >= 23);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_srtp_packets_total{op=\"encrypt\"}", &v), 0);
	assert_true(v >= 22);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_packets_dropped_total{reason=\"srtp_auth\"}", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_packets_dropped_total{reason=\"srtp_replay\"}", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_packets_dropped_total{reason=\"srtp_error\"}", &v), 0);
	assert_int_equal(v, 0);
	ipc_r_free(&q);
	ipc_w_free(&w);

	/* delete one leg with its transforms, then the call */
	srtp_set("B", "in", "AES_CM_128_HMAC_SHA1_80",
	    &(struct srtpx_key){ .profile = srtp_profile_aes128_cm_sha1_80,
	    .len = 30 });
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_DELETE, 6, 2);
	ipc_w_str(&w, "call", CALL);
	ipc_w_str(&w, "leg", "B");
	req(&w, &q);
	assert_true(q.ok);
	ipc_r_free(&q);
	srtp_set("A", "out", "AES_CM_128_HMAC_SHA1_80",
	    &(struct srtpx_key){ .profile = srtp_profile_aes128_cm_sha1_80,
	    .len = 30 });
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_DELETE, 7, 1);
	ipc_w_str(&w, "call", CALL);
	req(&w, &q);
	assert_true(q.ok);
	ipc_r_free(&q);
	assert_int_equal(ports_used(r.ports), 0);
}

static int
run_engine(const char *engine)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_every_suite),
		cmocka_unit_test(test_bench),
		cmocka_unit_test(test_stats_and_delete),
	};
	char	 err[256];
	int	 rc, k;

	if (srtpx_init() == -1)
		return 1;
	config_load(&cfg, NULL, err, sizeof(err));
	snprintf(cfg.interface, sizeof(cfg.interface), "127.0.0.1");
	cfg.port_min = 46200;
	cfg.port_max = 46300;
	cfg.workers = 1;
	cfg.media_timeout = 0;
	snprintf(cfg.io_engine, sizeof(cfg.io_engine), "%s", engine);
	fprintf(stderr, "== io_engine %s\n", engine);
	if (call_init(&r, &cfg, err, sizeof(err)) == -1 || io_start(r.io) == -1)
		return 1;
	if (strcmp(io_engine_name(r.io), engine) != 0) {
		fprintf(stderr, "asked for %s, got %s\n", engine,
		    io_engine_name(r.io));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	call_fini(&r);
	if (have_last)
		ipc_w_free(&last);
	for (k = 0; k < 2; k++) {
		close(a[k]);
		close(b[k]);
		close(c[k]);
	}
	return rc;
}

int
main(void)
{
	return engines_run(run_engine);
}
