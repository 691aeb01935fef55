/*
 * bencode: decoder and encoder for the ng protocol's encoding (BEP 3 with
 * negative integers, as rtpengine accepts them).
 *
 * The decoder is a recursive descent bounded by BENCODE_MAX_DEPTH; every
 * length is checked against the bytes that remain before it is used, so a
 * hostile length ("99999999999:x") is an error, not a read past the end.
 * Decoded strings point into the input.  Dict keys must be strings; their
 * order is not enforced (Kamailio and rtpengine do not sort them).
 */
#include <stdint.h>
#include <string.h>

#include "libcommon/bencode.h"

struct bdec {
	struct ngarena	*a;
	const char	*p;
	const char	*end;
	const char	*err;
};

static struct ngval *bdec_value(struct bdec *, int);

static int
bdec_fail(struct bdec *d, const char *why)
{
	if (d->err == NULL)
		d->err = why;
	return -1;
}

/* Reads decimal digits up to (not including) term; rejects empty, leading
 * zeros (except "0" itself), "-0" and values outside int64_t (INT64_MIN,
 * which is what bencode_encode writes for it, is accepted). */
static int
bdec_number(struct bdec *d, char term, int allow_neg, int64_t *out)
{
	const char	*start;
	uint64_t	 n = 0, max = INT64_MAX;
	unsigned	 dig;
	int		 neg = 0;

	if (allow_neg && d->p < d->end && *d->p == '-') {
		neg = 1;
		max = (uint64_t)INT64_MAX + 1;
		d->p++;
	}
	start = d->p;
	while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
		dig = (unsigned)(*d->p - '0');
		if (n > (max - dig) / 10)
			return bdec_fail(d, "integer overflow");
		n = n * 10 + dig;
		d->p++;
	}
	if (d->p == start)
		return bdec_fail(d, "expected a digit");
	if (d->p - start > 1 && *start == '0')
		return bdec_fail(d, "leading zero");
	if (neg && n == 0)
		return bdec_fail(d, "negative zero");
	if (d->p >= d->end || *d->p != term)
		return bdec_fail(d, "truncated or malformed number");
	d->p++;
	if (neg)
		*out = n > INT64_MAX ? INT64_MIN : -(int64_t)n;
	else
		*out = (int64_t)n;
	return 0;
}

static int
bdec_string(struct bdec *d, const char **s, size_t *len)
{
	int64_t	 n;

	if (bdec_number(d, ':', 0, &n) == -1)
		return -1;
	if ((uint64_t)n > (uint64_t)(d->end - d->p))
		return bdec_fail(d, "string length past the end");
	*s = d->p;
	*len = (size_t)n;
	d->p += n;
	return 0;
}

static struct ngval *
bdec_container(struct bdec *d, int depth, int dict)
{
	struct ngval	*c, *v;
	const char	*key = NULL;
	size_t		 keylen = 0;

	if (depth >= BENCODE_MAX_DEPTH) {
		bdec_fail(d, "nested too deep");
		return NULL;
	}
	d->p++;		/* 'l' or 'd' */
	if ((c = dict ? ngval_dict(d->a) : ngval_list(d->a)) == NULL) {
		bdec_fail(d, "out of memory");
		return NULL;
	}
	for (;;) {
		if (d->p >= d->end) {
			bdec_fail(d, "truncated list or dictionary");
			return NULL;
		}
		if (*d->p == 'e') {
			d->p++;
			return c;
		}
		if (dict) {
			if (*d->p < '0' || *d->p > '9') {
				bdec_fail(d, "dictionary key is not a string");
				return NULL;
			}
			if (bdec_string(d, &key, &keylen) == -1)
				return NULL;
		}
		if ((v = bdec_value(d, depth + 1)) == NULL)
			return NULL;
		if (dict) {
			v->key = key;
			v->keylen = keylen;
		}
		ngval_append(c, v);
	}
}

static struct ngval *
bdec_value(struct bdec *d, int depth)
{
	struct ngval	*v;
	const char	*s;
	size_t		 len;
	int64_t		 i;

	if (d->p >= d->end) {
		bdec_fail(d, "truncated");
		return NULL;
	}
	switch (*d->p) {
	case 'i':
		d->p++;
		if (bdec_number(d, 'e', 1, &i) == -1)
			return NULL;
		v = ngval_int(d->a, i);
		break;
	case 'l':
		return bdec_container(d, depth, 0);
	case 'd':
		return bdec_container(d, depth, 1);
	default:
		if (*d->p < '0' || *d->p > '9') {
			bdec_fail(d, "unexpected byte");
			return NULL;
		}
		if (bdec_string(d, &s, &len) == -1)
			return NULL;
		v = ngval_str(d->a, s, len);
		break;
	}
	if (v == NULL)
		bdec_fail(d, "out of memory");
	return v;
}

struct ngval *
bencode_decode(struct ngarena *a, const char *p, size_t len, const char **err)
{
	struct bdec	 d;
	struct ngval	*v;

	if (p == NULL || len == 0) {
		if (err != NULL)
			*err = "empty input";
		return NULL;
	}
	d = (struct bdec){ a, p, p + len, NULL };
	v = bdec_value(&d, 0);
	if (v != NULL && d.p != d.end) {
		d.err = "trailing bytes";
		v = NULL;
	}
	if (v == NULL && err != NULL)
		*err = d.err != NULL ? d.err : "malformed bencode";
	return v;
}

static void
benc_str(struct buf *out, const char *s, size_t len)
{
	buf_printf(out, "%zu:", len);
	buf_add(out, s, len);
}

int
bencode_encode(struct buf *out, const struct ngval *v)
{
	const struct ngval	*c;

	if (v == NULL)
		return -1;
	switch (v->type) {
	case NGV_INT:
		buf_printf(out, "i%llde", (long long)v->i);
		break;
	case NGV_STR:
		benc_str(out, v->s, v->len);
		break;
	case NGV_LIST:
	case NGV_DICT:
		buf_addc(out, v->type == NGV_LIST ? 'l' : 'd');
		for (c = v->child; c != NULL; c = c->next) {
			if (v->type == NGV_DICT)
				benc_str(out, c->key != NULL ? c->key : "",
				    c->key != NULL ? c->keylen : 0);
			if (bencode_encode(out, c) == -1)
				return -1;
		}
		buf_addc(out, 'e');
		break;
	}
	return out->oom ? -1 : 0;
}
