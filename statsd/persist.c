/*
 * persist: statsd's counter state in Redis, see persist.h.
 *
 * hiredis directly (the call-record store, libcommon/store.c, is ctld's
 * and keyed by call): one blocking context with short timeouts, used in
 * two ways.  The load is one HGETALL, waited for (at most
 * PERSIST_TIMEOUT_MS), once per process.  A save is one HSET of every
 * changed field, sent at once and its answer read on a later tick; only
 * one save is in flight, so the answer says which snapshot of statsd's own
 * counters Redis holds (collect_saved()).
 *
 * Failure handling: any error drops the connection, marks every publisher
 * to be saved again (Redis may have lost them: it saves nothing to disk
 * under supervisord) and reconnects PERSIST_RETRY_MS later.
 */
#include <poll.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "libcommon/config.h"
#include "libcommon/redisaddr.h"
#include "libcommon/log.h"
#include "statsd/persist.h"

struct persist {
	struct collect	*collect;	/* not owned */
	redisContext	*ctx;
	struct redis_addr addr;
	char		 key[PERSIST_KEYLEN];
	int		 tried;		/* a connection was attempted */
	int		 loaded;	/* the saved state is merged */
	int		 all;		/* save every publisher next time */
	int		 inflight;	/* a save waits for its answer */
	int		 failing;	/* last attempt failed: log less */
	int		 refused;	/* Redis refused the last save */
	int		 save_ms;
	uint64_t	 sent_ms;
	uint64_t	 last_try_ms;
	uint64_t	 last_save_ms;
	/* the HSET being built */
	const char	**argv;
	size_t		*argl;
	size_t		 argc, argcap;
};

int
persist_key(char *dst, size_t len, const char *node_id)
{
	int	 n = snprintf(dst, len, "rtpsec:stats:%s", node_id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

struct persist *
persist_new(const char *spec, const char *node_id, int save_ms,
    struct collect *c)
{
	struct persist	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->collect = c;
	p->save_ms = save_ms < PERSIST_SAVE_MIN_MS ? PERSIST_SAVE_MIN_MS :
	    save_ms > PERSIST_SAVE_MS ? PERSIST_SAVE_MS : save_ms;
	if (redis_addr_parse(&p->addr, spec) == -1)
		goto bad;
	if (persist_key(p->key, sizeof(p->key), node_id) == -1)
		goto bad;
	p->all = 1;
	return p;
 bad:
	log_warnx("persist: bad Redis address \"%s\" or node id", spec);
	free(p);
	return NULL;
}

static void
args_free(struct persist *p)
{
	size_t	 i;

	/* argv[0] and argv[1] are "HSET" and the key, not allocated */
	for (i = 2; i < p->argc; i++)
		free((void *)p->argv[i]);
	p->argc = 0;
}

void
persist_destroy(struct persist **pp)
{
	struct persist	*p = *pp;

	if (p == NULL)
		return;
	if (p->ctx != NULL)
		redisFree(p->ctx);
	args_free(p);
	free(p->argv);
	free(p->argl);
	free(p);
	*pp = NULL;
}

int
persist_up(const struct persist *p)
{
	return p->ctx != NULL && p->loaded;
}

/* Drops the connection after a failure (why), counted once per attempt. */
static void
persist_fail(struct persist *p, const char *why, uint64_t now_ms)
{
	if (!p->failing)
		log_warnx("persist: Redis: %s; counters are not saved until "
		    "it answers", why);
	else
		log_debug("persist: Redis: %s", why);
	p->failing = 1;
	collect_count_redis_error(p->collect);
	if (p->inflight)
		collect_saved(p->collect, 0);
	p->inflight = 0;
	if (p->ctx != NULL) {
		redisFree(p->ctx);
		p->ctx = NULL;
	}
	p->all = 1;
	p->last_try_ms = now_ms;
	collect_set_persisting(p->collect, 0);
}

static int
persist_connect(struct persist *p, uint64_t now_ms)
{
	char		 err[128], why[160];
	int		 tmo = PERSIST_TIMEOUT_MS;

	/* the first time, statsd serves nothing yet: a busy Redis may take
	 * longer rather than have the counters restart */
	if (!p->tried)
		tmo = PERSIST_START_TIMEOUT_MS;
	p->tried = 1;
	p->last_try_ms = now_ms;
	if ((p->ctx = redis_addr_connect(&p->addr, tmo, err,
	    sizeof(err))) == NULL) {
		snprintf(why, sizeof(why), "cannot connect: %s", err);
		persist_fail(p, why, now_ms);
		return -1;
	}
	return 0;
}

static void
persist_short_timeout(struct persist *p)
{
	struct timeval	 tv = { 0, PERSIST_TIMEOUT_MS * 1000 };

	redisSetTimeout(p->ctx, tv);
}

/* HGETALL, waited for: statsd has nothing to save before this. */
static int
persist_load(struct persist *p, uint64_t now_ms)
{
	redisReply	*r;
	size_t		 i, n = 0, bad = 0;

	if ((r = redisCommand(p->ctx, "HGETALL %s", p->key)) == NULL) {
		persist_fail(p, p->ctx->errstr[0] ? p->ctx->errstr :
		    "no answer to HGETALL", now_ms);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		persist_fail(p, "HGETALL refused", now_ms);
		return -1;
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *v = r->element[i + 1];

		if (v->type != REDIS_REPLY_STRING ||
		    collect_restore(p->collect, v->str, v->len) == -1) {
			bad++;
			continue;
		}
		n++;
	}
	freeReplyObject(r);
	if (bad > 0)
		log_warnx("persist: %zu saved entries of %s unreadable, "
		    "ignored", bad, p->key);
	log_info("persist: counters restored from %s (%zu entries)", p->key,
	    n);
	p->loaded = 1;
	return 0;
}

/* Reads the answer to the save in flight, if it has arrived. */
static int
persist_read(struct persist *p, uint64_t now_ms)
{
	struct pollfd	 pfd;
	redisReply	*r;
	int		 n;

	pfd.fd = p->ctx->fd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, 0)) == -1 && errno == EINTR)
		;
	if (n == 0)
		goto late;
	if (n == -1 || redisBufferRead(p->ctx) != REDIS_OK) {
		persist_fail(p, p->ctx->errstr[0] ? p->ctx->errstr :
		    "connection lost", now_ms);
		return -1;
	}
	r = NULL;
	if (redisGetReplyFromReader(p->ctx, (void **)&r) != REDIS_OK) {
		persist_fail(p, "bad answer", now_ms);
		return -1;
	}
	if (r == NULL)
		goto late;
	p->inflight = 0;
	if (r->type == REDIS_REPLY_ERROR) {
		if (!p->refused)
			log_warnx("persist: Redis refused a save: %s", r->str);
		collect_count_redis_error(p->collect);
		collect_saved(p->collect, 0);
		p->refused = 1;
	} else {
		collect_saved(p->collect, 1);
		p->failing = p->refused = 0;
	}
	freeReplyObject(r);
	return 0;
 late:
	if (now_ms - p->sent_ms > PERSIST_TIMEOUT_MS) {
		persist_fail(p, "no answer to a save", now_ms);
		return -1;
	}
	return 0;
}

