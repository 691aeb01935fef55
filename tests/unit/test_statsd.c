/*
 * test_statsd: statsd's store and Prometheus rendering (statsd/collect.c):
 * sample name validation, the exposition format (HELP/TYPE once per
 * family, daemon label, nodes summed), counters kept monotonic across a
 * publisher restart, gauges of a dead publisher withheld, liveness, and
 * every kind of drop counted; the state saved to Redis and restored by a
 * new statsd (statsd/persist.c does the I/O, tested by
 * tests/integration/test_fault_statsd.py): a restart of a publisher, of
 * statsd, of both, with the state loaded before or after the first
 * messages, and statsd's own counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/buf.h"
#include "libcommon/ipc.h"
#include "statsd/collect.h"
#include "statsd/metrics.h"
#include "statsd/persist.h"

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
	HAS(out, "rtpsec_redis_errors_total{daemon=\"statsd\"} 0");
	/* each family's samples follow its TYPE line, no family twice */
	{
		const char	*p;
		int		 types = 0, helps = 0;

		for (p = out; (p = strstr(p, "# TYPE ")) != NULL; p++)
			types++;
		for (p = out; (p = strstr(p, "# HELP ")) != NULL; p++)
			helps++;
		assert_int_equal(types, helps);
		assert_int_equal(types, 10);
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

/* ---- saving and restoring ---------------------------------------------- */

#define SAVED_MAX	16

/* What collect_save() handed over: Redis's hash, in memory. */
struct saved {
	char	 field[SAVED_MAX][160];
	void	*blob[SAVED_MAX];
	size_t	 len[SAVED_MAX];
	int	 n;
};

static void
saved_one(void *arg, const char *field, const void *blob, size_t len)
{
	struct saved	*sv = arg;
	int		 i;

	/* HSET semantics: a field written again replaces the old value */
	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->field[i], field) == 0)
			break;
	if (i == sv->n) {
		assert_true(sv->n < SAVED_MAX);
		sv->n++;
	} else
		free(sv->blob[i]);
	snprintf(sv->field[i], sizeof(sv->field[i]), "%s", field);
	assert_non_null(sv->blob[i] = malloc(len));
	memcpy(sv->blob[i], blob, len);
	sv->len[i] = len;
}

/* collect_save() into sv, confirmed as Redis would; the number of fields
 * written. */
static int
save(struct collect *c, struct saved *sv, int all)
{
	int	 n = collect_save(c, all, saved_one, sv);

	collect_saved(c, 1);
	return n;
}

/* A new statsd loading sv: every field merged. */
static void
restore(struct collect *c, const struct saved *sv)
{
	int	 i;

	for (i = 0; i < sv->n; i++)
		assert_int_equal(collect_restore(c, sv->blob[i], sv->len[i]),
		    0);
	collect_set_persisting(c, 1);
}

static void
saved_free(struct saved *sv)
{
	int	 i;

	for (i = 0; i < sv->n; i++)
		free(sv->blob[i]);
	sv->n = 0;
}

/* A save Redis confirmed, to a Redis of its own (what a persisting
 * statsd exports is what was saved). */
static void
confirm(struct collect *c)
{
	struct saved	 sv;

	memset(&sv, 0, sizeof(sv));
	save(c, &sv, 0);
	saved_free(&sv);
}

static const char *const RELAYED =
    "rtpsec_packets_relayed_total{daemon=\"relayd\"} ";

/* "rtpsec_packets_relayed_total{daemon="relayd"} v" is in the export. */
static void
relayed_is(struct collect *c, uint64_t now, uint64_t v)
{
	char	 line[128];

	snprintf(line, sizeof(line), "%s%llu", RELAYED, (unsigned long long)v);
	HAS(render(c, now), line);
}

/*
 * statsd A: relayd pid 99 counted 30, restarted as pid 100 which counted
 * 50 (exported 80); A saved and died.  Returns the saved state.
 */
