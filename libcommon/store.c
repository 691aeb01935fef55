/*
 * store: Redis call records behind the call model, see store.h and
 * docs/redis.md.
 *
 * Invariant: an operation that was not confirmed by EXEC stays in the
 * pending table, keyed by call-id, holding only the latest operation for
 * that call (a put after a put replaces it, a delete replaces a put), so
 * the backlog is bounded by the number of calls and replays converge on
 * the state ctld has now.
 *
 * Writes are pipelined: store_call_put()/store_call_del() send the whole
 * MULTI ... EXEC and return; the replies are read later (store_tick(),
 * or before the next write), so the caller never waits for Redis.  Until
 * its EXEC reply arrives an operation sits in the in-flight FIFO (Redis
 * answers in order); a connection lost, an EXEC refused or replies later
 * than STORE_TIMEOUT_MS move it back to the pending table, in order, so
 * the latest operation of each call is the one replayed.
 */
#include <poll.h>


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "libcommon/redisaddr.h"
#include "libcommon/store.h"

#define STORE_BUCKETS	1024

enum store_op { STORE_PUT, STORE_DEL };

struct store_pending {
	struct store_pending	*next;
	enum store_op		 op;
	uint64_t		 created, last_signal;
	char			*id;
	void			*data;
	size_t			 len;
};

struct store_flight {
	struct store_flight	*next;
	enum store_op		 op;
	int			 replies;	/* still to read */
	int			 failed;	/* a reply was an error */
	uint64_t		 sent_ms;
	uint64_t		 created, last_signal;
	char			*id;
	void			*data;
	size_t			 len;
};

struct store {
	redisContext		*ctx;
	struct store_flight	*fhead, *ftail;
	size_t			 nflight;
	struct redis_addr	 addr;
	char			 ns[16];		/* "call", "relay" */
	char			 node[CONFIG_STRLEN];
	char			 node_key[STORE_KEYLEN];
	uint64_t		 epoch;		/* connections made */
	uint64_t		 progress_ms;	/* last reply read */
	int			 ttl;
	uint64_t		 last_try_ms;
	uint64_t		 retry_ms;	/* STORE_RETRY_MIN_MS, doubling */
	uint64_t		 errors;
	size_t			 npending;
	struct store_pending	*pending[STORE_BUCKETS];
};