static int
args_grow(struct persist *p)
{
	const char	**v;
	size_t		 *l, cap = p->argcap ? p->argcap * 2 : 16;

	if ((v = reallocarray(p->argv, cap, sizeof(*v))) == NULL)
		return -1;
	p->argv = v;
	if ((l = reallocarray(p->argl, cap, sizeof(*l))) == NULL)
		return -1;
	p->argl = l;
	p->argcap = cap;
	return 0;
}

static int
args_add(struct persist *p, const void *data, size_t len)
{
	char	*copy;

	if (p->argc == p->argcap && args_grow(p) == -1)
		return -1;
	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, data, len);
	copy[len] = '\0';
	p->argv[p->argc] = copy;
	p->argl[p->argc++] = len;
	return 0;
}

static void
save_one(void *arg, const char *field, const void *blob, size_t len)
{
	struct persist	*p = arg;

	/* one pair or nothing: HSET needs its arguments by twos */
	if (args_add(p, field, strlen(field)) == -1)
		return;
	if (args_add(p, blob, len) == -1) {
		free((void *)p->argv[--p->argc]);
		p->all = 1;
	}
}

static void
persist_save(struct persist *p, uint64_t now_ms)
{
	int	 all, done = 0;

	if (p->argcap < 2 && args_grow(p) == -1)
		return;
	p->argv[0] = "HSET";
	p->argl[0] = 4;
	p->argv[1] = p->key;
	p->argl[1] = strlen(p->key);
	p->argc = 2;
	all = p->all;
	p->all = 0;	/* save_one() sets it again if a blob is lost */
	(void)collect_save(p->collect, all, save_one, p);
	p->last_save_ms = now_ms;
	if (p->argc < 4) {
		args_free(p);
		return;
	}
	if (redisAppendCommandArgv(p->ctx, (int)p->argc, p->argv,
	    p->argl) != REDIS_OK) {
		args_free(p);
		collect_saved(p->collect, 0);
		persist_fail(p, "cannot build HSET", now_ms);
		return;
	}
	args_free(p);
	p->inflight = 1;
	p->sent_ms = now_ms;
	while (!done)
		if (redisBufferWrite(p->ctx, &done) != REDIS_OK) {
			persist_fail(p, p->ctx->errstr, now_ms);
			return;
		}
}

void
persist_tick(struct persist *p, uint64_t now_ms)
{
	if (p->ctx != NULL && p->inflight && persist_read(p, now_ms) == -1)
		return;
	if (p->ctx == NULL) {
		if (p->tried && now_ms - p->last_try_ms < PERSIST_RETRY_MS)
			return;
		if (persist_connect(p, now_ms) == -1)
			return;
		if (p->failing)
			log_info("persist: Redis answers again");
	}
	if (!p->loaded) {
		if (persist_load(p, now_ms) == -1)
			return;
		persist_short_timeout(p);
	}
	/* a Redis that refuses writes (a read-only replica, out of memory)
	 * must not freeze the counters at their last save */
	collect_set_persisting(p->collect, !p->refused);
	if (p->inflight)
		return;
	if (now_ms - p->last_save_ms < (uint64_t)p->save_ms &&
	    p->last_save_ms != 0 && !collect_urgent(p->collect))
		return;
	persist_save(p, now_ms);
}
