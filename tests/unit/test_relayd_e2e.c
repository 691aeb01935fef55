/*
 * test_relayd_e2e: relayd in-process on 127.0.0.1: calls created through
 * the ROUTER handlers (call_handle with msgpack requests), RTP sent both
 * ways between two UDP sockets, bit-exact delivery, strict latching,
 * wrong_source drops, counters, delete frees ports, media timeout.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "relayd/call.h"
#include "relayd/ports.h"
#include "relayd/stats.h"
#include "tests/unit/engines.h"

static struct config	 cfg;
static struct relayd	 r;

/* Runs one request through the handlers; returns the parsed reply. */
/* The reply's bytes: ipc_r_parse() does not copy strings, so they must
 * outlive the parsed reply (kept until the next request). */
static struct ipc_w	 last;
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

static int
udp(uint16_t *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
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

/* Bytes received within ms, or -1. */
static ssize_t
recv_wait(int fd, void *buf, size_t n, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recv(fd, buf, n, 0);
}

static void
alloc_leg(const char *call, const char *leg, uint16_t *rtp)
{
	struct ipc_w			 w;
	struct ipc_r			 a;
	const msgpack_object_array	*ports;
	uint64_t			 p;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_ALLOC, 1, 3);
	ipc_w_str(&w, "call", call);
	ipc_w_str(&w, "leg", leg);
	ipc_w_uint(&w, "media", 1);
	req(&w, &a);
	if (!a.ok)
		print_error("leg_alloc: %s\n", a.error);
	assert_true(a.ok);
	ports = ipc_get_array(a.root, "ports");
	assert_non_null(ports);
	assert_int_equal(ports->size, 1);
	assert_int_equal(ports->ptr[0].type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(ipc_obj_uint(&ports->ptr[0].via.array.ptr[0], &p), 0);
	*rtp = p;
	assert_int_equal(p % 2, 0);
	ipc_r_free(&a);
}

static void
update_leg(const char *call, const char *leg, const char *peer,
    uint16_t port)
{
	struct ipc_w	 w;
	struct ipc_r	 a;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_UPDATE, 2, 4);
	ipc_w_str(&w, "call", call);
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

static void
rtp_packet(uint8_t *p, uint16_t seq, uint32_t ssrc, size_t len)
{
	size_t	 i;

	memset(p, 0, len);
	p[0] = 0x80;
	p[1] = 0;
	p[2] = seq >> 8;
	p[3] = seq;
	p[8] = ssrc >> 24;
	p[9] = ssrc >> 16;
	p[10] = ssrc >> 8;
	p[11] = ssrc;
	for (i = 12; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seq);
}

static void
test_relay(void **state)
{
	uint16_t	 pa, pb, pc, ra, rb;
	int		 a, b, c, i;
	uint8_t		 pkt[172], got[2048];
	struct ipc_w	 w;
	struct ipc_r	 q;
	struct io_totals t;
	unsigned	 used;

	(void)state;
	a = udp(&pa);
	b = udp(&pb);
	c = udp(&pc);
	alloc_leg("call-1", "A", &ra);
	alloc_leg("call-1", "B", &rb);
	assert_int_not_equal(ra, rb);
	used = ports_used(r.ports);
	assert_int_equal(used, 4);
	/* re-offer: same ports */
	{
		uint16_t again;
		alloc_leg("call-1", "A", &again);
		assert_int_equal(again, ra);
	}
	update_leg("call-1", "A", "B", pa);
	update_leg("call-1", "B", "A", pb);

	/* A -> relay(ra) -> out of rb -> B, bit-exact */
	for (i = 0; i < 10; i++) {
		rtp_packet(pkt, i, 0x11223344, sizeof(pkt));
		sendto_port(a, ra, pkt, sizeof(pkt));
		assert_int_equal(recv_wait(b, got, sizeof(got), 1000),
		    sizeof(pkt));
		assert_memory_equal(got, pkt, sizeof(pkt));
	}
	for (i = 0; i < 10; i++) {
		rtp_packet(pkt, 100 + i, 0x55667788, 100);
		sendto_port(b, rb, pkt, 100);
		assert_int_equal(recv_wait(a, got, sizeof(got), 1000), 100);
		assert_memory_equal(got, pkt, 100);
	}
	/* a third party to A's port: dropped as wrong_source */
	rtp_packet(pkt, 7, 0xdeadbeef, 50);
	sendto_port(c, ra, pkt, 50);
	assert_int_equal(recv_wait(b, got, sizeof(got), 200), -1);
	/* garbage: malformed */
	sendto_port(a, ra, "hello", 5);
	assert_int_equal(recv_wait(b, got, sizeof(got), 200), -1);

	io_totals(r.io, &t);
	assert_int_equal(t.packets, 20);
	assert_int_equal(t.bytes, 10 * sizeof(pkt) + 10 * 100);
	assert_int_equal(t.drops[RELAY_DROP_WRONG_SOURCE], 1);
	assert_int_equal(t.drops[RELAY_DROP_MALFORMED], 1);

	/* query */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_QUERY, 3, 1);
	ipc_w_str(&w, "call", "call-1");
	req(&w, &q);
	assert_true(q.ok);
	assert_non_null(ipc_get_array(q.root, "legs"));
	assert_int_equal(ipc_get_array(q.root, "legs")->size, 2);
	ipc_r_free(&q);

	/* list */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_LIST, 4, 0);
	req(&w, &q);
	assert_true(q.ok);
	assert_int_equal(ipc_get_array(q.root, "calls")->size, 1);
	ipc_r_free(&q);

	/* bad input: ok false, counted */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_ALLOC, 5, 1);
	ipc_w_uint(&w, "call", 3);
	req(&w, &q);
	assert_false(q.ok);
	assert_int_equal(r.ipc_dropped[CALL_IPCDROP_BAD_FIELD], 1);
	ipc_r_free(&q);

	/* delete frees the ports */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_DELETE, 6, 1);
	ipc_w_str(&w, "call", "call-1");
	req(&w, &q);
	assert_true(q.ok);
	ipc_r_free(&q);
	assert_int_equal(ports_used(r.ports), 0);
	assert_int_equal(r.ncalls, 0);
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_DELETE, 7, 1);
	ipc_w_str(&w, "call", "call-1");
	req(&w, &q);
	assert_false(q.ok);
	assert_string_equal(q.error, "unknown call");
	ipc_r_free(&q);
	close(a);
	close(b);
	close(c);
}

