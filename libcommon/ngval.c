/*
 * ngval: the value tree shared by the ng encodings (see ngval.h).
 *
 * The arena is a chain of blocks; nothing is freed individually, which
 * suits a request/reply that lives for one command.  Allocations are
 * aligned to max_align_t.  An arena refuses to grow beyond
 * NGARENA_MAX_BYTES so that a hostile request cannot make ctld allocate
 * without bound (the decoders already bound the input size; this is the
 * second fence).
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/ngval.h"

#define NGARENA_BLOCK		8192
#define NGARENA_MAX_BYTES	(64u * 1024 * 1024)

struct ngblock {
	struct ngblock	*next;
	size_t		 used;
	size_t		 cap;
	alignas(max_align_t) unsigned char data[];
};

struct ngarena {
	struct ngblock	*head;
	size_t		 total;
};

struct ngarena *
ngarena_new(void)
{
	return calloc(1, sizeof(struct ngarena));
}

void
ngarena_destroy(struct ngarena **ap)
{
	struct ngblock	*b, *next;

	if (ap == NULL || *ap == NULL)
		return;
	for (b = (*ap)->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(*ap);
	*ap = NULL;
}

void *
ngarena_alloc(struct ngarena *a, size_t n)
{
	const size_t	 align = alignof(max_align_t);
	struct ngblock	*b;
	size_t		 cap;
	void		*p;

	if (a == NULL || n > NGARENA_MAX_BYTES)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	b = a->head;
	if (b == NULL || b->cap - b->used < n) {
		cap = n > NGARENA_BLOCK ? n : NGARENA_BLOCK;
		if (a->total + cap > NGARENA_MAX_BYTES)
			return NULL;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
		a->total += cap;
	}
	p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *
ngarena_strdup(struct ngarena *a, const char *s, size_t len)
{
	char	*p;

	if (len == SIZE_MAX || (p = ngarena_alloc(a, len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static struct ngval *
ngval_new(struct ngarena *a, enum ngval_type t)
{
	struct ngval	*v;

	if ((v = ngarena_alloc(a, sizeof(*v))) != NULL)
		v->type = t;
	return v;
}

struct ngval *
ngval_int(struct ngarena *a, int64_t i)
{
	struct ngval	*v;

	if ((v = ngval_new(a, NGV_INT)) != NULL)
		v->i = i;
	return v;
}

struct ngval *
ngval_str(struct ngarena *a, const char *s, size_t len)
{
	struct ngval	*v;

	if ((v = ngval_new(a, NGV_STR)) != NULL) {
		v->s = len > 0 ? s : "";
		v->len = len;
	}
	return v;
}

struct ngval *
ngval_strz(struct ngarena *a, const char *s)
{
	size_t	 len = strlen(s);
	char	*p;

	if ((p = ngarena_strdup(a, s, len)) == NULL)
		return NULL;
	return ngval_str(a, p, len);
}

struct ngval *
ngval_list(struct ngarena *a)
{
	return ngval_new(a, NGV_LIST);
}

struct ngval *
ngval_dict(struct ngarena *a)
{
	return ngval_new(a, NGV_DICT);
}

int
ngval_append(struct ngval *list, struct ngval *v)
{
	if (list == NULL || v == NULL ||
	    (list->type != NGV_LIST && list->type != NGV_DICT))
		return -1;
	v->next = NULL;
	if (list->last != NULL)
		list->last->next = v;
	else
		list->child = v;
	list->last = v;
	list->count++;
	return 0;
}

int
ngval_put(struct ngarena *a, struct ngval *dict, const char *key,
    struct ngval *v)
{
	size_t	 len;

	if (dict == NULL || dict->type != NGV_DICT || v == NULL || key == NULL)
		return -1;
	len = strlen(key);
	if ((v->key = ngarena_strdup(a, key, len)) == NULL)
		return -1;
	v->keylen = len;
	return ngval_append(dict, v);
}

int
ngval_put_str(struct ngarena *a, struct ngval *d, const char *key,
    const char *s)
{
	return ngval_put(a, d, key, s != NULL ? ngval_strz(a, s) : NULL);
}

int
ngval_put_strn(struct ngarena *a, struct ngval *d, const char *key,
    const char *s, size_t len)
{
	char	*p;

	if ((p = ngarena_strdup(a, s, len)) == NULL)
		return -1;
	return ngval_put(a, d, key, ngval_str(a, p, len));
}

int
ngval_put_int(struct ngarena *a, struct ngval *d, const char *key, int64_t i)
{
	return ngval_put(a, d, key, ngval_int(a, i));
}

struct ngval *
ngval_put_list(struct ngarena *a, struct ngval *d, const char *key)
{
	struct ngval	*l = ngval_list(a);

	return ngval_put(a, d, key, l) == 0 ? l : NULL;
}

struct ngval *
ngval_put_dict(struct ngarena *a, struct ngval *d, const char *key)
{
	struct ngval	*l = ngval_dict(a);

	return ngval_put(a, d, key, l) == 0 ? l : NULL;
}

/* ng word comparison: ' ' and '-' are the same character. */
static int
ng_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 i;
	char	 x, y;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++) {
		x = a[i] == ' ' ? '-' : a[i];
		y = b[i] == ' ' ? '-' : b[i];
		if (x != y)
			return 0;
	}
	return 1;
}

struct ngval *
ngval_get(const struct ngval *dict, const char *key)
{
	struct ngval	*v;
	size_t		 len;

	if (dict == NULL || dict->type != NGV_DICT || key == NULL)
		return NULL;
	len = strlen(key);
	for (v = dict->child; v != NULL; v = v->next)
		if (ng_eq(v->key, v->keylen, key, len))
			return v;
	return NULL;
}

int
ngval_get_str(const struct ngval *d, const char *key, const char **s,
    size_t *len)
{
	struct ngval	*v = ngval_get(d, key);

	if (v == NULL || v->type != NGV_STR)
		return -1;
	*s = v->s;
	if (len != NULL)
		*len = v->len;
	return 0;
}

int
ngval_get_int(const struct ngval *d, const char *key, int64_t *out)
{
	struct ngval	*v = ngval_get(d, key);
	uint64_t	 n = 0, max = INT64_MAX;
	unsigned	 dig;
	size_t		 i = 0;
	int		 neg = 0;

	if (v == NULL)
		return -1;
	if (v->type == NGV_INT) {
		*out = v->i;
		return 0;
	}
	if (v->type != NGV_STR || v->len == 0)
		return -1;
	if (v->s[0] == '-') {
		neg = 1;
		i = 1;
		max = (uint64_t)INT64_MAX + 1;
		if (v->len == 1)
			return -1;
	}
	for (; i < v->len; i++) {
		if (v->s[i] < '0' || v->s[i] > '9')
			return -1;
		dig = (unsigned)(v->s[i] - '0');
		if (n > (max - dig) / 10)
			return -1;
		n = n * 10 + dig;
	}
	if (neg)
		*out = n > INT64_MAX ? INT64_MIN : -(int64_t)n;
	else
		*out = (int64_t)n;
	return 0;
}

int
ngval_streq(const struct ngval *v, const char *s)
{
	if (v == NULL || v->type != NGV_STR || s == NULL)
		return 0;
	return ng_eq(v->s, v->len, s, strlen(s));
}

int
ngval_has(const struct ngval *list, const char *word)
{
	struct ngval	*v;

	if (list == NULL || (list->type != NGV_LIST && list->type != NGV_DICT))
		return 0;
	for (v = list->child; v != NULL; v = v->next)
		if (ngval_streq(v, word))
			return 1;
	return 0;
}
