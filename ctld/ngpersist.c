/*
 * ngpersist: see ngpersist.h.
 *
 * Writes are pipelined: every SET is appended and flushed at once; its
 * reply is read (and dropped, an error only counted) by the next tick or
 * before the next lookup, which must skip them to find its own (Redis
 * answers in order).
 */
#include <poll.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/redisaddr.h"
#include "libcommon/log.h"
#include "ctld/ng.h"
#include "ctld/ngpersist.h"

struct ngpersist {
	redisContext	*ctx;
	struct redis_addr addr;
	int		 ttl;
	size_t		 inflight;	/* SET replies not read yet */
	uint64_t	 last_try_ms;
	uint64_t	 errors;
};

static void
np_disconnect(struct ngpersist *np)
{
	if (np->ctx != NULL) {
		redisFree(np->ctx);
		np->ctx = NULL;
	}
	np->inflight = 0;
}

static int
np_connect(struct ngpersist *np)
{
	char	 err[128];

	np_disconnect(np);
	np->last_try_ms = daemon_now_ms();
	if ((np->ctx = redis_addr_connect(&np->addr, NGPERSIST_TIMEOUT_MS,
	    err, sizeof(err))) == NULL) {
		np->errors++;
		return -1;
	}
	return 0;
}

struct ngpersist *
ngpersist_new(const char *spec, int ttl_s)
{
	struct ngpersist	*np;

	if ((np = calloc(1, sizeof(*np))) == NULL)
		return NULL;
	if (redis_addr_parse(&np->addr, spec) == -1)
		goto bad;
	ngpersist_set_ttl(np, ttl_s);
	(void)np_connect(np);
	return np;
 bad:
	free(np);
	return NULL;
}

void
ngpersist_destroy(struct ngpersist **npp)
{
	if (*npp == NULL)
		return;
	np_disconnect(*npp);
	free(*npp);
	*npp = NULL;
}

void
ngpersist_set_ttl(struct ngpersist *np, int ttl_s)
{
	np->ttl = ttl_s > 0 ? ttl_s : 60;
}

static int
np_key(char *dst, size_t len, const char *cookie, size_t clen)
{
	int	 n;

	if (clen == 0 || clen > NG_COOKIE_MAX)
		return -1;
	n = snprintf(dst, len, "rtpsec:ng:{%.*s}", (int)clen, cookie);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Reads the SET replies that have arrived; wait_ms > 0 waits for all of
 * them.  -1 when the connection failed (then closed). */
static int
np_read(struct ngpersist *np, int wait_ms)
{
	struct pollfd	 pfd;
	redisReply	*r;
	int		 n;

	while (np->ctx != NULL && np->inflight > 0) {
		r = NULL;
		if (redisGetReplyFromReader(np->ctx, (void **)&r) != REDIS_OK)
			goto fail;
		if (r != NULL) {
			if (r->type == REDIS_REPLY_ERROR)
				np->errors++;
			freeReplyObject(r);
			np->inflight--;
			continue;
		}
		pfd.fd = np->ctx->fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, wait_ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0) {
			if (wait_ms > 0)
				goto fail;
			return 0;
		}
		if (n == -1 || redisBufferRead(np->ctx) != REDIS_OK)
			goto fail;
	}
	return 0;
 fail:
	np->errors++;
	np_disconnect(np);
	return -1;
}

int
ngpersist_put(struct ngpersist *np, const char *cookie, size_t clen,
    const void *reply, size_t len)
{
	char		 key[NG_COOKIE_MAX + 32], ttl[16];
	const char	*argv[5];
	size_t		 argl[5];
	int		 done = 0;

	if (np->ctx == NULL || np_key(key, sizeof(key), cookie, clen) == -1 ||
	    memmem(reply, len, "a=crypto:", 9) != NULL)
		return -1;
	snprintf(ttl, sizeof(ttl), "%d", np->ttl);
	argv[0] = "SET"; argl[0] = 3;
	argv[1] = key; argl[1] = strlen(key);
	argv[2] = reply; argl[2] = len;
	argv[3] = "EX"; argl[3] = 2;
	argv[4] = ttl; argl[4] = strlen(ttl);
	if (redisAppendCommandArgv(np->ctx, 5, argv, argl) != REDIS_OK)
		goto fail;
	np->inflight++;
	while (!done)
		if (redisBufferWrite(np->ctx, &done) != REDIS_OK)
			goto fail;
	return 0;
 fail:
	np->errors++;
	np_disconnect(np);
	return -1;
}

int
ngpersist_get(struct ngpersist *np, const char *cookie, size_t clen,
    struct buf *out)
{
	char		 key[NG_COOKIE_MAX + 32];
	redisReply	*r = NULL;
	int		 rc = -1;

	if (np_key(key, sizeof(key), cookie, clen) == -1)
		return 0;
	if (np->ctx == NULL)
		return -1;
	if (np_read(np, NGPERSIST_TIMEOUT_MS) == -1)
		return -1;
	if ((r = redisCommand(np->ctx, "GET %s", key)) == NULL) {
		np->errors++;
		np_disconnect(np);
		return -1;
	}
	if (r->type == REDIS_REPLY_STRING) {
		buf_add(out, r->str, r->len);
		rc = 1;
	} else if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	else
		np->errors++;
	freeReplyObject(r);
	return rc;
}

void
ngpersist_tick(struct ngpersist *np, uint64_t now_ms)
{
	if (np->ctx != NULL) {
		(void)np_read(np, 0);
		return;
	}
	if (now_ms - np->last_try_ms >= NGPERSIST_RETRY_MS)
		(void)np_connect(np);
}

uint64_t
ngpersist_errors(const struct ngpersist *np)
{
	return np->errors;
}
