/*
 * Unit tests for the Redis call-record format: key names
 * (libcommon/store.h) and the msgpack record of a call (ctld/record.h),
 * round trip and tolerance of missing, unknown and malformed fields.
 * The Redis I/O itself is exercised by the integration tests against a
 * real redis-server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/ipc.h"
#include "libcommon/store.h"
#include "ctld/call.h"
#include "ctld/record.h"

static void
test_keys(void **state)
{
	char	 k[STORE_KEYLEN], small[8];

	(void)state;
	assert_int_equal(store_call_key(k, sizeof(k), "abc@host"), 0);
	assert_string_equal(k, "rtpsec:call:{abc@host}");
	assert_int_equal(store_node_key(k, sizeof(k), "node1"), 0);
	assert_string_equal(k, "rtpsec:node:node1:calls");
	assert_int_equal(store_call_key(small, sizeof(small), "abc"), -1);
}

static void
test_record_roundtrip(void **state)
{
	struct calls	*cs = calls_new();
	struct call	*c, *d;
	msgpack_sbuffer	 sb;
	int		 a, b;

	(void)state;
	c = calls_add(cs, "rt-1@x", 6);
	c->created = 1795356510;
	c->created_us = 90004;
	c->last_signal = 1795356511;
	a = call_party_add(c, "alice-tag", 9, 1795356510);
	b = call_party_add(c, NULL, 0, 1795356510);
	c->party[a].peer = b;
	c->party[b].peer = a;
	assert_int_equal(call_str_setz(&c->party[a].label, "caller"), 0);
	assert_int_equal(call_str_setz(&c->party[b].via_branch, "z9hG4bK-1"),
	    0);
	assert_int_equal(call_str_setz(&c->party[a].laddr, "127.0.0.1"), 0);
	c->party[a].lfamily = 4;
	c->party[a].have_sdp = 1;
	assert_int_equal(party_set_nmedia(&c->party[a], 2), 0);
	assert_int_equal(call_str_setz(&c->party[a].media[0].type, "audio"), 0);
	assert_int_equal(call_str_setz(&c->party[a].media[0].proto, "RTP/AVP"), 0);
	assert_int_equal(call_str_setz(&c->party[a].media[0].codec, "PCMU/8000"), 0);
	assert_int_equal(call_str_setz(&c->party[a].media[0].addr, "127.0.0.2"), 0);
	c->party[a].media[0].family = 4;
	c->party[a].media[0].rtp = 47516;
	c->party[a].media[0].rtcp = 47517;
	c->party[a].media[0].local_rtp = 41008;
	c->party[a].media[0].local_rtcp = 41009;
	c->party[a].media[1].family = 6;

	msgpack_sbuffer_init(&sb);
	record_encode(&sb, c, "node1");
	assert_non_null(d = record_decode(sb.data, sb.size));
	assert_string_equal(d->id, "rt-1@x");
	assert_int_equal(d->created, 1795356510);
	assert_int_equal(d->created_us, 90004);
	assert_int_equal(d->last_signal, 1795356511);
	assert_int_equal(d->nparty, 2);
	assert_int_equal(d->next_leg, 3);
	assert_int_equal(d->next_untagged, 2);
	assert_string_equal(d->party[0].tag, "alice-tag");
	assert_string_equal(d->party[0].label, "caller");
	assert_string_equal(d->party[0].leg, "L1");
	assert_int_equal(d->party[0].peer, 1);
	assert_int_equal(d->party[1].peer, 0);
	assert_int_equal(d->party[1].untagged, 1);
	assert_string_equal(d->party[1].via_branch, "z9hG4bK-1");
	assert_int_equal(d->party[0].nmedia, 2);
	assert_string_equal(d->party[0].media[0].codec, "PCMU/8000");
	assert_int_equal(d->party[0].media[0].rtp, 47516);
	assert_int_equal(d->party[0].media[0].local_rtcp, 41009);
	assert_int_equal(d->party[0].media[1].family, 6);
	assert_int_equal(d->party[0].have_sdp, 1);
	assert_int_equal(d->delete_at_ms, 0);
	call_destroy(&d);

	/* pending deletion survives as "reap at once" */
	c->delete_at_ms = 123456;
	msgpack_sbuffer_clear(&sb);
	record_encode(&sb, c, "node1");
	assert_non_null(d = record_decode(sb.data, sb.size));
	assert_int_equal(d->delete_at_ms, 1);
	call_destroy(&d);

	/* trailing bytes and truncation are refused */
	msgpack_sbuffer_write(&sb, "\xc0", 1);
	assert_null(record_decode(sb.data, sb.size));
	assert_null(record_decode(sb.data, sb.size / 2));
	msgpack_sbuffer_destroy(&sb);
	calls_destroy(&cs);
}

static void
test_record_tolerant(void **state)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct call	*d;

	(void)state;
	/* only the call-id, plus an unknown key: defaults elsewhere */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	ipc_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, 2);
	ipc_pack_str(&pk, "call");
	ipc_pack_str(&pk, "min");
	ipc_pack_str(&pk, "future");
	msgpack_pack_array(&pk, 0);
	assert_non_null(d = record_decode(sb.data, sb.size));
	assert_string_equal(d->id, "min");
	assert_int_equal(d->nparty, 0);
	assert_int_equal(d->next_leg, 1);
	call_destroy(&d);
	msgpack_sbuffer_destroy(&sb);

	/* no call-id: refused; not a map: refused */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	ipc_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, 1);
	assert_null(record_decode(sb.data, sb.size));
	assert_null(record_decode("\x93\x01\x02\x03", 4));
	assert_null(record_decode("", 0));
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_tolerant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
