/*
 * stats: relayd's PUB messages (docs/ipc.md): the cumulative `stats`
 * message with the relayd metrics, and `event` messages.
 */
#ifndef RTPSEC_RELAYD_STATS_H
#define RTPSEC_RELAYD_STATS_H

#include "libcommon/ipc.h"
#include "relayd/call.h"

/* Builds the stats message (w initialized by the caller). */
void	stats_build(struct relayd *, struct ipc_w *, uint64_t seq);
/* Builds an event message of type (e.g. "timeout") for call. */
void	stats_event(struct relayd *, struct ipc_w *, uint64_t seq,
	    const char *type, const char *call);

#endif