int
store_ns_key(char *dst, size_t len, const char *ns, const char *id)
{
	int	 n = snprintf(dst, len, "rtpsec:%s:{%s}", ns, id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
store_ns_node_key(char *dst, size_t len, const char *ns, const char *node)
{
	int	 n = snprintf(dst, len, "rtpsec:node:%s:%ss", node, ns);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
store_call_key(char *dst, size_t len, const char *id)
{
	return store_ns_key(dst, len, "call", id);
}

int
store_node_key(char *dst, size_t len, const char *node)
{
	return store_ns_node_key(dst, len, "call", node);
}

/* This store's record key of id. */
static int
store_key(const struct store *s, char *dst, size_t len, const char *id)
{
	return store_ns_key(dst, len, s->ns, id);
}

static void	store_drain(struct store *);

static unsigned
store_hash(const char *s)
{
	unsigned	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % STORE_BUCKETS;
}

static void
store_pending_free(struct store_pending *p)
{
	free(p->id);
	free(p->data);
	free(p);
}

/* Removes the pending operation of id, if any. */
static void
store_pending_drop(struct store *s, const char *id)
{
	struct store_pending	**pp, *p;

	for (pp = &s->pending[store_hash(id)]; (p = *pp) != NULL;
	    pp = &p->next)
		if (strcmp(p->id, id) == 0) {
			*pp = p->next;
			store_pending_free(p);
			s->npending--;
			return;
		}
}

static void
store_pending_add(struct store *s, enum store_op op, const char *id,
    uint64_t created, uint64_t last_signal, const void *data, size_t len)
{
	struct store_pending	*p;
	unsigned		 h = store_hash(id);

	store_pending_drop(s, id);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->id = strdup(id)) == NULL ||
	    (len > 0 && (p->data = malloc(len)) == NULL)) {
		log_warnx("[%s] store: out of memory, record not kept", id);
		if (p != NULL)
			store_pending_free(p);
		return;
	}
	p->op = op;
	p->created = created;
	p->last_signal = last_signal;
	if (len > 0)
		memcpy(p->data, data, len);
	p->len = len;
	p->next = s->pending[h];
	s->pending[h] = p;
	s->npending++;
}

static void
store_flight_free(struct store_flight *f)
{
	free(f->id);
	free(f->data);
	free(f);
}

/* Pops the oldest in-flight operation; back to pending unless done. */
static void
store_flight_pop(struct store *s, int done)
{
	struct store_flight	*f = s->fhead, *n;

	s->fhead = f->next;
	if (s->fhead == NULL)
		s->ftail = NULL;
	s->nflight--;
	/* a later operation of the same call, still in flight, supersedes
	 * this one: replaying this one after it would undo it */
	for (n = s->fhead; !done && n != NULL; n = n->next)
		if (strcmp(n->id, f->id) == 0)
			done = 1;
	if (!done) {
		s->errors++;
		store_pending_add(s, f->op, f->id, f->created, f->last_signal,
		    f->data, f->len);
	}
	store_flight_free(f);
}

static void
store_disconnect(struct store *s)
{
	if (s->ctx != NULL) {
		redisFree(s->ctx);
		s->ctx = NULL;
	}
	while (s->fhead != NULL)
		store_flight_pop(s, 0);
}

static int
store_connect(struct store *s)
{
	char	 err[128], name[CONFIG_STRLEN + 16];

	store_disconnect(s);
	if ((s->ctx = redis_addr_connect(&s->addr, STORE_TIMEOUT_MS, err,
	    sizeof(err))) == NULL) {
		log_debug("store: cannot connect to Redis: %s", err);
		s->errors++;
		return -1;
	}
	s->epoch++;
	log_info("store: connected to Redis at %s",
	    redis_addr_str(&s->addr, name, sizeof(name)));
	return 0;
}

struct store *
store_new(const char *spec, const char *node, int call_ttl)
{
	return store_new_ns(spec, "call", node, call_ttl);
}

struct store *
store_new_ns(const char *spec, const char *ns, const char *node,
    int call_ttl)
{
	struct store	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (strlen(ns) >= sizeof(s->ns)) {
		free(s);
		return NULL;
	}
	strcpy(s->ns, ns);
	if (redis_addr_parse(&s->addr, spec) == -1)
		goto bad;
	snprintf(s->node, sizeof(s->node), "%s", node);
	if (store_ns_node_key(s->node_key, sizeof(s->node_key), ns,
	    node) == -1)
		goto bad;
	s->ttl = call_ttl > 0 ? call_ttl : 86400;
	store_connect(s);
	return s;
 bad:
	log_warnx("store: bad Redis address \"%s\"", spec);
	free(s);
	return NULL;
}

void
store_destroy(struct store **sp)
{
	struct store		*s = *sp;
	struct store_pending	*p, *n;
	size_t			 i;

	if (s == NULL)
		return;
	store_drain(s);
	if (s->npending > 0)
		log_warnx("store: %zu record writes lost at exit", s->npending);
	for (i = 0; i < STORE_BUCKETS; i++)
		for (p = s->pending[i]; p != NULL; p = n) {
			n = p->next;
			store_pending_free(p);
		}
	store_disconnect(s);
	free(s);
	*sp = NULL;
}

/* Takes one reply for the oldest in-flight operation. */
static void
store_flight_reply(struct store *s, redisReply *r)
{
	struct store_flight	*f = s->fhead;

	if (f == NULL) {
		freeReplyObject(r);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR ||
	    (f->replies == 1 && r->type != REDIS_REPLY_ARRAY)) {
		log_warnx("[%s] store: Redis refused a write: %s", f->id,
		    r->type == REDIS_REPLY_ERROR ? r->str : "aborted");
		f->failed = 1;
	}
	freeReplyObject(r);
	s->progress_ms = daemon_now_ms();
	if (--f->replies == 0)
		store_flight_pop(s, !f->failed);
}

/* Reads the replies that have arrived, waiting up to wait_ms for more
 * while operations are in flight (0: only what is there).  -1 when the
 * connection failed (in-flight operations are pending again). */
static int
store_read(struct store *s, int wait_ms)
{
	struct pollfd	 pfd;
	redisReply	*r;
	int		 n;

	while (s->ctx != NULL && s->nflight > 0) {
		pfd.fd = s->ctx->fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, wait_ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			return 0;
		if (n == -1 || redisBufferRead(s->ctx) != REDIS_OK)
			goto fail;
		for (;;) {
			r = NULL;
			if (redisGetReplyFromReader(s->ctx, (void **)&r) !=
			    REDIS_OK)
				goto fail;
			if (r == NULL)
				break;
			store_flight_reply(s, r);
		}
	}
	return 0;
 fail:
	log_warnx("store: Redis: %s", s->ctx->errstr[0] ? s->ctx->errstr :
	    "connection lost");
	store_disconnect(s);
	return -1;
}

/* Waits (up to STORE_TIMEOUT_MS per read) until nothing is in flight. */
static void
store_drain(struct store *s)
{
	uint64_t	 deadline = daemon_now_ms() + STORE_TIMEOUT_MS;

	while (s->ctx != NULL && s->nflight > 0) {
		if (daemon_now_ms() >= deadline) {
			log_warnx("store: Redis did not answer in %d ms",
			    STORE_TIMEOUT_MS);
			store_disconnect(s);
			return;
		}
		if (store_read(s, STORE_TIMEOUT_MS) == -1)
			return;
	}
}

/* Sends one operation's MULTI ... EXEC without waiting for the replies;
 * 0, or -1 (not sent: the caller keeps it pending). */
static int
store_write(struct store *s, enum store_op op, const char *id,
    uint64_t created, uint64_t last_signal, const void *data, size_t len)
{
	char			 key[STORE_KEYLEN], ver[8], cr[24], ls[24], ttl[24];
	const char		*argv[12];
	size_t			 argl[12];
	struct store_flight	*f;
	int			 i, done = 0;

	if (s->ctx == NULL || store_key(s, key, sizeof(key), id) == -1)
		return -1;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->id = strdup(id)) == NULL ||
	    (len > 0 && (f->data = malloc(len)) == NULL)) {
		if (f != NULL)
			store_flight_free(f);
		return -1;
	}
	f->op = op;
	f->created = created;
	f->last_signal = last_signal;
	if (len > 0)
		memcpy(f->data, data, len);
	f->len = len;
	redisAppendCommand(s->ctx, "MULTI");
	if (op == STORE_PUT) {
		snprintf(ver, sizeof(ver), "%d", STORE_VERSION);
		snprintf(cr, sizeof(cr), "%llu", (unsigned long long)created);
		snprintf(ls, sizeof(ls), "%llu",
		    (unsigned long long)last_signal);
		snprintf(ttl, sizeof(ttl), "%d", s->ttl);
		argv[0] = "HSET"; argv[1] = key;
		argv[2] = "v"; argv[3] = ver;
		argv[4] = "node"; argv[5] = s->node;
		argv[6] = "created"; argv[7] = cr;
		argv[8] = "last_signal"; argv[9] = ls;
		argv[10] = "data"; argv[11] = data;
		/* data is binary (msgpack), never a C string */
		for (i = 0; i < 11; i++)
			argl[i] = strlen(argv[i]);
		argl[11] = len;
		redisAppendCommandArgv(s->ctx, 12, argv, argl);
		redisAppendCommand(s->ctx, "EXPIRE %s %s", key, ttl);
		redisAppendCommand(s->ctx, "SADD %s %s", s->node_key, id);
		f->replies = 5;
	} else {
		redisAppendCommand(s->ctx, "DEL %s", key);
		redisAppendCommand(s->ctx, "SREM %s %s", s->node_key, id);
		f->replies = 4;
	}
	redisAppendCommand(s->ctx, "EXEC");
	f->sent_ms = daemon_now_ms();
	if (s->ftail != NULL)
		s->ftail->next = f;
	else
		s->fhead = f;
	s->ftail = f;
	s->nflight++;
	while (!done)
		if (redisBufferWrite(s->ctx, &done) != REDIS_OK) {
			log_warnx("store: Redis: %s", s->ctx->errstr);
			store_disconnect(s);	/* f is pending now */
			return 1;
		}
	return 0;
}

