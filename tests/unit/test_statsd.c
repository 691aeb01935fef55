/*
 * test_statsd: statsd's store and Prometheus rendering (statsd/collect.c):
 * sample name validation, the exposition format (HELP/TYPE once per
 * family, daemon label, nodes summed), counters kept monotonic across a
 * publisher restart, gauges of a dead publisher withheld, liveness, and
 * every kind of drop counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/buf.h"
#include "libcommon/ipc.h"
#include "statsd/collect.h"
#include "statsd/metrics.h"

struct sample {
	const char	*key;
	uint64_t	 v;
};

/* Feeds one `stats` message from (daemon, node, pid) to the store. */
static int
feed(struct collect *c, enum collect_daemon d, const char *daemon,
    const char *node, uint64_t pid, uint64_t started,
    const struct sample *s, size_t n, uint64_t now)
{
	struct ipc_w	 w;
	size_t		 i;
	int		 rc;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_STATS, 1, 5);
	ipc_w_str(&w, "daemon", daemon);
	ipc_w_str(&w, "node", node);
	ipc_w_uint(&w, "pid", pid);
	ipc_w_uint(&w, "started", started);
	ipc_w_key(&w, "metrics");
	msgpack_pack_map(&w.pk, n);
	for (i = 0; i < n; i++) {
		ipc_pack_str(&w.pk, s[i].key);
		msgpack_pack_uint64(&w.pk, s[i].v);
	}
	rc = collect_message(c, d, w.sb.data, w.sb.size, now);
	ipc_w_free(&w);
	return rc;
}

/* Renders and returns the exposition (static buffer, for assertions). */
static const char *
render(struct collect *c, uint64_t now)
{
	static char	 out[65536];
	struct buf	 b;

	buf_init(&b);
	assert_int_equal(collect_render(c, &b, now), 0);
	assert_true(b.len < sizeof(out));
	memcpy(out, b.p, b.len + 1);
	buf_free(&b);
	return out;
}

/* Counts the lines of text that equal line exactly. */
static int
count_lines(const char *text, const char *line)
{
	size_t		 len = strlen(line);
	const char	*p = text;
	int		 n = 0;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			n++;
		p += len;
	}
	return n;
}

#define HAS(text, line)	assert_int_equal(count_lines((text), (line)), 1)
#define HASNT(text, line) assert_int_equal(count_lines((text), (line)), 0)

