/*
 * ngmsgpack: an ngval tree to and from msgpack, for the ng commands carried
 * over ctld's ZeroMQ API (ipc op "ng", field "cmd") and for rtpsec-ctl.
 * msgpack str and bin both become NGV_STR; booleans become 0/1; nil an
 * empty string; floats are rejected, and so are ext, integers above
 * INT64_MAX, map keys that are not str and more than 32 nested
 * arrays/maps (BENCODE_MAX_DEPTH).
 */
#ifndef RTPSEC_NGMSGPACK_H
#define RTPSEC_NGMSGPACK_H

#include <msgpack.h>

#include "libcommon/ngval.h"

/* Strings are copied into the arena. NULL with *err on failure. */
struct ngval	*ngmsgpack_from(struct ngarena *, const msgpack_object *,
		    const char **err);
void		 ngmsgpack_pack(msgpack_packer *, const struct ngval *);

#endif
