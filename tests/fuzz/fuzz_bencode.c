/*
 * libFuzzer harness for libcommon/bencode: arbitrary bytes through
 * bencode_decode().  A rejected input must come with a reason.  An
 * accepted one must re-encode to exactly the input (the decoder takes no
 * non-canonical form: no leading zeros, no "-0", no trailing bytes, and
 * keeps dict order), and that encoding must decode again and re-encode to
 * the same bytes.  ngval_get/ngval_get_int run over the root's keys, as
 * ctld does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/bencode.h"
#include "libcommon/buf.h"
#include "libcommon/ngval.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ngarena		*a;
	const struct ngval	*v, *again, *m;
	struct buf		 e1, e2;
	const char		*err = NULL, *s;
	char			 key[64];
	size_t			 len;
	int64_t			 i;

	if ((a = ngarena_new()) == NULL)
		return 0;
	if ((v = bencode_decode(a, (const char *)data, size, &err)) == NULL) {
		if (err == NULL)
			abort();
		ngarena_destroy(&a);
		return 0;
	}
	if (v->type == NGV_DICT)
		for (m = v->child; m != NULL; m = m->next) {
			if (m->keylen >= sizeof(key) ||
			    memchr(m->key, '\0', m->keylen) != NULL)
				continue;
			memcpy(key, m->key, m->keylen);
			key[m->keylen] = '\0';
			if (ngval_get(v, key) == NULL)
				abort();
			(void)ngval_get_int(v, key, &i);
			(void)ngval_get_str(v, key, &s, &len);
			(void)ngval_has(ngval_get(v, key), "x");
		}
	buf_init(&e1);
	buf_init(&e2);
	if (bencode_encode(&e1, v) == -1)
		abort();
	if (e1.len != size || memcmp(e1.p, data, size) != 0)
		abort();
	if ((again = bencode_decode(a, e1.p, e1.len, &err)) == NULL)
		abort();
	if (bencode_encode(&e2, again) == -1 || e2.len != e1.len ||
	    memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	buf_free(&e1);
	buf_free(&e2);
	ngarena_destroy(&a);
	return 0;
}