static void
test_key_check(void **state)
{
	static const char *const good[] = {
		"rtpsec_packets_relayed_total",
		"rtpsec_packets_dropped_total{reason=\"wrong_source\"}",
		"rtpsec_ng_requests_total{command=\"offer\",result=\"ok\"}",
		"rtpsec_x{a=\"q\\\"uote\\\\ and \\n\"}",
		"rtpsec_x{a=\"\"}",
	};
	static const char *const bad[] = {
		"", "packets_total", "rtpsec_", "1rtpsec_x", "rtpsec_x y",
		"rtpsec_x{", "rtpsec_x{}", "rtpsec_x{a}", "rtpsec_x{a=b}",
		"rtpsec_x{a=\"b\"", "rtpsec_x{a=\"b\"}z", "rtpsec_x{a=\"b\",}",
		"rtpsec_x{a=\"b\nc\"}", "rtpsec_x{a=\"\\t\"}",
		"rtpsec_x{daemon=\"ctld\"}", "rtpsec_x{__name__=\"y\"}",
		"rtpsec_daemon_up", "rtpsec_statsd_series",
		"rtpsec_x{a=\"1\"}\n# TYPE",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_not_equal(collect_key_check(good[i],
		    strlen(good[i])), 0);
	assert_int_equal(collect_key_check(good[1], strlen(good[1])),
	    strlen("rtpsec_packets_dropped_total"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(collect_key_check(bad[i], strlen(bad[i])), 0);
	assert_true(metrics_is_counter("rtpsec_a_total", 14));
	assert_false(metrics_is_counter("rtpsec_ports_used", 17));
	assert_false(metrics_is_counter("_total", 6));
}

static void
test_render_format(void **state)
{
	struct collect	*c;
	const char	*out;
	const struct sample relayd[] = {
		{ "rtpsec_packets_relayed_total", 10 },
		{ "rtpsec_packets_dropped_total{reason=\"wrong_source\"}", 3 },
		{ "rtpsec_packets_dropped_total{reason=\"no_peer\"}", 1 },
		{ "rtpsec_ports_used", 4 },
		{ "rtpsec_ipc_dropped_total{reason=\"malformed\"}", 2 },
	};
	const struct sample keyd[] = {
		{ "rtpsec_ipc_dropped_total{reason=\"malformed\"}", 5 },
		{ "rtpsec_something_new", 9 },
	};

	(void)state;
	assert_non_null(c = collect_new(3000, 0, 0));
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1", 1,
	    100, relayd, 5, 1000), 0);
	assert_int_equal(feed(c, COLLECT_DAEMON_KEYD, "keyd", "node1", 2,
	    100, keyd, 2, 1000), 0);
	out = render(c, 1500);

	HAS(out, "# HELP rtpsec_packets_relayed_total RTP/RTCP packets "
	    "relayed (relayd)");
	HAS(out, "# TYPE rtpsec_packets_relayed_total counter");
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 10");
	HAS(out, "# TYPE rtpsec_packets_dropped_total counter");
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"wrong_source\"} 3");
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 1");
	HAS(out, "# TYPE rtpsec_ports_used gauge");
	HAS(out, "rtpsec_ports_used{daemon=\"relayd\"} 4");
	/* one block per family, even across daemons and statsd's own */
	HAS(out, "# TYPE rtpsec_ipc_dropped_total counter");
	HAS(out, "# HELP rtpsec_ipc_dropped_total Malformed or refused IPC "
	    "messages, by daemon and reason");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"relayd\","
	    "reason=\"malformed\"} 2");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"keyd\","
	    "reason=\"malformed\"} 5");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"malformed\"} 0");
	{
		/* every sample of the family sits in its block */
		const char *blk = strstr(out, "# TYPE rtpsec_ipc_dropped_total");
		const char *next = strstr(blk, "\n# HELP");
		const char *p;

		for (p = out; (p = strstr(p, "\nrtpsec_ipc_dropped_total{")) !=
		    NULL; p++)
			assert_true(p > blk && (next == NULL || p < next));
	}
	/* an unknown family gets a generic help line and its type */
	HAS(out, "# TYPE rtpsec_something_new gauge");
	HAS(out, "rtpsec_something_new{daemon=\"keyd\"} 9");
	/* liveness and statsd's own */
	HAS(out, "rtpsec_daemon_up{daemon=\"relayd\"} 1");
	HAS(out, "rtpsec_daemon_up{daemon=\"keyd\"} 1");
	HAS(out, "rtpsec_daemon_up{daemon=\"ctld\"} 0");
	HAS(out, "rtpsec_daemon_up{daemon=\"statsd\"} 1");
	HAS(out, "# TYPE rtpsec_daemon_up gauge");
	HAS(out, "# TYPE rtpsec_statsd_uptime_seconds gauge");
	HAS(out, "rtpsec_statsd_uptime_seconds 1");
	HAS(out, "rtpsec_statsd_series 7");
	HAS(out, "rtpsec_statsd_messages_total{daemon=\"relayd\"} 1");
	/* each family's samples follow its TYPE line, no family twice */
	{
		const char	*p;
		int		 types = 0, helps = 0;

		for (p = out; (p = strstr(p, "# TYPE ")) != NULL; p++)
			types++;
		for (p = out; (p = strstr(p, "# HELP ")) != NULL; p++)
			helps++;
		assert_int_equal(types, helps);
		assert_int_equal(types, 9);
	}
	assert_int_equal(out[strlen(out) - 1], '\n');
	collect_destroy(&c);
	assert_null(c);
}

static void
test_sum_nodes(void **state)
{
	struct collect	*c;
	const char	*out;
	const struct sample a[] = {
		{ "rtpsec_packets_relayed_total", 10 },
		{ "rtpsec_ports_used", 4 },
	};
	const struct sample b[] = {
		{ "rtpsec_packets_relayed_total", 32 },
		{ "rtpsec_ports_used", 6 },
	};

	(void)state;
	assert_non_null(c = collect_new(3000, 0, 0));
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1", 1,
	    100, a, 2, 1000), 0);
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node2", 1,
	    100, b, 2, 1000), 0);
	out = render(c, 1000);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 42");
	HAS(out, "rtpsec_ports_used{daemon=\"relayd\"} 10");
	/* node2 goes silent: its counter still counts, its gauge does not */
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1", 1,
	    100, a, 2, 3500), 0);
	out = render(c, 4500);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 42");
	HAS(out, "rtpsec_ports_used{daemon=\"relayd\"} 4");
	HAS(out, "rtpsec_daemon_up{daemon=\"relayd\"} 1");
	collect_destroy(&c);
}