static int
store_do(struct store *s, enum store_op op, const char *id, uint64_t created,
    uint64_t last_signal, const void *data, size_t len)
{
	char	 key[STORE_KEYLEN];
	int	 rc;

	if (store_key(s, key, sizeof(key), id) == -1)
		return -1;
	/* take what Redis has answered so far (never waits) */
	(void)store_read(s, 0);
	if ((rc = store_write(s, op, id, created, last_signal, data,
	    len)) == 0) {
		store_pending_drop(s, id);
		return 0;
	}
	if (rc == -1) {
		s->errors++;
		store_pending_add(s, op, id, created, last_signal, data, len);
	}
	return 1;
}

int
store_call_put(struct store *s, const char *id, uint64_t created,
    uint64_t last_signal, const void *data, size_t len)
{
	return store_do(s, STORE_PUT, id, created, last_signal, data, len);
}

int
store_call_del(struct store *s, const char *id)
{
	return store_do(s, STORE_DEL, id, 0, 0, NULL, 0);
}

void
store_tick(struct store *s, uint64_t now_ms)
{
	struct store_pending	*p;
	size_t			 i, done = 0;

	(void)store_read(s, 0);
	/* Redis is slow or gone when nothing came back for STORE_TIMEOUT_MS
	 * since the oldest write went or the last reply came: a long burst
	 * (every record written again after an outage) is not a failure as
	 * long as the replies keep coming */
	if (s->fhead != NULL && now_ms - (s->fhead->sent_ms > s->progress_ms ?
	    s->fhead->sent_ms : s->progress_ms) > STORE_TIMEOUT_MS) {
		log_warnx("store: Redis did not answer in %d ms, reconnecting",
		    STORE_TIMEOUT_MS);
		store_disconnect(s);
		s->last_try_ms = now_ms;
	}
	if (s->npending == 0 && s->ctx != NULL)
		return;
	if (s->ctx == NULL) {
		/* soon after a loss (a Redis restarted by its supervisor is
		 * back within milliseconds), then less and less often */
		if (s->retry_ms == 0)
			s->retry_ms = STORE_RETRY_MIN_MS;
		if (now_ms - s->last_try_ms < s->retry_ms)
			return;
		s->last_try_ms = now_ms;
		if (store_connect(s) == -1) {
			s->retry_ms = s->retry_ms * 2 > STORE_RETRY_MS ?
			    STORE_RETRY_MS : s->retry_ms * 2;
			return;
		}
		s->retry_ms = STORE_RETRY_MIN_MS;
	}
	for (i = 0; i < STORE_BUCKETS && s->ctx != NULL; i++)
		while ((p = s->pending[i]) != NULL) {
			s->pending[i] = p->next;
			s->npending--;
			/* in flight from here: a failure makes it pending
			 * again (store_disconnect) */
			if (store_write(s, p->op, p->id, p->created,
			    p->last_signal, p->data, p->len) == -1) {
				p->next = s->pending[i];
				s->pending[i] = p;
				s->npending++;
				s->errors++;
				s->last_try_ms = now_ms;
				return;
			}
			store_pending_free(p);
			done++;
		}
	if (done > 0)
		log_info("store: %zu queued record writes sent", done);
}

