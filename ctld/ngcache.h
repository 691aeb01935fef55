/*
 * ngcache: the ng reply cache, keyed by cookie alone (rtpengine's way, not
 * by source address).  Kamailio resends the identical datagram, same
 * cookie, every second until it gets a reply; a cached reply is sent again
 * instead of running the command twice.  A repeated cookie gets the cached
 * reply even when the body differs ([T 08]).
 *
 * Two generations: entries go into the current one; ngcache_tick()
 * swaps them every period (reply_cache_s / 2), dropping the older, so a
 * reply lives between one and two periods.  Each generation is bounded in
 * entries and bytes; a full current generation is swapped early.
 */
#ifndef CTLD_NGCACHE_H
#define CTLD_NGCACHE_H

#include <stddef.h>
#include <stdint.h>

struct ngcache;

/* max_entries, max_bytes: bounds of the whole cache (both generations). */
struct ngcache	*ngcache_new(size_t max_entries, size_t max_bytes,
		    uint64_t period_ms, uint64_t now_ms);
void		 ngcache_destroy(struct ngcache **);
/* The cached reply for cookie (pointer valid until the next put/tick), or
 * NULL. */
const char	*ngcache_get(struct ngcache *, const char *cookie, size_t clen,
		    size_t *len);
/* Stores a copy of the reply; a reply larger than a generation's byte
 * bound is not cached.  0, or -1 when not stored. */
int		 ngcache_put(struct ngcache *, const char *cookie, size_t clen,
		    const void *reply, size_t len);
/* Swaps generations when a period has passed since the last swap. */
void		 ngcache_tick(struct ngcache *, uint64_t now_ms);
void		 ngcache_set_period(struct ngcache *, uint64_t period_ms);
void		 ngcache_rotate(struct ngcache *);
size_t		 ngcache_entries(const struct ngcache *);
size_t		 ngcache_bytes(const struct ngcache *);

#endif
