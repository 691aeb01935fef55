/*
 * libFuzzer harness for keyd's wrapped-key parser (keyd/kek.c): each input
 * is a `wrapped` blob as relayd hands it back in `srtp_unwrap` (it comes
 * from Redis).  With a fresh KEK, a blob that is not keyd's own must be
 * refused and leave the output wiped; the first input also checks that a
 * blob keyd wrapped opens to the same key, and to nothing when bound to
 * another direction.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/buf.h"
#include "libcommon/sdes.h"
#include "keyd/kek.h"

static struct keyd_kek	 kek;
static int		 ready;

static void
selftest(void)
{
	struct keyd_kek_bind	 b = { "call@fuzz", "L1", 1, "in" };
	struct sdes_crypto	 c, o;
	struct buf		 out;
	char			 why[128];

	memset(&c, 0, sizeof(c));
	c.suite = SDES_AES_CM_128_HMAC_SHA1_80;
	c.key_len = 30;
	memset(c.key, 0x5a, c.key_len);
	buf_init(&out);
	if (keyd_kek_wrap(&kek, &b, &c, &out) == -1 ||
	    keyd_kek_unwrap(&kek, &b, (const uint8_t *)out.p, out.len, &o, why,
	    sizeof(why)) == -1 || o.key_len != 30 ||
	    memcmp(o.key, c.key, 30) != 0)
		abort();
	b.dir = "out";
	if (keyd_kek_unwrap(&kek, &b, (const uint8_t *)out.p, out.len, &o, why,
	    sizeof(why)) != -1)
		abort();
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_kek_bind	 b = { "call@fuzz", "L1", 1, "in" };
	struct sdes_crypto	 o;
	char			 why[128];
	size_t			 i;

	if (!ready) {
		if (keyd_kek_generate(&kek) == -1)
			abort();
		selftest();
		ready = 1;
	}
	if (keyd_kek_unwrap(&kek, &b, data, size, &o, why,
	    sizeof(why)) != -1)
		abort();	/* nobody but this KEK made a valid blob */
	for (i = 0; i < sizeof(o.key); i++)
		if (o.key[i] != 0)
			abort();
	return 0;
}
