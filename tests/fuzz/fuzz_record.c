/*
 * libFuzzer harness for ctld's call record decoder (ctld/record.c): each
 * input is the `data` field of an `rtpsec:call:{id}` hash as a restarted
 * ctld reads it from Redis (docs/redis.md).  A record that decodes must
 * encode again, and that encoding must decode to a call of the same id.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "ctld/call.h"
#include "ctld/record.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct call	*c, *c2;
	msgpack_sbuffer	 sb;

	if ((c = record_decode(data, size)) == NULL)
		return 0;
	msgpack_sbuffer_init(&sb);
	record_encode(&sb, c, "fuzz");
	if ((c2 = record_decode(sb.data, sb.size)) == NULL ||
	    strcmp(c->id, c2->id) != 0)
		abort();
	call_destroy(&c2);
	call_destroy(&c);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
