/*
 * store: Redis call records behind the call model, see store.h and
 * docs/redis.md.
 *
 * Invariant: an operation that was not confirmed by EXEC stays in the
 * pending table, keyed by call-id, holding only the latest operation for
 * that call (a put after a put replaces it, a delete replaces a put), so
 * the backlog is bounded by the number of calls and replays converge on
 * the state ctld has now.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "libcommon/config.h"
#include "libcommon/log.h"
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

struct store {
	redisContext		*ctx;
	int			 unix_sock;
	char			 path[CONFIG_STRLEN];	/* unix path or host */
	int			 port;
	char			 node[CONFIG_STRLEN];
	char			 node_key[STORE_KEYLEN];
	int			 ttl;
	uint64_t		 last_try_ms;
	uint64_t		 errors;
	size_t			 npending;
	struct store_pending	*pending[STORE_BUCKETS];
};

int
store_call_key(char *dst, size_t len, const char *id)
{
	int	 n = snprintf(dst, len, "rtpsec:call:{%s}", id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
store_node_key(char *dst, size_t len, const char *node)
{
	int	 n = snprintf(dst, len, "rtpsec:node:%s:calls", node);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

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
store_disconnect(struct store *s)
{
	if (s->ctx != NULL) {
		redisFree(s->ctx);
		s->ctx = NULL;
	}
}

static int
store_connect(struct store *s)
{
	struct timeval	 tv = { 0, STORE_TIMEOUT_MS * 1000 };

	store_disconnect(s);
	if (s->unix_sock)
		s->ctx = redisConnectUnixWithTimeout(s->path, tv);
	else
		s->ctx = redisConnectWithTimeout(s->path, s->port, tv);
	if (s->ctx == NULL || s->ctx->err) {
		log_debug("store: cannot connect to Redis: %s",
		    s->ctx ? s->ctx->errstr : "out of memory");
		store_disconnect(s);
		s->errors++;
		return -1;
	}
	redisSetTimeout(s->ctx, tv);
	if (s->unix_sock)
		log_info("store: connected to Redis at unix:%s", s->path);
	else
		log_info("store: connected to Redis at %s:%d", s->path,
		    s->port);
	return 0;
}

struct store *
store_new(const char *spec, const char *node, int call_ttl)
{
	struct store	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (strncmp(spec, "unix:", 5) == 0) {
		s->unix_sock = 1;
		if (strlen(spec + 5) == 0 || strlen(spec + 5) >= sizeof(s->path))
			goto bad;
		strcpy(s->path, spec + 5);
	} else if (config_hostport(spec, s->path, sizeof(s->path),
	    &s->port) == -1)
		goto bad;
	snprintf(s->node, sizeof(s->node), "%s", node);
	if (store_node_key(s->node_key, sizeof(s->node_key), node) == -1)
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

/* Reads n replies of a pipelined MULTI ... EXEC; 0 when all went well. */
static int
store_exec_replies(struct store *s, int n)
{
	redisReply	*r;
	int		 i, rc = 0;

	for (i = 0; i < n; i++) {
		if (redisGetReply(s->ctx, (void **)&r) != REDIS_OK) {
			log_warnx("store: Redis: %s", s->ctx->errstr);
			store_disconnect(s);
			return -1;
		}
		if (r->type == REDIS_REPLY_ERROR ||
		    (i == n - 1 && r->type != REDIS_REPLY_ARRAY)) {
			log_warnx("store: Redis refused a write: %s",
			    r->type == REDIS_REPLY_ERROR ? r->str : "aborted");
			rc = -1;
		}
		freeReplyObject(r);
	}
	return rc;
}

static int
store_write(struct store *s, enum store_op op, const char *id,
    uint64_t created, uint64_t last_signal, const void *data, size_t len)
{
	char		 key[STORE_KEYLEN], ver[8], cr[24], ls[24], ttl[24];
	const char	*argv[12];
	size_t		 argl[12];
	int		 i;

	if (s->ctx == NULL || store_call_key(key, sizeof(key), id) == -1)
		return -1;
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
		for (i = 0; i < 12; i++)
			argl[i] = strlen(argv[i]);
		argl[11] = len;
		redisAppendCommandArgv(s->ctx, 12, argv, argl);
		redisAppendCommand(s->ctx, "EXPIRE %s %s", key, ttl);
		redisAppendCommand(s->ctx, "SADD %s %s", s->node_key, id);
	} else {
		redisAppendCommand(s->ctx, "DEL %s", key);
		redisAppendCommand(s->ctx, "SREM %s %s", s->node_key, id);
	}
	redisAppendCommand(s->ctx, "EXEC");
	return store_exec_replies(s, op == STORE_PUT ? 5 : 4);
}

static int
store_do(struct store *s, enum store_op op, const char *id, uint64_t created,
    uint64_t last_signal, const void *data, size_t len)
{
	char	 key[STORE_KEYLEN];

	if (store_call_key(key, sizeof(key), id) == -1)
		return -1;
	if (store_write(s, op, id, created, last_signal, data, len) == 0) {
		store_pending_drop(s, id);
		return 0;
	}
	s->errors++;
	store_pending_add(s, op, id, created, last_signal, data, len);
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

	if (s->ctx == NULL) {
		if (now_ms - s->last_try_ms < STORE_RETRY_MS)
			return;
		s->last_try_ms = now_ms;
		if (store_connect(s) == -1)
			return;
	}
	for (i = 0; i < STORE_BUCKETS && s->ctx != NULL; i++)
		while ((p = s->pending[i]) != NULL) {
			if (store_write(s, p->op, p->id, p->created,
			    p->last_signal, p->data, p->len) == -1) {
				s->errors++;
				s->last_try_ms = now_ms;
				return;
			}
			s->pending[i] = p->next;
			store_pending_free(p);
			s->npending--;
			done++;
		}
	if (done > 0)
		log_info("store: %zu queued record writes done", done);
}

int
store_calls_load(struct store *s, store_load_fn fn, void *arg)
{
	redisReply	*m, *r;
	char		 key[STORE_KEYLEN];
	size_t		 i;
	int		 n = 0;

	if (s->ctx == NULL && store_connect(s) == -1)
		return -1;
	if ((m = redisCommand(s->ctx, "SMEMBERS %s", s->node_key)) == NULL) {
		store_disconnect(s);
		s->errors++;
		return -1;
	}
	if (m->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(m);
		s->errors++;
		return -1;
	}
	for (i = 0; i < m->elements; i++) {
		const char	*id = m->element[i]->str;

		if (m->element[i]->type != REDIS_REPLY_STRING ||
		    store_call_key(key, sizeof(key), id) == -1)
			continue;
		if ((r = redisCommand(s->ctx, "HGET %s data", key)) == NULL) {
			store_disconnect(s);
			s->errors++;
			freeReplyObject(m);
			return -1;
		}
		if (r->type == REDIS_REPLY_STRING) {
			fn(arg, id, r->str, r->len);
			n++;
		} else if (r->type == REDIS_REPLY_NIL) {
			/* expired: drop it from the index */
			freeReplyObject(r);
			r = redisCommand(s->ctx, "SREM %s %s", s->node_key, id);
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	freeReplyObject(m);
	return n;
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
