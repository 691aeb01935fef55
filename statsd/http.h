/*
 * http: statsd's HTTP endpoint (libmicrohttpd): GET /metrics (Prometheus
 * text exposition 0.0.4) and GET /health (JSON; 200 when every daemon is
 * up, else 503).  Any other path is 404, any other method 405.
 *
 * The listening socket is bound by http_start() before confinement;
 * microhttpd then serves from its one internal polling thread, which also
 * exists before confinement (privsep's seccomp filter is synchronised
 * onto it).  Responses are rendered from the collect store under its
 * mutex.
 */
#ifndef RTPSEC_STATSD_HTTP_H
#define RTPSEC_STATSD_HTTP_H

#include <stddef.h>

#include "statsd/collect.h"

struct http;

/* listen is "host:port" or "[v6]:port".  Returns an owned server, or NULL
 * with a reason in err. */
struct http	*http_start(const char *listen, struct collect *, char *err,
		    size_t errlen);
void		 http_stop(struct http **);

/* The system calls microhttpd's thread makes beyond privsep's base set,
 * NULL-ended, for privsep_confine(). */
extern const char *const http_syscalls[];

#endif
