/*
 * libFuzzer harness for libcommon/ngjson: arbitrary bytes through
 * ngjson_decode().  A rejected input must come with a reason.  An accepted
 * one is encoded; that encoding must decode, and re-encode to the same
 * bytes (the first pass may normalise: booleans to 0/1, null to "",
 * floats to strings, repeated keys to one).  The same tree must also
 * survive bencode: JSON -> ngval -> bencode -> ngval -> JSON is the
 * identity on the normalised form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/bencode.h"
#include "libcommon/buf.h"
#include "libcommon/ngjson.h"
#include "libcommon/ngval.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ngarena		*a;
	const struct ngval	*v, *again, *b;
	struct buf		 e1, e2, be, e3;
	const char		*err = NULL;

	if ((a = ngarena_new()) == NULL)
		return 0;
	if ((v = ngjson_decode(a, (const char *)data, size, &err)) == NULL) {
		if (err == NULL)
			abort();
		ngarena_destroy(&a);
		return 0;
	}
	buf_init(&e1);
	buf_init(&e2);
	buf_init(&be);
	buf_init(&e3);
	if (ngjson_encode(&e1, v) == -1)
		abort();
	if ((again = ngjson_decode(a, e1.p, e1.len, &err)) == NULL)
		abort();
	if (ngjson_encode(&e2, again) == -1 || e2.len != e1.len ||
	    memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	if (bencode_encode(&be, again) == -1 ||
	    (b = bencode_decode(a, be.p, be.len, &err)) == NULL ||
	    ngjson_encode(&e3, b) == -1 || e3.len != e1.len ||
	    memcmp(e1.p, e3.p, e1.len) != 0)
		abort();
	buf_free(&e1);
	buf_free(&e2);
	buf_free(&be);
	buf_free(&e3);
	ngarena_destroy(&a);
	return 0;
}
