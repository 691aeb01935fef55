/*
 * test_keyd: keyd's request handling (keyd/ctl.c): `ping` answered with
 * the daemon's identity, unknown ops refused, malformed requests counted,
 * and its `stats` message in the shape docs/ipc.md gives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libcommon/config.h"
#include "libcommon/ipc.h"
#include "keyd/ctl.h"
#include "statsd/collect.h"

static struct config	cfg;

static int
setup(void **state)
{
	char	 err[256];

	(void)state;
	return config_load(&cfg, NULL, err, sizeof(err));
}

/* Sends q to keyd and parses its reply (in w, which r points into). */
static int
ask(struct keyd *k, const struct ipc_w *q, struct ipc_w *w, struct ipc_r *r)
{
	int	 rc;

	ipc_w_init(w);
	rc = keyd_request(k, q->sb.data, q->sb.size, w);
	if (rc == 1)
		assert_int_equal(ipc_r_parse(r, w->sb.data, w->sb.size), 0);
	return rc;
}

static void
test_ping(void **state)
{
	struct keyd	 k;
	struct ipc_w	 q, w;
	struct ipc_r	 r;
	char		 s[64];
	uint64_t	 v;

	(void)state;
	keyd_init(&k, &cfg);
	ipc_w_init(&q);
	ipc_w_begin(&q, IPC_OP_PING, 77, 0);
	assert_int_equal(ask(&k, &q, &w, &r), 1);
	assert_true(r.is_reply);
	assert_true(r.ok);
	assert_int_equal(r.id, 77);
	assert_int_equal(r.op, IPC_OP_PING);
	assert_int_equal(ipc_get_strz(r.root, "daemon", s, sizeof(s)), 0);
	assert_string_equal(s, "keyd");
	assert_int_equal(ipc_get_strz(r.root, "node", s, sizeof(s)), 0);
	assert_string_equal(s, cfg.node_id);
	assert_int_equal(ipc_get_uint(r.root, "pid", &v), 0);
	assert_int_equal(v, (uint64_t)getpid());
	assert_int_equal(ipc_get_uint(r.root, "uptime", &v), 0);
	ipc_r_free(&r);
	ipc_w_free(&w);
	ipc_w_free(&q);
	assert_int_equal(k.requests, 1);
}

static void
test_refused(void **state)
{
	struct keyd	 k;
	struct ipc_w	 q, w;
	struct ipc_r	 r;
	static const char garbage[] = "\x81\xa1v";

	(void)state;
	keyd_init(&k, &cfg);
	ipc_w_init(&q);
	ipc_w_begin(&q, IPC_OP_LEG_ALLOC, 5, 0);
	assert_int_equal(ask(&k, &q, &w, &r), 1);
	assert_false(r.ok);
	assert_int_equal(r.id, 5);
	assert_string_equal(r.error, "unknown op");
	ipc_r_free(&r);
	ipc_w_free(&w);
	ipc_w_free(&q);
	assert_int_equal(k.dropped[KEYD_DROP_UNKNOWN_OP], 1);

	/* no id: nothing to answer */
	ipc_w_init(&w);
	assert_int_equal(keyd_request(&k, garbage, sizeof(garbage) - 1, &w),
	    0);
	ipc_w_free(&w);
	assert_int_equal(k.dropped[KEYD_DROP_MALFORMED], 1);

	/* an id but a bad version: answered ok:false */
	ipc_w_init(&q);
	msgpack_pack_map(&q.pk, 3);
	ipc_w_uint(&q, "v", 99);
	ipc_w_str(&q, "op", "ping");
	ipc_w_uint(&q, "id", 6);
	assert_int_equal(ask(&k, &q, &w, &r), 1);
	assert_false(r.ok);
	assert_int_equal(r.id, 6);
	ipc_r_free(&r);
	ipc_w_free(&w);
	ipc_w_free(&q);
	assert_int_equal(k.dropped[KEYD_DROP_MALFORMED], 2);
}

