/*
 * store: the Redis call-record store (hiredis), docs/redis.md.
 *
 * One key per call, `rtpsec:call:{<call-id>}` (the braces are a Redis
 * Cluster hash tag), a HASH with fields v (record version, STORE_VERSION),
 * node, created, last_signal and data (the call itself, opaque here: ctld
 * writes msgpack, see docs/redis.md), with a TTL refreshed on every write;
 * and one SET per node, `rtpsec:node:<node_id>:calls`, of its call-ids.
 * Every write is one MULTI/EXEC transaction; calls are found through the
 * node set, never with KEYS.
 *
 * Redis must never slow the ng path down: writes are pipelined (sent at
 * once, their replies read by store_tick() or the next write, never
 * waited for), and connect and reply timeouts are short
 * (STORE_TIMEOUT_MS).  While Redis is down, writes are kept (the latest
 * per call) and store_tick() reconnects every second and writes them all
 * back.  Failed attempts are counted (store_errors()).
 */
#ifndef RTPSEC_STORE_H
#define RTPSEC_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_VERSION		1
#define STORE_TIMEOUT_MS	100
#define STORE_RETRY_MS		1000	/* reconnection attempts: at most */
#define STORE_RETRY_MIN_MS	25	/* at first, doubling up to the above */
#define STORE_KEYLEN		512

struct store;

/* spec: "host:port", "[v6]:port" or "unix:PATH" (relative to the cwd,
 * the run directory).  Connects at once if it can; NULL only when spec
 * does not parse or memory runs out. */
struct store	*store_new(const char *spec, const char *node, int call_ttl);
/* The same for another kind of record: keys `rtpsec:<ns>:{<id>}` and the
 * node set `rtpsec:node:<node>:<ns>s` (store_new is ns "call"; relayd's
 * media state is ns "relay", docs/redis.md). */
struct store	*store_new_ns(const char *spec, const char *ns,
		    const char *node, int call_ttl);
void		 store_destroy(struct store **);

/* Writes (or queues, when Redis is down) the record of call id.  data is
 * copied.  Returns 0 when sent (Redis's answer is read later; a refusal
 * or a lost connection queues it again), 1 when queued, -1 on a bad id. */
int		 store_call_put(struct store *, const char *id,
		    uint64_t created, uint64_t last_signal,
		    const void *data, size_t len);
/* Removes the record and its node-set entry (or queues it). 0, 1, -1. */
int		 store_call_del(struct store *, const char *id);
/* Reads Redis's answers to the writes sent, reconnects (every
 * STORE_RETRY_MS) and writes queued operations back.  Call it every loop
 * turn. */
void		 store_tick(struct store *, uint64_t now_ms);

/* Calls fn for each record of this node (SMEMBERS of the node set, then
 * HGET data of each); records whose key expired are removed from the set.
 * Returns the number loaded, or -1 when Redis is unreachable. */
typedef void	(*store_load_fn)(void *arg, const char *id,
		    const void *data, size_t len);
int		 store_calls_load(struct store *, store_load_fn, void *arg);
/* The same for another node's set (a relay node adopting a dead one's
 * calls); blocking, with the short timeouts. */
int		 store_calls_load_node(struct store *, const char *node,
		    store_load_fn, void *arg);
/* Deletes another node's set once its calls are adopted; 0 or -1. */
int		 store_node_drop(struct store *, const char *node);
/* Connections made so far: a change means Redis came back and may have
 * lost what it held (restarted without persistence), so the caller
 * writes every live record again. */
uint64_t	 store_epoch(const struct store *);
/* Operations sent whose EXEC reply has not come yet (for pacing bursts). */
size_t		 store_inflight(const struct store *);
/* Removes id from node's set, keeping its record (blocking); 0 or -1. */
int		 store_node_unlink(struct store *, const char *node,
		    const char *id);

int		 store_connected(const struct store *);
size_t		 store_pending(const struct store *);
uint64_t	 store_errors(const struct store *);

/* Key names; -1 when they do not fit (STORE_KEYLEN). */
int		 store_call_key(char *, size_t, const char *id);
int		 store_node_key(char *, size_t, const char *node);
int		 store_ns_key(char *, size_t, const char *ns, const char *id);
int		 store_ns_node_key(char *, size_t, const char *ns,
		    const char *node);

#endif