static void
first_life(struct saved *sv)
{
	struct collect	*a;
	const struct sample s99[] = {
		{ "rtpsec_packets_relayed_total", 30 },
		{ "rtpsec_ports_used", 3 },
	};
	const struct sample s100[] = {
		{ "rtpsec_packets_relayed_total", 50 },
		{ "rtpsec_packets_dropped_total{reason=\"no_peer\"}", 7 },
		{ "rtpsec_ports_used", 4 },
	};

	memset(sv, 0, sizeof(*sv));
	assert_non_null(a = collect_new(3000, 0, 0));
	assert_int_equal(feed(a, COLLECT_DAEMON_RELAYD, "relayd", "node1", 99,
	    1000, s99, 2, 10), 0);
	assert_int_equal(feed(a, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s100, 3, 20), 0);
	/* the restart must be saved at once */
	assert_int_equal(collect_urgent(a), 1);
	relayed_is(a, 20, 80);
	assert_int_equal(save(a, sv, 0), 2);	/* relayd/node1, statsd */
	assert_int_equal(collect_urgent(a), 0);
	assert_int_equal(sv->n, 2);
	assert_string_equal(sv->field[0], "relayd/node1");
	assert_string_equal(sv->field[1], "statsd");
	/* nothing changed: only statsd's own counters are written again */
	assert_int_equal(save(a, sv, 0), 1);
	assert_int_equal(save(a, sv, 1), 2);
	collect_destroy(&a);
}

static void
test_restore_same_publisher(void **state)
{
	struct saved	 sv;
	struct collect	*b;
	struct buf	 hb;
	const char	*out;
	const struct sample s[] = {
		{ "rtpsec_packets_relayed_total", 60 },
		{ "rtpsec_packets_dropped_total{reason=\"no_peer\"}", 7 },
		{ "rtpsec_ports_used", 5 },
	};

	(void)state;
	first_life(&sv);
	assert_non_null(b = collect_new(3000, 0, 1000));
	restore(b, &sv);
	/* before relayd is heard: its counters as saved, no gauge, down */
	out = render(b, 1000);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 80");
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 7");
	HASNT(out, "# TYPE rtpsec_ports_used gauge");
	HAS(out, "rtpsec_daemon_up{daemon=\"relayd\"} 0");
	buf_init(&hb);
	assert_int_equal(collect_health(b, &hb, 1000), 0);
	assert_non_null(strstr(hb.p, "{\"node\":\"node1\",\"up\":false,"
	    "\"pid\":100,\"last_heard_ms\":null}],\"last_heard_ms\":null}"));
	assert_non_null(strstr(hb.p, "\"persisting\":true,\"restored\":true"));
	buf_free(&hb);

	/* the same pid 100 (started 1010) goes on: 30 + 60 */
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s, 3, 1100), 0);
	assert_int_equal(collect_urgent(b), 0);
	/* exported as Redis holds it, until the next save */
	relayed_is(b, 1100, 80);
	confirm(b);
	out = render(b, 1100);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 90");
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 7");
	HAS(out, "rtpsec_ports_used{daemon=\"relayd\"} 5");
	HAS(out, "rtpsec_daemon_up{daemon=\"relayd\"} 1");
	buf_init(&hb);
	collect_health(b, &hb, 1150);
	assert_non_null(strstr(hb.p, "\"pid\":100,\"last_heard_ms\":50}],"
	    "\"last_heard_ms\":50}"));
	buf_free(&hb);
	saved_free(&sv);
	collect_destroy(&b);
}

