/*
 * call: the table of calls (a chained hash on call-id plus a list in
 * creation order, which `list` reports) and the parties of a call.  See
 * call.h for the model.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld/call.h"

#define CALLS_BUCKETS	4096

struct calls {
	struct call	*bucket[CALLS_BUCKETS];
	struct call	*head, *tail;
	size_t		 count;
};

/*
 * Shared strings: a chained hash of reference-counted strings that grows
 * with them.  A field points at str[] of its entry; "" is the static
 * empty string and is never counted.  ctld is single-threaded.
 */
struct cstr {
	struct cstr	*next;
	uint32_t	 refs;
	uint32_t	 hash;
	size_t		 len;
	char		 str[];
};

static struct cstr	**cstr_tab;
static size_t		  cstr_nbuckets, cstr_n;
static const char	  cstr_empty[1];

static uint32_t
calls_fnv(const char *s, size_t len)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static unsigned
calls_hash(const char *s, size_t len)
{
	return calls_fnv(s, len) % CALLS_BUCKETS;
}

static void
cstr_grow(void)
{
	struct cstr	**nt, *e, *n;
	size_t		  nb = cstr_nbuckets ? cstr_nbuckets * 2 : 256, i;

	if ((nt = calloc(nb, sizeof(*nt))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < cstr_nbuckets; i++)
		for (e = cstr_tab[i]; e != NULL; e = n) {
			n = e->next;
			e->next = nt[e->hash % nb];
			nt[e->hash % nb] = e;
		}
	free(cstr_tab);
	cstr_tab = nt;
	cstr_nbuckets = nb;
}

static struct cstr *
cstr_of(const char *s)
{
	return (struct cstr *)(void *)((char *)(uintptr_t)s -
	    offsetof(struct cstr, str));
}

void
call_str_clear(const char **f)
{
	struct cstr	*e, **pp;

	if (*f == NULL || *f == cstr_empty) {
		*f = cstr_empty;
		return;
	}
	e = cstr_of(*f);
	*f = cstr_empty;
	if (--e->refs > 0)
		return;
	for (pp = &cstr_tab[e->hash % cstr_nbuckets]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	cstr_n--;
	free(e);
}

int
call_str_set(const char **f, const char *s, size_t len)
{
	struct cstr	*e;
	uint32_t	 h;

	if (s == NULL || len == 0) {
		call_str_clear(f);
		return 0;
	}
	/* a C string: what cannot be one is refused, not cut */
	if (memchr(s, '\0', len) != NULL)
		return -1;
	if (*f != NULL && *f != cstr_empty && cstr_of(*f)->len == len &&
	    memcmp(*f, s, len) == 0)
		return 0;
	h = calls_fnv(s, len);
	if (cstr_n >= cstr_nbuckets)
		cstr_grow();
	for (e = cstr_nbuckets ? cstr_tab[h % cstr_nbuckets] : NULL;
	    e != NULL; e = e->next)
		if (e->hash == h && e->len == len &&
		    memcmp(e->str, s, len) == 0)
			break;
	if (e == NULL) {
		if (cstr_nbuckets == 0 ||
		    (e = malloc(sizeof(*e) + len + 1)) == NULL) {
			call_str_clear(f);
			return -1;
		}
		e->refs = 0;
		e->hash = h;
		e->len = len;
		memcpy(e->str, s, len);
		e->str[len] = '\0';
		e->next = cstr_tab[h % cstr_nbuckets];
		cstr_tab[h % cstr_nbuckets] = e;
		cstr_n++;
	}
	e->refs++;		/* before the clear: it may be the same */
	call_str_clear(f);
	*f = e->str;
	return 0;
}

int
call_str_setz(const char **f, const char *s)
{
	return call_str_set(f, s, s != NULL ? strlen(s) : 0);
}

size_t
call_str_count(void)
{
	return cstr_n;
}

static void
media_clear(struct media *m)
{
	call_str_clear(&m->type);
	call_str_clear(&m->proto);
	call_str_clear(&m->codec);
	call_str_clear(&m->addr);
	call_str_clear(&m->suite);
}

static void
media_init(struct media *m)
{
	memset(m, 0, sizeof(*m));
	m->type = m->proto = m->codec = m->addr = m->suite = cstr_empty;
}

static void
party_clear(struct party *p)
{
	size_t	 i;

	for (i = 0; i < p->nmedia; i++)
		media_clear(&p->media[i]);
	free(p->media);
	p->media = NULL;
	p->nmedia = 0;
	call_str_clear(&p->tag);
	call_str_clear(&p->label);
	call_str_clear(&p->via_branch);
	call_str_clear(&p->laddr);
	call_str_clear(&p->direction[0]);
	call_str_clear(&p->direction[1]);
}

struct call *
call_alloc(const char *id, size_t len)
{
	struct call	*c;

	if (!call_str_fits(id, len, CALL_IDLEN) || len == 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c) + len + 1)) == NULL)
		return NULL;
	memcpy(c->id, id, len);
	call_str_clear(&c->relay_node);
	c->next_untagged = 1;
	c->next_leg = 1;
	return c;
}

void
call_destroy(struct call **cp)
{
	struct call	*c = *cp;
	size_t		 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nparty; i++)
		party_clear(&c->party[i]);
	free(c->party);
	call_str_clear(&c->relay_node);
	free(c);
	*cp = NULL;
}

struct calls *
calls_new(void)
{
	return calloc(1, sizeof(struct calls));
}

