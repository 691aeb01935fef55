/*
 * libFuzzer harness for relayd's relay record parser (relayd/persist.c):
 * each input is the `data` field of an `rtpsec:relay:{id}` hash as a
 * restarted relayd, or a node adopting a dead one, reads it from Redis
 * (docs/redis.md "Relay records").  persist_parse() checks everything
 * before a port is bound or keyd is asked: what it accepts must hold
 * only in-range ports, NUL-terminated ids within their buffers, at most
 * RELAY_MAX_MEDIA media and PERSIST_MAXLEGS legs, and a wrapped key of
 * non-zero length for every SRTP direction it counts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "libcommon/ipc.h"
#include "relayd/persist.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct persist_rec	 pr;
	msgpack_unpacked		 u;
	char				 err[128];
	size_t				 off = 0, i, j, keys = 0;
	int				 d;

	if (ipc_framing_ok(data, size) == -1)
		return 0;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, (const char *)data, size, &off) ==
	    MSGPACK_UNPACK_SUCCESS &&
	    persist_parse(&u.data, &pr, err, sizeof(err)) == 0) {
		if (pr.nlegs > PERSIST_MAXLEGS)
			abort();
		for (i = 0; i < pr.nlegs; i++) {
			if (pr.legs[i].nmedia > RELAY_MAX_MEDIA ||
			    memchr(pr.legs[i].id, 0, sizeof(pr.legs[i].id)) ==
			    NULL || pr.legs[i].id[0] == '\0')
				abort();
			for (j = 0; j < pr.legs[i].nmedia; j++) {
				if (pr.legs[i].media[j].port == 0 ||
				    pr.legs[i].media[j].port > 65534)
					abort();
				for (d = 0; d < 2; d++)
					if (pr.legs[i].media[j].k[d] != NULL) {
						if (pr.legs[i].media[j].wlen[d]
						    == 0)
							abort();
						keys++;
					}
			}
		}
		if (keys != pr.nkeys)
			abort();
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}