static void
test_restart_offset(void **state)
{
	struct collect	*c;
	const char	*out;
	struct sample	 s[] = {
		{ "rtpsec_packets_relayed_total", 50 },
		{ "rtpsec_packets_dropped_total{reason=\"no_peer\"}", 7 },
		{ "rtpsec_ports_used", 3 },
	};

	(void)state;
	assert_non_null(c = collect_new(3000, 0, 0));
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    100, 1000, s, 3, 10), 0);
	HAS(render(c, 10), "rtpsec_packets_relayed_total{daemon=\"relayd\"} 50");

	/* restart: new pid and start time, counters from zero */
	s[0].v = 5;
	s[1].v = 0;
	s[2].v = 1;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    101, 1010, s, 3, 20), 0);
	out = render(c, 20);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 55");
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 7");
	HAS(out, "rtpsec_ports_used{daemon=\"relayd\"} 1");	/* gauge: as is */

	/* it keeps counting after the restart */
	s[0].v = 7;
	s[1].v = 2;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    101, 1010, s, 3, 30), 0);
	out = render(c, 30);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 57");
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 9");

	/* same pid, only `started` changed (pid reuse in a container) */
	s[0].v = 1;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    101, 1020, s, 3, 40), 0);
	HAS(render(c, 40), "rtpsec_packets_relayed_total{daemon=\"relayd\"} 58");

	/* a counter that shrinks without a visible restart still never goes
	 * backwards */
	s[0].v = 0;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    101, 1020, s, 3, 50), 0);
	HAS(render(c, 50), "rtpsec_packets_relayed_total{daemon=\"relayd\"} 58");
	s[0].v = 4;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    101, 1020, s, 3, 60), 0);
	HAS(render(c, 60), "rtpsec_packets_relayed_total{daemon=\"relayd\"} 62");

	/* a restarted daemon that no longer publishes a counter: its total
	 * stays exported */
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1",
	    102, 1030, s + 2, 1, 70), 0);
	out = render(c, 70);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 62");
	/* 7 + 2 before the restart at 40, 2 after it */
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 11");
	collect_destroy(&c);
}

static void
test_liveness_health(void **state)
{
	struct collect	*c;
	struct buf	 b;
	const struct sample s[] = { { "rtpsec_calls_active", 2 } };

	(void)state;
	assert_non_null(c = collect_new(1000, 0, 0));
	buf_init(&b);
	assert_int_equal(collect_health(c, &b, 0), 0);
	assert_non_null(strstr(b.p, "\"status\":\"down\""));
	buf_free(&b);

	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "n", 1, 1,
	    s, 0, 100), 0);
	assert_int_equal(feed(c, COLLECT_DAEMON_CTLD, "ctld", "n", 2, 1,
	    s, 1, 100), 0);
	assert_int_equal(feed(c, COLLECT_DAEMON_KEYD, "keyd", "n", 3, 1,
	    s, 0, 100), 0);
	buf_init(&b);
	assert_int_equal(collect_health(c, &b, 1100), 1);
	assert_non_null(strstr(b.p, "\"status\":\"up\""));
	assert_non_null(strstr(b.p, "\"ctld\":{\"up\":true"));
	buf_free(&b);
	HAS(render(c, 1100), "rtpsec_calls_active{daemon=\"ctld\"} 2");

	/* silent for longer than down_after_ms */
	buf_init(&b);
	assert_int_equal(collect_health(c, &b, 1101), 0);
	assert_non_null(strstr(b.p, "\"relayd\":{\"up\":false"));
	buf_free(&b);
	HAS(render(c, 1101), "rtpsec_daemon_up{daemon=\"ctld\"} 0");
	HASNT(render(c, 1101), "rtpsec_calls_active{daemon=\"ctld\"} 2");

	/* a longer down_after_ms applies at once (SIGHUP) */
	collect_set_down_after(c, 5000);
	buf_init(&b);
	assert_int_equal(collect_health(c, &b, 1101), 1);
	buf_free(&b);
	collect_destroy(&c);
}