void
calls_destroy(struct calls **cp)
{
	struct call	*c, *n;

	if (*cp == NULL)
		return;
	for (c = (*cp)->head; c != NULL; c = n) {
		n = c->next;
		call_destroy(&c);
	}
	free(*cp);
	*cp = NULL;
}

size_t
calls_count(const struct calls *cs)
{
	return cs->count;
}

size_t
calls_active(const struct calls *cs)
{
	const struct call	*c;
	size_t			 n = 0;

	for (c = cs->head; c != NULL; c = c->next)
		if (c->delete_at_ms == 0)
			n++;
	return n;
}

struct call *
calls_find(struct calls *cs, const char *id, size_t len)
{
	struct call	*c;

	for (c = cs->bucket[calls_hash(id, len)]; c != NULL; c = c->hnext)
		if (strlen(c->id) == len && memcmp(c->id, id, len) == 0)
			return c;
	return NULL;
}

void
calls_insert(struct calls *cs, struct call *c)
{
	unsigned	 h = calls_hash(c->id, strlen(c->id));

	c->hnext = cs->bucket[h];
	cs->bucket[h] = c;
	c->next = NULL;
	c->prev = cs->tail;
	if (cs->tail != NULL)
		cs->tail->next = c;
	else
		cs->head = c;
	cs->tail = c;
	cs->count++;
}

struct call *
calls_add(struct calls *cs, const char *id, size_t len)
{
	struct call	*c;

	if ((c = call_alloc(id, len)) == NULL)
		return NULL;
	calls_insert(cs, c);
	return c;
}

void
calls_remove(struct calls *cs, struct call **cp)
{
	struct call	*c = *cp, **pp;

	if (c == NULL)
		return;
	for (pp = &cs->bucket[calls_hash(c->id, strlen(c->id))]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		cs->tail = c->prev;
	cs->count--;
	c->hnext = c->prev = c->next = NULL;
	if (!c->keep)
		call_destroy(&c);
	*cp = NULL;
}

struct call *
calls_first(struct calls *cs)
{
	return cs->head;
}

int
call_party_by_tag(const struct call *c, const char *tag, size_t len)
{
	size_t	 i;

	if (len == 0)
		return -1;
	for (i = 0; i < c->nparty; i++)
		if (!c->party[i].gone && strlen(c->party[i].tag) == len &&
		    memcmp(c->party[i].tag, tag, len) == 0)
			return (int)i;
	return -1;
}

int
call_party_by_leg(const struct call *c, const char *leg, size_t len)
{
	size_t	 i;

	for (i = 0; i < c->nparty; i++)
		if (strlen(c->party[i].leg) == len &&
		    memcmp(c->party[i].leg, leg, len) == 0)
			return (int)i;
	return -1;
}

int
call_party_add(struct call *c, const char *tag, size_t len, uint64_t now)
{
	struct party	*p;

	if (c->nparty >= CALL_MAX_PARTIES)
		return -1;
	if (tag != NULL && !call_str_fits(tag, len, CALL_TAGLEN))
		return -1;
	if (c->nparty == c->pcap) {
		/* two at first: most calls never have more */
		uint32_t	 cap = c->pcap ? c->pcap * 2 : 2;

		if ((p = realloc(c->party, cap * sizeof(*p))) == NULL)
			return -1;
		c->party = p;
		c->pcap = cap;
	}
	p = &c->party[c->nparty];
	memset(p, 0, sizeof(*p));
	p->tag = p->label = p->via_branch = p->laddr = cstr_empty;
	p->direction[0] = p->direction[1] = cstr_empty;
	if (tag != NULL && len > 0) {
		if (call_str_set(&p->tag, tag, len) == -1)
			return -1;
	} else
		p->untagged = c->next_untagged++;
	snprintf(p->leg, sizeof(p->leg), "L%u", c->next_leg++);
	p->peer = -1;
	p->created = now;
	return (int)c->nparty++;
}

int
party_set_nmedia(struct party *p, size_t n)
{
	struct media	*m;
	size_t		 i;

	if (n == p->nmedia)
		return 0;
	if (n > SDP_MAX_MEDIA)
		return -1;
	for (i = n; i < p->nmedia; i++)
		media_clear(&p->media[i]);
	if (n == 0) {
		free(p->media);
		p->media = NULL;
		p->nmedia = 0;
		return 0;
	}
	if ((m = realloc(p->media, n * sizeof(*m))) == NULL) {
		if (n < p->nmedia)
			p->nmedia = (uint32_t)n;	/* cleared above */
		return -1;
	}
	for (i = p->nmedia; i < n; i++)
		media_init(&m[i]);
	p->media = m;
	p->nmedia = (uint32_t)n;
	return 0;
}

void
party_key(const struct party *p, char *dst, size_t size)
{
	if (p->tag[0] != '\0')
		snprintf(dst, size, "%s", p->tag);
	else
		snprintf(dst, size, "<untagged %u>", p->untagged);
}

int
call_str_fits(const char *s, size_t len, size_t size)
{
	if (len == 0)
		return size > 0;
	return len < size && memchr(s, '\0', len) == NULL;
}

void
call_strlcpy(char *dst, size_t size, const char *s, size_t len)
{
	if (size == 0)
		return;
	if (s == NULL)
		len = 0;
	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
}

int
party_has_srtp(const struct party *p)
{
	size_t	 i;

	for (i = 0; p->media != NULL && i < p->nmedia; i++)
		if (p->media[i].srtp)
			return 1;
	return 0;
}

int
call_has_srtp(const struct call *c)
{
	return c->srtp;
}
