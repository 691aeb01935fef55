/*
 * libFuzzer harness for statsd's saved-state parser (statsd/collect.c
 * collect_restore): each input is one field of the `rtpsec:stats:<node>`
 * hash as a restarted statsd reads it from Redis.  Whatever it accepts,
 * the exposition it then renders must be well formed enough to end in a
 * newline, and saving must work.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "libcommon/buf.h"
#include "statsd/collect.h"

static void
save_fn(void *arg, const char *field, const void *blob, size_t len)
{
	(void)arg;
	(void)field;
	(void)blob;
	(void)len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collect	*c;
	struct buf	 b;

	if ((c = collect_new(3000, 64, 0)) == NULL)
		return 0;
	collect_set_persisting(c, 1);
	(void)collect_restore(c, data, size);
	buf_init(&b);
	if (collect_render(c, &b, 10) == 0 &&
	    (b.len == 0 || b.p[b.len - 1] != '\n'))
		abort();
	(void)collect_save(c, 1, save_fn, NULL);
	buf_free(&b);
	collect_destroy(&c);
	return 0;
}
