/*
 * relayd/persist: the relay record parser on records that must not
 * restore.  A `k` array of one entry was read past its end (its size was
 * checked only after ptr[k]); an SRTP direction keyd never wrapped is
 * written as {} and must drop the call, never restore it as plain RTP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "libcommon/ipc.h"
#include "relayd/persist.h"

static struct persist_rec	 pr;

/* {legs: [{id: "A", addr: "127.0.0.1", media: [{port: 30000, k: K}]}]}
 * with K packed by kf. */
static int
parse(void (*kf)(msgpack_packer *), char *err, size_t errlen)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	msgpack_unpacked u;
	size_t		 off = 0;
	int		 rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	ipc_pack_str(&pk, "legs");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	ipc_pack_str(&pk, "id");
	ipc_pack_str(&pk, "A");
	ipc_pack_str(&pk, "addr");
	ipc_pack_str(&pk, "127.0.0.1");
	ipc_pack_str(&pk, "media");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	ipc_pack_str(&pk, "port");
	msgpack_pack_unsigned_int(&pk, 30000);
	ipc_pack_str(&pk, "k");
	kf(&pk);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	rc = persist_parse(&u.data, &pr, err, errlen);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
k_short(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_nil(pk);
}

static void
k_empty(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void
k_unwrapped(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_nil(pk);
	msgpack_pack_map(pk, 0);
}

static void
k_plain(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_nil(pk);
	msgpack_pack_nil(pk);
}

static void
test_k_size(void **state)
{
	char	 err[128];

	(void)state;
	assert_int_equal(parse(k_short, err, sizeof(err)), -1);
	assert_int_equal(parse(k_empty, err, sizeof(err)), -1);
	assert_int_equal(parse(k_plain, err, sizeof(err)), 0);
	assert_int_equal(pr.nkeys, 0);
}

static void
test_unwrapped_srtp(void **state)
{
	char	 err[128];

	(void)state;
	assert_int_equal(parse(k_unwrapped, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "never wrapped"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k_size),
		cmocka_unit_test(test_unwrapped_srtp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
