/*
 * ngcache: two hash tables of (cookie, reply) swapped by age.  See
 * ngcache.h.  Lookups try the current generation, then the previous one.
 */
#include <stdlib.h>
#include <string.h>

#include "ctld/ngcache.h"

#define NGCACHE_BUCKETS	4096

struct ngcentry {
	struct ngcentry	*next;
	size_t		 clen;
	size_t		 len;
	char		 data[];	/* cookie, then reply */
};

struct ngcgen {
	struct ngcentry	*bucket[NGCACHE_BUCKETS];
	size_t		 entries;
	size_t		 bytes;
};

struct ngcache {
	struct ngcgen	 gen[2];	/* [cur] and [!cur] */
	int		 cur;
	size_t		 max_entries;	/* per generation */
	size_t		 max_bytes;	/* per generation */
	uint64_t	 period_ms;
	uint64_t	 last_swap_ms;
};

static unsigned
ngcache_hash(const char *s, size_t len)
{
	unsigned	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h % NGCACHE_BUCKETS;
}

static void
ngcgen_clear(struct ngcgen *g)
{
	struct ngcentry	*e, *n;
	size_t		 i;

	for (i = 0; i < NGCACHE_BUCKETS; i++) {
		for (e = g->bucket[i]; e != NULL; e = n) {
			n = e->next;
			/* a cached offer/answer reply holds SDES keys */
			explicit_bzero(e->data, e->clen + e->len);
			free(e);
		}
		g->bucket[i] = NULL;
	}
	g->entries = 0;
	g->bytes = 0;
}

static struct ngcentry *
ngcgen_find(struct ngcgen *g, const char *cookie, size_t clen)
{
	struct ngcentry	*e;

	for (e = g->bucket[ngcache_hash(cookie, clen)]; e != NULL; e = e->next)
		if (e->clen == clen && memcmp(e->data, cookie, clen) == 0)
			return e;
	return NULL;
}

struct ngcache *
ngcache_new(size_t max_entries, size_t max_bytes, uint64_t period_ms,
    uint64_t now_ms)
{
	struct ngcache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->max_entries = max_entries / 2 > 0 ? max_entries / 2 : 1;
	c->max_bytes = max_bytes / 2 > 0 ? max_bytes / 2 : 1;
	c->period_ms = period_ms;
	c->last_swap_ms = now_ms;
	return c;
}

void
ngcache_destroy(struct ngcache **cp)
{
	if (*cp == NULL)
		return;
	ngcgen_clear(&(*cp)->gen[0]);
	ngcgen_clear(&(*cp)->gen[1]);
	free(*cp);
	*cp = NULL;
}

const char *
ngcache_get(struct ngcache *c, const char *cookie, size_t clen, size_t *len)
{
	struct ngcentry	*e;

	if ((e = ngcgen_find(&c->gen[c->cur], cookie, clen)) == NULL &&
	    (e = ngcgen_find(&c->gen[!c->cur], cookie, clen)) == NULL)
		return NULL;
	*len = e->len;
	return e->data + e->clen;
}

void
ngcache_rotate(struct ngcache *c)
{
	c->cur = !c->cur;
	ngcgen_clear(&c->gen[c->cur]);
}

int
ngcache_put(struct ngcache *c, const char *cookie, size_t clen,
    const void *reply, size_t len)
{
	struct ngcgen	*g;
	struct ngcentry	*e;
	size_t		 sz = sizeof(*e) + clen + len;
	unsigned	 h;

	if (sz > c->max_bytes)
		return -1;
	g = &c->gen[c->cur];
	if (ngcgen_find(g, cookie, clen) != NULL)
		return 0;	/* the first reply stays, as rtpengine's */
	if (g->entries + 1 > c->max_entries || g->bytes + sz > c->max_bytes) {
		ngcache_rotate(c);
		g = &c->gen[c->cur];
	}
	if ((e = malloc(sz)) == NULL)
		return -1;
	e->clen = clen;
	e->len = len;
	memcpy(e->data, cookie, clen);
	memcpy(e->data + clen, reply, len);
	h = ngcache_hash(cookie, clen);
	e->next = g->bucket[h];
	g->bucket[h] = e;
	g->entries++;
	g->bytes += sz;
	return 0;
}

void
ngcache_tick(struct ngcache *c, uint64_t now_ms)
{
	if (now_ms - c->last_swap_ms >= c->period_ms) {
		ngcache_rotate(c);
		c->last_swap_ms = now_ms;
	}
}

void
ngcache_set_period(struct ngcache *c, uint64_t period_ms)
{
	c->period_ms = period_ms;
}

size_t
ngcache_entries(const struct ngcache *c)
{
	return c->gen[0].entries + c->gen[1].entries;
}

size_t
ngcache_bytes(const struct ngcache *c)
{
	return c->gen[0].bytes + c->gen[1].bytes;
}
