/*
 * bencode: the ng protocol's native encoding (BitTorrent BEP 3 with
 * negative integers allowed): i<dec>e, <len>:<bytes>, l...e, d...e.
 *
 * The decoder validates every length against the input, bounds nesting
 * depth (BENCODE_MAX_DEPTH) and rejects trailing bytes; decoded strings
 * point into the input buffer.
 */
#ifndef RTPSEC_BENCODE_H
#define RTPSEC_BENCODE_H

#include <stddef.h>

#include "libcommon/buf.h"
#include "libcommon/ngval.h"

#define BENCODE_MAX_DEPTH	32

/* Returns the root, or NULL with a static reason in *err. */
struct ngval	*bencode_decode(struct ngarena *, const char *, size_t,
		    const char **err);
/* Appends the encoding of v to out; returns 0 or -1 (out->oom). */
int		 bencode_encode(struct buf *out, const struct ngval *v);

#endif
