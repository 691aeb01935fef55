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
/* Port allocators: [0] is this node's interface; the others are made
 * when the node adopts a dead node's calls on another address. */
#define CALL_POOLS	4
/* Ports of an adopted address: any the dead node may have used. */
#define CALL_ADOPT_PORT_MIN	1024
#define CALL_ADOPT_PORT_MAX	65535

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

struct store;
struct ipc_client;

struct relayd {
	const struct config	*cfg;		/* RO */
	struct ports		*ports;		/* ctl: == pools[0] */
	struct ports		*pools[CALL_POOLS];	/* ctl */
	unsigned		 npools;
	unsigned		 nslots;	/* io slots */
	struct store		*store;		/* ctl: persist.c */
	uint64_t		 store_epoch;
	struct ipc_client	*keyd;		/* ctl: srtp_unwrap */
	struct call		*dirty;		/* ctl: to persist */
	uint64_t		 restored;	/* calls restored or adopted */
	int			 restore_pending;	/* Redis was down */
	uint64_t		 claim_until_ms;	/* restore: wait for ports */
	uint64_t		 restore_try_ms;
	uint64_t		 restore_failed;
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
/* For persist.c (restore and adoption); control thread. */
struct call	*call_lookup(struct relayd *, const char *id);
struct call	*call_create(struct relayd *, const char *id);
struct leg	*call_leg_lookup(struct call *, const char *id);
struct leg	*call_leg_create(struct relayd *, struct call *,
		    const char *id, struct ports *pool);
/* Appends media number l->nmedia + 1 on the pair of RTP port `port` of
 * pool (0: any free pair of the leg's pool), taking over srtp[2] (the
 * transforms are in force before the sockets are polled; zeroed in the
 * caller).  NULL when the ports cannot be had. */
struct media	*call_media_create(struct relayd *, struct call *,
		    struct leg *, uint16_t port, struct relay_srtp *srtp);
void		 call_remove(struct relayd *, struct call *);
/* The allocator for addr that has port in range (made if needed); NULL
 * when all CALL_POOLS are used or addr is bad. */
struct ports	*call_pool(struct relayd *, const char *addr, uint16_t port);

/* Removes calls silent for media_timeout seconds; calls cb(arg, call-id)
 * for each before freeing it.  Returns how many ended. */
int	call_sweep(struct relayd *, uint64_t now_wall,
	    void (*cb)(void *, const char *), void *arg);

#endif