static void
test_drops(void **state)
{
	struct collect	*c;
	struct ipc_w	 w;
	const char	*out;
	static const char garbage[] = "\xc1\x00 not msgpack";
	const struct sample bad[] = {
		{ "rtpsec_ok_total", 1 },
		{ "rtpsec_bad{", 1 },
		{ "other_total", 1 },
		{ "rtpsec_ok_total", 2 },	/* twice in one message */
	};
	const struct sample three[] = {
		{ "rtpsec_a", 1 }, { "rtpsec_b", 1 }, { "rtpsec_c", 1 },
	};

	(void)state;
	assert_non_null(c = collect_new(3000, 2, 0));
	assert_int_equal(collect_message(c, COLLECT_DAEMON_RELAYD, garbage,
	    sizeof(garbage) - 1, 1), -1);
	/* a relayd message on keyd's socket */
	assert_int_equal(feed(c, COLLECT_DAEMON_KEYD, "relayd", "n", 1, 1,
	    three, 1, 1), -1);
	/* node with a quote in it */
	assert_int_equal(feed(c, COLLECT_DAEMON_KEYD, "keyd", "n\"", 1, 1,
	    three, 1, 1), -1);
	/* a ping request is not a PUB message */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_PING, 7, 0);
	assert_int_equal(collect_message(c, COLLECT_DAEMON_CTLD, w.sb.data,
	    w.sb.size, 1), -1);
	ipc_w_free(&w);
	/* stats without metrics */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_STATS, 8, 2);
	ipc_w_str(&w, "daemon", "ctld");
	ipc_w_str(&w, "node", "n");
	assert_int_equal(collect_message(c, COLLECT_DAEMON_CTLD, w.sb.data,
	    w.sb.size, 1), -1);
	ipc_w_free(&w);
	/* an event marks nothing new but is accepted */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_EVENT, 9, 4);
	ipc_w_str(&w, "daemon", "ctld");
	ipc_w_str(&w, "node", "n");
	ipc_w_str(&w, "type", "timeout");
	ipc_w_str(&w, "call", "x");
	assert_int_equal(collect_message(c, COLLECT_DAEMON_CTLD, w.sb.data,
	    w.sb.size, 1), 0);
	ipc_w_free(&w);
	/* bad samples are dropped one by one, the message is kept */
	assert_int_equal(feed(c, COLLECT_DAEMON_CTLD, "ctld", "n", 1, 1,
	    bad, 4, 1), 0);
	/* the store holds two series: one more does not fit */
	assert_int_equal(feed(c, COLLECT_DAEMON_CTLD, "ctld", "n", 1, 1,
	    three, 3, 2), 0);
	collect_count_drop(c, COLLECT_DROP_MALFORMED);

	out = render(c, 2);
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"malformed\"} 2");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"wrong_daemon\"} 1");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"bad_field\"} 2");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"unknown_op\"} 1");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"bad_metric\"} 3");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"series_limit\"} 2");
	HAS(out, "rtpsec_ok_total{daemon=\"ctld\"} 1");
	HAS(out, "rtpsec_a{daemon=\"ctld\"} 1");
	HASNT(out, "rtpsec_b{daemon=\"ctld\"} 1");
	HAS(out, "rtpsec_statsd_series 2");
	HAS(out, "rtpsec_statsd_messages_total{daemon=\"ctld\"} 3");
	collect_destroy(&c);
}

static void
test_publisher_limit(void **state)
{
	struct collect	*c;
	char		 node[32];
	int		 i;
	const struct sample s[] = { { "rtpsec_x_total", 1 } };

	(void)state;
	assert_non_null(c = collect_new(3000, 0, 0));
	for (i = 0; i < COLLECT_MAX_PUBS; i++) {
		snprintf(node, sizeof(node), "node%d", i);
		assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", node,
		    1, 1, s, 1, 1), 0);
	}
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "one-more",
	    1, 1, s, 1, 1), -1);
	HAS(render(c, 1), "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"publisher_limit\"} 1");
	collect_destroy(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_check),
		cmocka_unit_test(test_render_format),
		cmocka_unit_test(test_sum_nodes),
		cmocka_unit_test(test_restart_offset),
		cmocka_unit_test(test_liveness_health),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_publisher_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
