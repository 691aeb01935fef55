/*
 * ngval: the value tree of an ng command or reply.  bencode (bencode.c),
 * JSON (ngjson.c, json-c) and msgpack (ngmsgpack.c, for the ZeroMQ API) all
 * decode into it and encode from it, so ctld handles one representation.
 *
 * Nodes live in a struct ngarena and are freed with it: a decoded request
 * and the reply built for it share one arena.  Strings are byte ranges with
 * explicit lengths (binary-safe, not NUL-terminated) that point either into
 * the decoded input (which must outlive the arena's use) or into the arena.
 *
 * Dict keys are compared the ng way: "call-id" also matches "call id"
 * (rtpengine accepts a space or a hyphen between words).  Duplicate keys
 * are kept; lookups return the first.
 */
#ifndef RTPSEC_NGVAL_H
#define RTPSEC_NGVAL_H

#include <stddef.h>
#include <stdint.h>

enum ngval_type { NGV_INT, NGV_STR, NGV_LIST, NGV_DICT };

struct ngval {
	enum ngval_type	 type;
	int64_t		 i;		/* NGV_INT */
	const char	*s;		/* NGV_STR bytes */
	size_t		 len;		/* NGV_STR length */
	const char	*key;		/* set when this node is a dict member */
	size_t		 keylen;
	struct ngval	*child;		/* LIST/DICT: first member */
	struct ngval	*last;		/* LIST/DICT: last member (appends) */
	struct ngval	*next;		/* next sibling */
	size_t		 count;		/* LIST/DICT: number of members */
};

struct ngarena;

/* Owned arena; NULL on allocation failure.  ngarena_destroy(&a) frees every
 * node and string allocated from it and NULLs a. */
struct ngarena	*ngarena_new(void);
void		 ngarena_destroy(struct ngarena **);
void		*ngarena_alloc(struct ngarena *, size_t);	/* zeroed */
/* Copies bytes into the arena (NUL-terminated); NULL on failure. */
char		*ngarena_strdup(struct ngarena *, const char *, size_t);

/* Constructors; all return NULL on allocation failure. */
struct ngval	*ngval_int(struct ngarena *, int64_t);
struct ngval	*ngval_str(struct ngarena *, const char *, size_t);	/* borrows */
struct ngval	*ngval_strz(struct ngarena *, const char *);		/* copies */
struct ngval	*ngval_list(struct ngarena *);
struct ngval	*ngval_dict(struct ngarena *);
/* Appends v to a list, or to a dict under key (key is copied). v may be
 * NULL (then -1 is returned: allocation failures propagate). */
int		 ngval_append(struct ngval *list, struct ngval *v);
int		 ngval_put(struct ngarena *, struct ngval *dict, const char *key,
		    struct ngval *v);
/* Shorthands for ngval_put of a string (copied), an int, a new list/dict. */
int		 ngval_put_str(struct ngarena *, struct ngval *, const char *key,
		    const char *);
int		 ngval_put_strn(struct ngarena *, struct ngval *, const char *key,
		    const char *, size_t);
int		 ngval_put_int(struct ngarena *, struct ngval *, const char *key,
		    int64_t);
struct ngval	*ngval_put_list(struct ngarena *, struct ngval *, const char *key);
struct ngval	*ngval_put_dict(struct ngarena *, struct ngval *, const char *key);

/* Lookups (ng key matching: ' ' == '-').  NULL / -1 when absent or of
 * another type. */
struct ngval	*ngval_get(const struct ngval *dict, const char *key);
int		 ngval_get_str(const struct ngval *, const char *key,
		    const char **, size_t *);
/* An integer, or a string holding a decimal integer (rtpengine accepts
 * both, and Kamailio sends both). */
int		 ngval_get_int(const struct ngval *, const char *key, int64_t *);
/* 1 if a list member (string) equals word, ng-matched, else 0. */
int		 ngval_has(const struct ngval *list, const char *word);
/* 1 if the string node equals s, ng-matched (' ' == '-', case-sensitive). */
int		 ngval_streq(const struct ngval *, const char *s);

#endif