static void
test_restore_publisher_restarted(void **state)
{
	struct saved	 sv;
	struct collect	*b;
	const char	*out;
	const struct sample s[] = {
		{ "rtpsec_packets_relayed_total", 5 },
	};

	(void)state;
	first_life(&sv);
	assert_non_null(b = collect_new(3000, 0, 1000));
	restore(b, &sv);
	/* relayd restarted while statsd was down: its saved last value is
	 * carried over, 30 + 50 + 5 */
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 101,
	    1050, s, 1, 1100), 0);
	assert_int_equal(collect_urgent(b), 1);
	confirm(b);
	out = render(b, 1100);
	HAS(out, "rtpsec_packets_relayed_total{daemon=\"relayd\"} 85");
	/* no longer published by the new relayd: kept at its total */
	HAS(out, "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 7");
	saved_free(&sv);
	collect_destroy(&b);
}

static void
test_restore_both(void **state)
{
	struct saved	 sv;
	struct collect	*b, *c;
	struct sample	 s[] = {
		{ "rtpsec_packets_relayed_total", 60 },
	};

	(void)state;
	first_life(&sv);
	/* statsd B restarts, hears pid 100, then relayd restarts under it */
	assert_non_null(b = collect_new(3000, 0, 1000));
	restore(b, &sv);
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s, 1, 1100), 0);
	assert_int_equal(save(b, &sv, 0), 2);
	relayed_is(b, 1100, 90);
	s[0].v = 3;
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 102,
	    1060, s, 1, 1200), 0);
	assert_int_equal(collect_urgent(b), 1);
	assert_int_equal(save(b, &sv, 0), 2);
	relayed_is(b, 1200, 93);
	/* not saved (B dies before its next save): not shown either */
	s[0].v = 4;
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 102,
	    1060, s, 1, 1300), 0);
	relayed_is(b, 1300, 93);
	collect_destroy(&b);

	/* statsd C: pid 102 still runs (4 since the last save is not lost:
	 * relayd still has it) */
	assert_non_null(c = collect_new(3000, 0, 2000));
	restore(c, &sv);
	relayed_is(c, 2000, 93);
	s[0].v = 9;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1", 102,
	    1060, s, 1, 2100), 0);
	confirm(c);
	relayed_is(c, 2100, 99);
	collect_destroy(&c);

	/* statsd C': pid 102 died while statsd was down too; its value at
	 * the last save (3) is kept, what it counted after (the 4th packet)
	 * is the one residual loss; never below what was exported */
	assert_non_null(c = collect_new(3000, 0, 2000));
	restore(c, &sv);
	s[0].v = 1;
	assert_int_equal(feed(c, COLLECT_DAEMON_RELAYD, "relayd", "node1", 103,
	    1070, s, 1, 2100), 0);
	confirm(c);
	relayed_is(c, 2100, 94);
	saved_free(&sv);
	collect_destroy(&c);
}

/* Redis was down when statsd started: the saved state arrives after the
 * first messages and goes below what statsd counted since. */
static void
test_restore_late(void **state)
{
	struct saved	 sv;
	struct collect	*b;
	struct sample	 s[] = {
		{ "rtpsec_packets_relayed_total", 60 },
		{ "rtpsec_packets_dropped_total{reason=\"no_peer\"}", 8 },
	};

	(void)state;
	first_life(&sv);
	/* the saved incarnation (pid 100) is the one heard first: its
	 * counters were counted from zero here, 30 + 60 */
	assert_non_null(b = collect_new(3000, 0, 1000));
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s, 2, 1100), 0);
	relayed_is(b, 1100, 60);
	restore(b, &sv);
	relayed_is(b, 1100, 90);
	HAS(render(b, 1100), "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 8");
	collect_destroy(&b);

	/* heard pid 100, which then restarted as 101, before Redis
	 * answered: 30 (saved offset) + 60 (pid 100 seen here) + 2 */
	assert_non_null(b = collect_new(3000, 0, 1000));
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s, 1, 1100), 0);
	s[0].v = 2;
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 101,
	    1020, s, 1, 1200), 0);
	relayed_is(b, 1200, 62);
	restore(b, &sv);
	relayed_is(b, 1200, 92);
	/* a series only the saved state has: closed at its saved total */
	HAS(render(b, 1200), "rtpsec_packets_dropped_total{daemon=\"relayd\","
	    "reason=\"no_peer\"} 7");
	collect_destroy(&b);

	/* first heard pid 104, a later incarnation than the saved one:
	 * 80 saved in all, + 2 */
	assert_non_null(b = collect_new(3000, 0, 1000));
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 104,
	    1090, s, 1, 1100), 0);
	restore(b, &sv);
	relayed_is(b, 1100, 82);
	/* merged state is saved again */
	assert_int_equal(collect_save(b, 0, saved_one, &sv), 2);
	collect_saved(b, 1);
	saved_free(&sv);
	collect_destroy(&b);
}