static void
test_stats(void **state)
{
	struct keyd		 k;
	struct ipc_w		 w;
	struct ipc_r		 r;
	const msgpack_object	*m;
	uint64_t		 v;
	char			 s[64];

	(void)state;
	keyd_init(&k, &cfg);
	k.requests = 12;
	k.dropped[KEYD_DROP_MALFORMED] = 3;
	k.unwrap_ok = 5;
	k.unwrap_failed = 2;
	ipc_w_init(&w);
	keyd_stats(&k, &w, 9);
	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), 0);
	assert_int_equal(r.op, IPC_OP_STATS);
	assert_false(r.is_reply);
	assert_int_equal(ipc_get_strz(r.root, "daemon", s, sizeof(s)), 0);
	assert_string_equal(s, "keyd");
	assert_int_equal(ipc_get_uint(r.root, "pid", &v), 0);
	assert_int_equal(ipc_get_uint(r.root, "started", &v), 0);
	assert_int_equal(v, k.started);
	assert_non_null(m = ipc_get_map(r.root, "metrics"));
	assert_int_equal(ipc_get_uint(m, "rtpsec_keyd_requests_total", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_keyd_unwrap_total{result=\"ok\"}", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_keyd_unwrap_total{result=\"failed\"}", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_ipc_dropped_total{reason=\"malformed\"}", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(ipc_get_uint(m,
	    "rtpsec_ipc_dropped_total{reason=\"unknown_op\"}", &v), 0);
	assert_int_equal(v, 0);
	ipc_r_free(&r);
	ipc_w_free(&w);
}

/* The contract end to end: statsd accepts keyd's stats message as is. */
static void
test_stats_to_statsd(void **state)
{
	struct keyd	 k;
	struct ipc_w	 w;
	struct collect	*c;
	struct buf	 b;

	(void)state;
	keyd_init(&k, &cfg);
	k.requests = 4;
	k.unwrap_failed = 1;
	assert_non_null(c = collect_new(1000, 0, 0));
	ipc_w_init(&w);
	keyd_stats(&k, &w, 1);
	assert_int_equal(collect_message(c, COLLECT_DAEMON_KEYD, w.sb.data,
	    w.sb.size, 10), 0);
	ipc_w_free(&w);
	buf_init(&b);
	assert_int_equal(collect_render(c, &b, 10), 0);
	assert_non_null(strstr(b.p,
	    "\nrtpsec_keyd_requests_total{daemon=\"keyd\"} 4\n"));
	assert_non_null(strstr(b.p,
	    "\nrtpsec_daemon_up{daemon=\"keyd\"} 1\n"));
	assert_non_null(strstr(b.p, "\nrtpsec_keyd_unwrap_total{daemon="
	    "\"keyd\",result=\"failed\"} 1\n"));
	assert_non_null(strstr(b.p, "\nrtpsec_ipc_dropped_total{daemon="
	    "\"statsd\",reason=\"bad_metric\"} 0\n"));
	buf_free(&b);
	collect_destroy(&c);
}

/* The key-set gauge follows sdes_offer and sdes_forget (no relayd needed:
 * neither pushes keys). */
static void
test_stats_key_sets(void **state)
{
	struct keyd		 k;
	struct ipc_w		 w, req;
	struct ipc_r		 r;
	const msgpack_object	*m;
	uint64_t		 v;
	int			 i;
	static const char *const legs[] = { "A", "B" };
	struct keyd_kek		 kek;

	(void)state;
	keyd_init(&k, &cfg);
	assert_int_equal(keyd_kek_generate(&kek), 0);
	assert_null(keyd_sdes_new("ipc://nowhere.sock", 50, NULL));
	assert_non_null(k.sdes = keyd_sdes_new("ipc://nowhere.sock", 50,
	    &kek));
	for (i = 0; i < 3; i++) {
		ipc_w_init(&req);
		if (i < 2) {
			ipc_w_begin(&req, IPC_OP_SDES_OFFER, 100 + i, 3);
			ipc_w_str(&req, "call", "gauge-call");
			ipc_w_str(&req, "leg", legs[i]);
			ipc_w_uint(&req, "media", 1);
		} else {
			ipc_w_begin(&req, IPC_OP_SDES_FORGET, 100 + i, 1);
			ipc_w_str(&req, "call", "gauge-call");
		}
		ipc_w_init(&w);
		assert_int_equal(keyd_request(&k, req.sb.data, req.sb.size,
		    &w), 1);
		assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), 0);
		assert_true(r.ok);
		ipc_r_free(&r);
		ipc_w_free(&w);
		ipc_w_free(&req);

		ipc_w_init(&w);
		keyd_stats(&k, &w, 1);
		assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), 0);
		assert_non_null(m = ipc_get_map(r.root, "metrics"));
		assert_int_equal(ipc_get_uint(m, "rtpsec_keyd_key_sets", &v),
		    0);
		assert_int_equal(v, i < 2 ? (uint64_t)i + 1 : 0);
		ipc_r_free(&r);
		ipc_w_free(&w);
	}
	keyd_sdes_destroy(&k.sdes);
	keyd_kek_wipe(&kek);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_to_statsd),
		cmocka_unit_test(test_stats_key_sets),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
