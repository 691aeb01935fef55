/*
 * ngpersist: the ng reply cache kept in Redis too, so that a command
 * retransmitted across a ctld restart is answered, not run twice
 * (docs/redis.md, `rtpsec:ng:{<cookie>}`).
 *
 * Only replies to commands that change state (offer, answer, delete) are
 * kept, each a STRING with a TTL of reply_cache_s, written pipelined
 * (sent on the socket, never waited for) before the reply goes out.  A
 * reply that carries SDES keys (a=crypto) is never written: keys are
 * never stored in the clear (DESIGN.md); a retransmitted SRTP offer or
 * answer then runs against the restored call, where it is a re-offer of
 * the same legs.
 *
 * Lookups wait (at most NGPERSIST_TIMEOUT_MS), so ng.c only makes them
 * for state-changing commands missing from the in-memory cache during
 * the first reply_cache_s after ctld started: after that the memory
 * cache holds everything Redis could.
 *
 * Its own hiredis connection (the call-record store's pipeline is not
 * ours to read): Redis down means nothing is written or found, never a
 * wait beyond the timeout; ngpersist_tick() reconnects every second.
 */
#ifndef CTLD_NGPERSIST_H
#define CTLD_NGPERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/buf.h"

#define NGPERSIST_TIMEOUT_MS	100
#define NGPERSIST_RETRY_MS	1000

struct ngpersist;

/* spec as store_new()'s; NULL when it does not parse. */
struct ngpersist *ngpersist_new(const char *spec, int ttl_s);
void		 ngpersist_destroy(struct ngpersist **);
void		 ngpersist_set_ttl(struct ngpersist *, int ttl_s);
/* Sends SET rtpsec:ng:{cookie} reply EX ttl; 0 sent, -1 not (Redis down,
 * a reply with keys, a bad cookie). */
int		 ngpersist_put(struct ngpersist *, const char *cookie,
		    size_t clen, const void *reply, size_t len);
/* Looks the cookie up: 1 with the reply appended to out, 0 not found, -1
 * Redis unreachable or too slow. */
int		 ngpersist_get(struct ngpersist *, const char *cookie,
		    size_t clen, struct buf *out);
/* Reads the replies to the writes sent, reconnects; every loop turn. */
void		 ngpersist_tick(struct ngpersist *, uint64_t now_ms);
uint64_t	 ngpersist_errors(const struct ngpersist *);

#endif
