/*
 * ctl: keyd's ROUTER requests and its PUB `stats` message (docs/ipc.md).
 *
 * keyd answers `ping`, hands the sdes_* ops to its SDES key service
 * (sdes.c) and srtp_unwrap to its KEK (kek.c), and refuses every other op
 * with ok:false "unknown op"; the rest of the key work (DTLS) comes in its
 * own modules.  A request that does not parse is dropped and counted, and
 * answered with ok:false when its id could be read.
 */
#ifndef RTPSEC_KEYD_CTL_H
#define RTPSEC_KEYD_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/config.h"
#include "libcommon/ipc.h"
#include "keyd/kek.h"
#include "keyd/sdes.h"

/* X(enum, "reason"): why a request was dropped or refused. */
#define KEYD_DROPS(X)							\
	X(MALFORMED, "malformed")	/* not one ipc message */	\
	X(UNKNOWN_OP, "unknown_op")	/* an op keyd does not serve */	\
	X(BAD_FIELD, "bad_field")	/* a missing or ill-typed field */

#define KEYD_DROP_ENUM(e, s)	KEYD_DROP_##e,
enum keyd_drop {
	KEYD_DROPS(KEYD_DROP_ENUM)
	KEYD_DROP_COUNT
};
extern const char *const keyd_drop_names[KEYD_DROP_COUNT];

struct keyd {
	const struct config	*cfg;		/* RO; reloaded on SIGHUP */
	uint64_t		 started;	/* unix s */
	uint64_t		 started_ms;	/* monotonic */
	uint64_t		 requests;	/* well-formed, answered */
	uint64_t		 dropped[KEYD_DROP_COUNT];
	struct keyd_sdes	*sdes;		/* owned by main; NULL: the
						   sdes_* ops are refused */
	const struct keyd_kek	*kek;		/* owned by main; NULL:
						   srtp_unwrap is refused */
	uint64_t		 unwrap_ok;	/* srtp_unwrap answered */
	uint64_t		 unwrap_failed;	/* "cannot unwrap" */
};

void	keyd_init(struct keyd *, const struct config *);
/* Handles one request payload.  Returns 1 with a reply in w (initialized
 * by the caller) to send back, or 0 when nothing can be answered. */
int	keyd_request(struct keyd *, const void *data, size_t len,
	    struct ipc_w *w);
/* Builds the PUB `stats` message. */
void	keyd_stats(struct keyd *, struct ipc_w *, uint64_t seq);

#endif
