/*
 * redisaddr: the one way rtpsec names and reaches Redis ([common] redis),
 * shared by libcommon/store (call and relay records), ctld/ngpersist (ng
 * replies) and statsd/persist (counter offsets), each with its own
 * connection.
 */
#ifndef RTPSEC_REDISADDR_H
#define RTPSEC_REDISADDR_H

#include <hiredis/hiredis.h>

#include "libcommon/config.h"

struct redis_addr {
	int	 unix_sock;
	char	 path[CONFIG_STRLEN];	/* unix socket path, or host */
	int	 port;
};

/* spec: "host:port", "[v6]:port" or "unix:PATH" (relative to the cwd,
 * the run directory).  0, or -1 when it does not parse. */
int		 redis_addr_parse(struct redis_addr *, const char *spec);
/* Connects with timeout_ms for the connection and for every command
 * after it.  The context, or NULL with the reason in err. */
redisContext	*redis_addr_connect(const struct redis_addr *, int timeout_ms,
		    char *err, size_t errlen);
/* "unix:PATH" or "host:port", for log lines. */
const char	*redis_addr_str(const struct redis_addr *, char *, size_t);

#endif
