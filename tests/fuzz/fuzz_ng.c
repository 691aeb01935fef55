/*
 * libFuzzer harness for ctld's ng front end: each input is one raw
 * datagram ("COOKIE SP bencode-or-JSON") given to ng_handle(), the entry
 * ngnet.c calls for every UDP datagram, so framing, decoding, the reply
 * cache and every command's request parsing see it.  It runs as the unit
 * tests do, without relayd or Redis (ctld.relay and ctld.store are NULL:
 * offer and answer stop at "no relayd" after parsing the request and its
 * SDP), with a fresh call table and cache per input so a crash replays.
 *
 * Checked: a reply is "COOKIE SP" + one dict in the request's encoding
 * with a "result", no larger than a UDP datagram; a repeated datagram gets
 * the same bytes back from the cache; ng_tcp_msglen() stays in bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/bencode.h"
#include "libcommon/buf.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/ngjson.h"
#include "libcommon/ngval.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/ng.h"
#include "ctld/ngcache.h"

static struct config	 cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[256];

	(void)argc;
	(void)argv;
	log_init("fuzz_ng", 0, 0);
	if (config_load(&cfg, NULL, err, sizeof(err)) == -1)
		abort();
	return 0;
}

/* The reply after "COOKIE SP" must be one dict with a "result". */
static void
check_reply(const char *data, size_t size, const struct buf *out)
{
	const char	*cookie, *payload, *r, *err = NULL;
	size_t		 clen, plen, rlen;
	struct ngarena	*a;
	struct ngval	*v;

	if (ng_split(data, size, &cookie, &clen, &payload, &plen) == -1)
		abort();
	if (out->len < clen + 1 || out->len - clen - 1 == 0 ||
	    memcmp(out->p, cookie, clen) != 0 || out->p[clen] != ' ')
		abort();
	if (out->len > NG_UDP_MAX)
		abort();
	r = out->p + clen + 1;
	rlen = out->len - clen - 1;
	if ((a = ngarena_new()) == NULL)
		return;
	if (plen > 0 && payload[0] == '{')
		v = ngjson_decode(a, r, rlen, &err);
	else
		v = bencode_decode(a, r, rlen, &err);
	if (v == NULL || v->type != NGV_DICT || ngval_get(v, "result") == NULL)
		abort();
	ngarena_destroy(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*d = (const char *)data;
	struct ctld	 c;
	struct buf	 out, again;
	ssize_t		 ml;
	int		 rc;

	ml = ng_tcp_msglen(d, size);
	if (ml < -1 || ml > (ssize_t)size)
		abort();

	memset(&c, 0, sizeof(c));
	c.cfg = &cfg;
	if ((c.calls = calls_new()) == NULL ||
	    (c.cache = ngcache_new(1000, 1 << 20, 30000, 0)) == NULL)
		abort();
	buf_init(&out);
	buf_init(&again);
	rc = ng_handle(&c, d, size, "127.0.0.1", &out, NG_UDP_MAX);
	if (rc == 0) {
		check_reply(d, size, &out);
		/* a retransmission is answered from the cache, unchanged */
		if (ng_handle(&c, d, size, "127.0.0.1", &again,
		    NG_UDP_MAX) != 0 || again.len != out.len ||
		    memcmp(again.p, out.p, out.len) != 0)
			abort();
	}
	buf_free(&out);
	buf_free(&again);
	calls_destroy(&c.calls);
	ngcache_destroy(&c.cache);
	return 0;
}