int
store_calls_load(struct store *s, store_load_fn fn, void *arg)
{
	return store_calls_load_node(s, s->node, fn, arg);
}

/*
 * One blocking command, for loads and adoption (never the ng path).  The
 * pipelined writes are drained first: their replies come first on this
 * connection, and one of them would be read as this command's (a load
 * callback may write: relayd forgets a record it cannot restore).  The
 * reply, or NULL with the connection dropped and counted.
 */
static redisReply *
store_sync(struct store *s, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	store_drain(s);
	if (s->ctx == NULL && store_connect(s) == -1)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(s->ctx, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		store_disconnect(s);
		s->errors++;
	}
	return r;
}

int
store_calls_load_node(struct store *s, const char *node, store_load_fn fn,
    void *arg)
{
	redisReply	*m, *r;
	char		 key[STORE_KEYLEN], nkey[STORE_KEYLEN];
	size_t		 i;
	int		 n = 0;

	if (store_ns_node_key(nkey, sizeof(nkey), s->ns, node) == -1 ||
	    (m = store_sync(s, "SMEMBERS %s", nkey)) == NULL)
		return -1;
	if (m->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(m);
		s->errors++;
		return -1;
	}
	for (i = 0; i < m->elements; i++) {
		const char	*id = m->element[i]->str;

		if (m->element[i]->type != REDIS_REPLY_STRING ||
		    store_key(s, key, sizeof(key), id) == -1)
			continue;
		if ((r = store_sync(s, "HGET %s data", key)) == NULL) {
			freeReplyObject(m);
			return -1;
		}
		if (r->type == REDIS_REPLY_STRING) {
			fn(arg, id, r->str, r->len);
			n++;
		} else if (r->type == REDIS_REPLY_NIL) {
			/* expired: drop it from the index */
			freeReplyObject(r);
			r = store_sync(s, "SREM %s %s", nkey, id);
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	freeReplyObject(m);
	return n;
}

int
store_node_drop(struct store *s, const char *node)
{
	redisReply	*r;
	char		 nkey[STORE_KEYLEN];

	if (store_ns_node_key(nkey, sizeof(nkey), s->ns, node) == -1 ||
	    (r = store_sync(s, "DEL %s", nkey)) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

uint64_t
store_epoch(const struct store *s)
{
	return s->epoch;
}

size_t
store_inflight(const struct store *s)
{
	return s->nflight;
}

int
store_node_unlink(struct store *s, const char *node, const char *id)
{
	redisReply	*r;
	char		 nkey[STORE_KEYLEN];

	if (store_ns_node_key(nkey, sizeof(nkey), s->ns, node) == -1 ||
	    (r = store_sync(s, "SREM %s %s", nkey, id)) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

int
store_connected(const struct store *s)
{
	return s->ctx != NULL;
}

size_t
store_pending(const struct store *s)
{
	return s->npending;
}

uint64_t
store_errors(const struct store *s)
{
	return s->errors;
}
