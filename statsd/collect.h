/*
 * collect: statsd's store of the `stats` messages the daemons publish
 * (docs/ipc.md "PUB messages"), and its two renderings: the Prometheus
 * text exposition format 0.0.4 (/metrics) and a JSON health summary
 * (/health).
 *
 * A publisher is a daemon name and a node; for each one the store keeps
 * the time it was last heard, its pid and start time, and the last value
 * of each sample it published.  Exported samples get a `daemon` label and
 * are summed over the nodes of one daemon name.
 *
 * Invariants:
 * - an exported counter (a family ending in _total) never goes backwards:
 *   when a publisher restarts (its pid or `started` changes) or a counter
 *   of it shrinks, the last value is added to the series' offset, so the
 *   export continues from where it was;
 * - the number of series is bounded (max_series); what does not fit is
 *   dropped and counted, as is every malformed message or sample;
 * - every sample name re-emitted is one statsd validated: `rtpsec_` family,
 *   Prometheus name and label syntax, no `daemon` label of its own;
 * - across a restart of statsd, counters go on from the state saved in
 *   Redis (collect_save(), collect_restore(), statsd/persist.c): a
 *   publisher heard again with the saved pid and `started` continues on the
 *   saved offset, one that restarted meanwhile on the saved offset + last.
 *   statsd's own counters are exported, while persisting, as of the last
 *   save Redis confirmed, so no scrape sees a value a restart would lose.
 *
 * Thread safety: every function takes the store's mutex, so the main loop
 * (collect_message) and the HTTP thread (collect_render, collect_health)
 * may call concurrently.
 */
#ifndef RTPSEC_STATSD_COLLECT_H
#define RTPSEC_STATSD_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/buf.h"

#define COLLECT_MAX_SERIES	4096
#define COLLECT_MAX_PUBS	64
#define COLLECT_KEYLEN		256	/* longest sample name with labels */

/* X(enum, "reason"): why statsd dropped (part of) a PUB message. */
#define COLLECT_DROPS(X)						\
	X(MALFORMED, "malformed")	/* not one ipc message */	\
	X(UNKNOWN_OP, "unknown_op")	/* neither stats nor event */	\
	X(BAD_FIELD, "bad_field")	/* missing or ill-typed field */	\
	X(WRONG_DAEMON, "wrong_daemon")	/* daemon name not the socket's */ \
	X(BAD_METRIC, "bad_metric")	/* one sample: bad name or value */ \
	X(SERIES_LIMIT, "series_limit")	/* one sample: store full */	\
	X(PUBLISHER_LIMIT, "publisher_limit")	/* too many nodes */

#define COLLECT_DROP_ENUM(e, s)	COLLECT_DROP_##e,
enum collect_drop {
	COLLECT_DROPS(COLLECT_DROP_ENUM)
	COLLECT_DROP_COUNT
};
extern const char *const collect_drop_names[COLLECT_DROP_COUNT];

/* The daemons statsd watches; rtpsec_daemon_up has one sample each. */
#define COLLECT_DAEMONS(X)						\
	X(RELAYD, "relayd")						\
	X(CTLD, "ctld")							\
	X(KEYD, "keyd")

#define COLLECT_DAEMON_ENUM(e, s)	COLLECT_DAEMON_##e,
enum collect_daemon {
	COLLECT_DAEMONS(COLLECT_DAEMON_ENUM)
	COLLECT_DAEMON_COUNT
};
extern const char *const collect_daemon_names[COLLECT_DAEMON_COUNT];

struct collect;

/* Owned store, NULL on allocation failure.  max_series 0 means
 * COLLECT_MAX_SERIES.  now_ms is the monotonic time statsd started. */
struct collect	*collect_new(int down_after_ms, size_t max_series,
		    uint64_t now_ms);
void		 collect_destroy(struct collect **);
void		 collect_set_down_after(struct collect *, int down_after_ms);

/*
 * One PUB message as received on the SUB socket of daemon d.  A `stats`
 * message updates the publisher's samples; an `event` only marks it heard.
 * Returns 0, or -1 when the whole message was dropped (counted).  Samples
 * dropped one by one are counted but do not fail the message.
 */
int	collect_message(struct collect *, enum collect_daemon d,
	    const void *data, size_t len, uint64_t now_ms);
/* Counts a drop that happened before collect_message (e.g. a multipart
 * message on the SUB socket). */
void	collect_count_drop(struct collect *, enum collect_drop);

/* Appends the Prometheus text exposition (format 0.0.4).  0, or -1 when
 * out of memory. */
int	collect_render(struct collect *, struct buf *, uint64_t now_ms);
/* Appends a JSON object with each daemon's state.  Returns 1 when every
 * daemon is up, 0 when one is down, -1 when out of memory. */
int	collect_health(struct collect *, struct buf *, uint64_t now_ms);

/*
 * Saving and restoring (statsd/persist.c keeps them in Redis).
 *
 * collect_save() calls fn once per publisher changed since the last save
 * (every publisher if all), with a Redis hash field ("<daemon>/<node>")
 * and a msgpack blob {v, daemon, node, pid, started, counters: {name:
 * [offset, last]}}, and once for statsd's own counters (field "statsd").
 * fn must copy the blob.  Returns the number of calls.  Then
 * collect_saved(ok) says whether Redis took them: if not, every publisher
 * is saved again next time.
 */
typedef void	(*collect_save_fn)(void *arg, const char *field,
		    const void *blob, size_t len);
int	collect_save(struct collect *, int all, collect_save_fn, void *arg);
void	collect_saved(struct collect *, int ok);
/* Merges one saved blob (rules in collect.h's invariants, and pub_merge()
 * for a publisher heard before Redis answered).  0, or -1 if malformed. */
int	collect_restore(struct collect *, const void *blob, size_t len);
/* statsd has a Redis to restore from: counters stay out of the
 * exposition until the saved state is loaded (collect_set_persisting(on))
 * or COLLECT_GIVEUP_MS passed, so that a scrape never sees them lower
 * than before a restart. */
#define COLLECT_GIVEUP_MS	30000
void	collect_expect_restore(struct collect *);
/* on: the saved state is loaded and Redis takes the saves; off: Redis is
 * unreachable, statsd's own counters are shown live. */
void	collect_set_persisting(struct collect *, int on);
/* 1 when an offset changed since the last save (a publisher restarted):
 * save at once, before a statsd restart could read the old offsets. */
int	collect_urgent(struct collect *);
void	collect_count_redis_error(struct collect *);

/* Checks a sample name as published: `family{label="value",...}` or
 * `family`.  Returns the family's length, or 0 when invalid. */
size_t	collect_key_check(const char *, size_t);

#endif
