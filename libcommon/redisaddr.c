/*
 * redisaddr: see redisaddr.h.
 */
#include <sys/time.h>

#include <stdio.h>
#include <string.h>

#include "libcommon/redisaddr.h"

int
redis_addr_parse(struct redis_addr *a, const char *spec)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(spec, "unix:", 5) == 0) {
		a->unix_sock = 1;
		if (spec[5] == '\0' || strlen(spec + 5) >= sizeof(a->path))
			return -1;
		strcpy(a->path, spec + 5);
		return 0;
	}
	return config_hostport(spec, a->path, sizeof(a->path), &a->port);
}

redisContext *
redis_addr_connect(const struct redis_addr *a, int timeout_ms, char *err,
    size_t errlen)
{
	struct timeval	 tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext	*ctx;

	if (a->unix_sock)
		ctx = redisConnectUnixWithTimeout(a->path, tv);
	else
		ctx = redisConnectWithTimeout(a->path, a->port, tv);
	if (ctx == NULL || ctx->err) {
		snprintf(err, errlen, "%s", ctx != NULL ? ctx->errstr :
		    "out of memory");
		if (ctx != NULL)
			redisFree(ctx);
		return NULL;
	}
	redisSetTimeout(ctx, tv);
	return ctx;
}

const char *
redis_addr_str(const struct redis_addr *a, char *dst, size_t len)
{
	if (a->unix_sock)
		snprintf(dst, len, "unix:%s", a->path);
	else
		snprintf(dst, len, "%s:%d", a->path, a->port);
	return dst;
}