/*
 * statsd restarted while Redis is down: counters stay out of /metrics
 * (stale for Prometheus) instead of showing from zero, come in merged
 * once the saved state loads; past COLLECT_GIVEUP_MS they show live and a
 * later load no longer merges (no burst of old totals as new traffic).
 */
static void
test_restore_hidden_until_loaded(void **state)
{
	struct saved	 sv;
	struct collect	*b;
	const struct sample s[] = {
		{ "rtpsec_packets_relayed_total", 60 },
		{ "rtpsec_ports_used", 5 },
	};

	(void)state;
	first_life(&sv);
	assert_non_null(b = collect_new(3000, 0, 1000));
	collect_expect_restore(b);
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s, 2, 1100), 0);
	assert_null(strstr(render(b, 1100), RELAYED));
	assert_null(strstr(render(b, 1100), "rtpsec_statsd_messages_total"));
	HAS(render(b, 1100), "rtpsec_ports_used{daemon=\"relayd\"} 5");
	restore(b, &sv);
	collect_set_persisting(b, 1);
	relayed_is(b, 1200, 90);
	collect_destroy(&b);

	assert_non_null(b = collect_new(3000, 0, 1000));
	collect_expect_restore(b);
	assert_int_equal(feed(b, COLLECT_DAEMON_RELAYD, "relayd", "node1", 100,
	    1010, s, 2, 1100), 0);
	assert_null(strstr(render(b, 1000 + COLLECT_GIVEUP_MS - 1), RELAYED));
	relayed_is(b, 1000 + COLLECT_GIVEUP_MS, 60);
	restore(b, &sv);
	relayed_is(b, 1000 + COLLECT_GIVEUP_MS + 10, 60);
	saved_free(&sv);
	collect_destroy(&b);
}

static void
test_own_counters(void **state)
{
	struct saved	 sv;
	struct collect	*a, *b;
	const struct sample s[] = { { "rtpsec_x_total", 1 } };
	const char	*out;

	(void)state;
	memset(&sv, 0, sizeof(sv));
	assert_non_null(a = collect_new(3000, 0, 0));
	collect_set_persisting(a, 1);
	assert_int_equal(feed(a, COLLECT_DAEMON_CTLD, "ctld", "n", 1, 1, s, 1,
	    1), 0);
	assert_int_equal(feed(a, COLLECT_DAEMON_CTLD, "ctld", "n", 1, 1, s, 1,
	    2), 0);
	collect_count_drop(a, COLLECT_DROP_MALFORMED);
	collect_count_redis_error(a);
	/* persisting: shown as of the last confirmed save (none yet, but
	 * what was live when persisting began) */
	HAS(render(a, 2), "rtpsec_statsd_messages_total{daemon=\"ctld\"} 0");
	assert_int_equal(collect_save(a, 0, saved_one, &sv), 2);
	/* not confirmed: not shown */
	HAS(render(a, 2), "rtpsec_statsd_messages_total{daemon=\"ctld\"} 0");
	collect_saved(a, 1);
	out = render(a, 2);
	HAS(out, "rtpsec_statsd_messages_total{daemon=\"ctld\"} 2");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"malformed\"} 1");
	HAS(out, "rtpsec_redis_errors_total{daemon=\"statsd\"} 1");
	/* one more message, not saved: lost by the restart, but never shown */
	assert_int_equal(feed(a, COLLECT_DAEMON_CTLD, "ctld", "n", 1, 1, s, 1,
	    3), 0);
	HAS(render(a, 3), "rtpsec_statsd_messages_total{daemon=\"ctld\"} 2");
	/* Redis gone: live values, which only go up */
	collect_set_persisting(a, 0);
	HAS(render(a, 3), "rtpsec_statsd_messages_total{daemon=\"ctld\"} 3");
	collect_destroy(&a);

	/* the next statsd starts from the saved totals */
	assert_non_null(b = collect_new(3000, 0, 0));
	restore(b, &sv);
	out = render(b, 0);
	HAS(out, "rtpsec_statsd_messages_total{daemon=\"ctld\"} 2");
	HAS(out, "rtpsec_ipc_dropped_total{daemon=\"statsd\","
	    "reason=\"malformed\"} 1");
	HAS(out, "rtpsec_redis_errors_total{daemon=\"statsd\"} 1");
	HAS(out, "rtpsec_x_total{daemon=\"ctld\"} 1");
	assert_int_equal(feed(b, COLLECT_DAEMON_CTLD, "ctld", "n", 1, 1, s, 1,
	    1), 0);
	save(b, &sv, 0);
	HAS(render(b, 1), "rtpsec_statsd_messages_total{daemon=\"ctld\"} 3");
	saved_free(&sv);
	collect_destroy(&b);
}

