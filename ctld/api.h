/*
 * api: ctld's ZeroMQ side (docs/ipc.md): the control ROUTER (ops `ping`
 * and `ng`, the latter carrying an ng command dict as msgpack), the PUB
 * socket (`stats` every stats_interval_ms with ctld's metrics), and the
 * SUB socket on relayd's PUB (`event` type `timeout`: the call is ended).
 * Malformed messages are logged, counted in rtpsec_ipc_dropped_total and
 * dropped; they are answered with ok:false where a reply can be routed.
 */
#ifndef CTLD_API_H
#define CTLD_API_H

#include <czmq.h>

struct ctld;
struct api;

/* Binds the ROUTER and PUB, connects the SUB; NULL (logged) on failure. */
struct api	*api_new(struct ctld *);
void		 api_destroy(struct api **);
zsock_t		*api_router(struct api *);
zsock_t		*api_sub(struct api *);
/* Serves the requests waiting on the ROUTER (a bounded number). */
void		 api_router_ready(struct api *, struct ctld *);
/* Reads relayd's PUB messages waiting on the SUB. */
void		 api_sub_ready(struct api *, struct ctld *);
/* Publishes the `stats` message. */
void		 api_publish_stats(struct api *, struct ctld *);

#endif
