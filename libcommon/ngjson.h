/*
 * ngjson: JSON framing of the ng protocol (json-c), into and out of ngval.
 * JSON numbers that are integers become NGV_INT, true/false become 1/0,
 * null becomes an empty string; floats are kept as their decimal string.
 * Refused: anything but whitespace after the value, more than
 * BENCODE_MAX_DEPTH nested arrays/objects, integers outside int64_t,
 * NaN and Infinity.  Decoded strings are copied into the arena.
 */
#ifndef RTPSEC_NGJSON_H
#define RTPSEC_NGJSON_H

#include <stddef.h>

#include "libcommon/buf.h"
#include "libcommon/ngval.h"

struct ngval	*ngjson_decode(struct ngarena *, const char *, size_t,
		    const char **err);
int		 ngjson_encode(struct buf *out, const struct ngval *v);

#endif