static void
test_restore_malformed(void **state)
{
	struct collect	*c;
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		 key[PERSIST_KEYLEN], small[8];
	static const char garbage[] = "\x81\xa1v";

	(void)state;
	assert_non_null(c = collect_new(3000, 0, 0));
	assert_int_equal(collect_restore(c, garbage, sizeof(garbage) - 1), -1);
	/* a later version: not understood, not guessed at */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	ipc_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, 2);
	ipc_pack_str(&pk, "daemon");
	ipc_pack_str(&pk, "relayd");
	ipc_pack_str(&pk, "node");
	ipc_pack_str(&pk, "n");
	ipc_pack_str(&pk, "pid");
	msgpack_pack_uint64(&pk, 1);
	ipc_pack_str(&pk, "started");
	msgpack_pack_uint64(&pk, 1);
	ipc_pack_str(&pk, "counters");
	msgpack_pack_map(&pk, 0);
	assert_int_equal(collect_restore(c, sb.data, sb.size), -1);
	/* the same as version 1 with an unknown daemon */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 6);
	ipc_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, 1);
	ipc_pack_str(&pk, "daemon");
	ipc_pack_str(&pk, "mediad");
	ipc_pack_str(&pk, "node");
	ipc_pack_str(&pk, "n");
	ipc_pack_str(&pk, "pid");
	msgpack_pack_uint64(&pk, 1);
	ipc_pack_str(&pk, "started");
	msgpack_pack_uint64(&pk, 1);
	ipc_pack_str(&pk, "counters");
	msgpack_pack_map(&pk, 1);
	ipc_pack_str(&pk, "rtpsec_x_total");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	assert_int_equal(collect_restore(c, sb.data, sb.size), -1);
	msgpack_sbuffer_destroy(&sb);
	HAS(render(c, 0), "rtpsec_statsd_series 0");

	assert_int_equal(persist_key(key, sizeof(key), "node1"), 0);
	assert_string_equal(key, "rtpsec:stats:node1");
	assert_int_equal(persist_key(small, sizeof(small), "node1"), -1);
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
		cmocka_unit_test(test_restore_same_publisher),
		cmocka_unit_test(test_restore_publisher_restarted),
		cmocka_unit_test(test_restore_both),
		cmocka_unit_test(test_restore_late),
		cmocka_unit_test(test_restore_hidden_until_loaded),
		cmocka_unit_test(test_own_counters),
		cmocka_unit_test(test_restore_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
