/*
 * call: relayd's calls, legs and media, and the ROUTER op handlers
 * (docs/ipc.md: leg_alloc, leg_update, srtp_set, call_delete, call_query,
 * call_list, ping).  Control thread only; stream fields and SRTP
 * transforms the workers use are changed under the owning worker's lock
 * (io.h).
 */
#ifndef RTPSEC_RELAYD_CALL_H
#define RTPSEC_RELAYD_CALL_H

#include <stdint.h>

#include "libcommon/config.h"
#include "libcommon/ipc.h"
#include "relayd/io.h"
#include "relayd/ports.h"
#include "relayd/relay.h"

#define CALL_BUCKETS	4096

/* X(enum, "reason"): why an IPC request was refused or dropped. */
#define CALL_IPCDROPS(X)			\
	X(MALFORMED, "malformed")		\
	X(UNKNOWN_OP, "unknown_op")		\
	X(BAD_FIELD, "bad_field")

#define CALL_IPCDROP_ENUM(e, s)	CALL_IPCDROP_##e,
enum call_ipcdrop {
	CALL_IPCDROPS(CALL_IPCDROP_ENUM)
	CALL_IPCDROP_COUNT
};
extern const char *const call_ipcdrop_names[CALL_IPCDROP_COUNT];

struct relayd {
	const struct config	*cfg;		/* RO */
	struct ports		*ports;		/* ctl */
	struct io		*io;		/* RO pointer */
	struct call		*tab[CALL_BUCKETS];	/* ctl */
	unsigned		 ncalls;	/* ctl */
	uint32_t		 gen;		/* ctl: stream generations */
	uint64_t		 started;	/* unix s */
	uint64_t		 timeouts;	/* ctl */
	uint64_t		 ipc_dropped[CALL_IPCDROP_COUNT];	/* ctl */
};

/* Sets up r (ports, io with cfg->workers threads, not started).
 * 0, or -1 with a reason in err. */
int	call_init(struct relayd *, const struct config *, char *err,
	    size_t errlen);
/* Deletes every call, stops the workers, frees everything. */
void	call_fini(struct relayd *);
/* Answers one parsed request: fills w (initialized by the caller) with the
 * reply.  Counts refused requests. */
void	call_handle(struct relayd *, const struct ipc_r *, struct ipc_w *);
/* Removes calls silent for media_timeout seconds; calls cb(arg, call-id)
 * for each before freeing it.  Returns how many ended. */
int	call_sweep(struct relayd *, uint64_t now_wall,
	    void (*cb)(void *, const char *), void *arg);

#endif
