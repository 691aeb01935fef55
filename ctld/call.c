/*
 * call: the table of calls (a chained hash on call-id plus a list in
 * creation order, which `list` reports) and the parties of a call.  See
 * call.h for the model.
 */
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

static unsigned
calls_hash(const char *s, size_t len)
{
	unsigned	 h = 2166136261u;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h % CALLS_BUCKETS;
}

struct calls *
calls_new(void)
{
	return calloc(1, sizeof(struct calls));
}

static void
call_free(struct call *c)
{
	size_t	 i;

	for (i = 0; i < c->nparty; i++)
		free(c->party[i].media);
	free(c);
}

void
calls_destroy(struct calls **cp)
{
	struct call	*c, *n;

	if (*cp == NULL)
		return;
	for (c = (*cp)->head; c != NULL; c = n) {
		n = c->next;
		call_free(c);
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

struct call *
calls_add(struct calls *cs, const char *id, size_t len)
{
	struct call	*c;
	unsigned	 h;

	if (!call_str_fits(id, len, CALL_IDLEN) || len == 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->id, id, len);
	c->next_untagged = 1;
	c->next_leg = 1;
	h = calls_hash(id, len);
	c->hnext = cs->bucket[h];
	cs->bucket[h] = c;
	c->prev = cs->tail;
	if (cs->tail != NULL)
		cs->tail->next = c;
	else
		cs->head = c;
	cs->tail = c;
	cs->count++;
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
	call_free(c);
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
	p = &c->party[c->nparty];
	memset(p, 0, sizeof(*p));
	if (tag != NULL && len > 0)
		memcpy(p->tag, tag, len);
	else
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

	if (n == p->nmedia)
		return 0;
	if (n == 0) {
		free(p->media);
		p->media = NULL;
		p->nmedia = 0;
		return 0;
	}
	if ((m = realloc(p->media, n * sizeof(*m))) == NULL)
		return -1;
	if (n > p->nmedia)
		memset(m + p->nmedia, 0, (n - p->nmedia) * sizeof(*m));
	p->media = m;
	p->nmedia = n;
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