static int
alloc_n(const char *call, const char *leg, unsigned n)
{
	struct ipc_w	 w;
	struct ipc_r	 a;
	int		 ok;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_ALLOC, 11, 3);
	ipc_w_str(&w, "call", call);
	ipc_w_str(&w, "leg", leg);
	ipc_w_uint(&w, "media", n);
	req(&w, &a);
	ok = a.ok;
	if (!ok)
		assert_string_equal(a.error, "Ran out of ports");
	ipc_r_free(&a);
	return ok;
}

/* 46000-46100 holds 50 pairs: the fourth leg of 16 media does not fit,
 * and nothing of it remains. */
static void
test_exhaust(void **state)
{
	struct ipc_w	 w;
	struct ipc_r	 q;

	(void)state;
	assert_true(alloc_n("call-x", "A", 16));
	assert_true(alloc_n("call-x", "B", 16));
	assert_true(alloc_n("call-x", "C", 16));
	assert_false(alloc_n("call-x", "D", 16));
	assert_int_equal(ports_used(r.ports), 96);
	assert_false(alloc_n("call-y", "A", 16));
	assert_int_equal(r.ncalls, 1);
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_QUERY, 12, 1);
	ipc_w_str(&w, "call", "call-x");
	req(&w, &q);
	assert_int_equal(ipc_get_array(q.root, "legs")->size, 3);
	ipc_r_free(&q);
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_DELETE, 13, 1);
	ipc_w_str(&w, "call", "call-x");
	req(&w, &q);
	assert_true(q.ok);
	ipc_r_free(&q);
	assert_int_equal(ports_used(r.ports), 0);
}

static int	 ntimeouts;

static void
on_timeout(void *arg, const char *call)
{
	(void)arg;
	assert_string_equal(call, "call-2");
	ntimeouts++;
}

static void
test_timeout(void **state)
{
	uint16_t	 ra;

	(void)state;
	alloc_leg("call-2", "A", &ra);
	assert_int_equal(call_sweep(&r, daemon_wall_s(), on_timeout, NULL), 0);
	sleep(2);
	assert_int_equal(call_sweep(&r, daemon_wall_s(), on_timeout, NULL), 1);
	assert_int_equal(ntimeouts, 1);
	assert_int_equal(r.timeouts, 1);
	assert_int_equal(ports_used(r.ports), 0);
}

static void
test_stats(void **state)
{
	struct ipc_w		 w;
	struct ipc_r		 q;
	const msgpack_object	*m;
	uint64_t		 v;

	(void)state;
	ipc_w_init(&w);
	stats_build(&r, &w, 9);
	assert_int_equal(ipc_r_parse(&q, w.sb.data, w.sb.size), 0);
	assert_int_equal(q.op, IPC_OP_STATS);
	assert_non_null(m = ipc_get_map(q.root, "metrics"));
	assert_int_equal(ipc_get_uint(m, "rtpsec_packets_relayed_total", &v),
	    0);
	assert_int_equal(v, 20);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_packets_dropped_total{reason=\"wrong_source\"}", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ipc_get_uint(m, "rtpsec_relay_timeouts_total", &v),
	    0);
	assert_int_equal(v, 1);
	ipc_r_free(&q);
	ipc_w_free(&w);
	ipc_w_init(&w);
	stats_event(&r, &w, 10, "timeout", "call-2");
	assert_int_equal(ipc_r_parse(&q, w.sb.data, w.sb.size), 0);
	assert_int_equal(q.op, IPC_OP_EVENT);
	ipc_r_free(&q);
	ipc_w_free(&w);
}

static int
run_engine(const char *engine)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_exhaust),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stats),
	};
	char	 err[256];
	int	 rc;

	config_load(&cfg, NULL, err, sizeof(err));
	snprintf(cfg.interface, sizeof(cfg.interface), "127.0.0.1");
	cfg.port_min = 46000;
	cfg.port_max = 46100;
	cfg.workers = 2;
	cfg.media_timeout = 1;
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
	return rc;
}

int
main(void)
{
	return engines_run(run_engine);
}
