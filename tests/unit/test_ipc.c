/*
 * Unit tests for libcommon/ipc: the msgpack codec (round trips, strict
 * reading, malformed input) and the DEALER/ROUTER transport with deadlines
 * over a real inproc ZeroMQ pair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/ipc.h"

static void
test_op_table(void **state)
{
	(void)state;
	assert_string_equal(ipc_op_name(IPC_OP_LEG_ALLOC), "leg_alloc");
	assert_int_equal(ipc_op_lookup("call_query", 10), IPC_OP_CALL_QUERY);
	assert_int_equal(ipc_op_lookup("call_quer", 9), IPC_OP_UNKNOWN);
	assert_string_equal(ipc_op_name(IPC_OP_UNKNOWN), "unknown");
}

static void
test_roundtrip(void **state)
{
	struct ipc_w	 w;
	struct ipc_r	 r;
	const char	*s;
	size_t		 len;
	int64_t		 i;
	uint64_t	 u;
	int		 b;
	char		 z[8];
	const msgpack_object_array *a;

	(void)state;
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_LEG_ALLOC, 42, 5);
	ipc_w_str(&w, "call", "abc@host");
	ipc_w_int(&w, "neg", -5);
	ipc_w_bool(&w, "flag", 1);
	ipc_w_bin(&w, "blob", "\0\1\2", 3);
	ipc_w_key(&w, "ports");
	msgpack_pack_array(&w.pk, 2);
	msgpack_pack_uint32(&w.pk, 30000);
	msgpack_pack_uint32(&w.pk, 30001);

	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), 0);
	assert_int_equal(r.op, IPC_OP_LEG_ALLOC);
	assert_int_equal(r.id, 42);
	assert_int_equal(r.is_reply, 0);
	assert_int_equal(ipc_get_str(r.root, "call", &s, &len), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(s, "abc@host", 8);
	assert_int_equal(ipc_get_int(r.root, "neg", &i), 0);
	assert_int_equal(i, -5);
	assert_int_equal(ipc_get_bool(r.root, "flag", &b), 0);
	assert_int_equal(b, 1);
	assert_non_null(a = ipc_get_array(r.root, "ports"));
	assert_int_equal(a->size, 2);
	assert_int_equal(ipc_obj_uint(&a->ptr[1], &u), 0);
	assert_int_equal(u, 30001);
	/* type checks */
	assert_int_equal(ipc_get_uint(r.root, "neg", &u), -1);
	assert_int_equal(ipc_get_str(r.root, "flag", &s, &len), -1);
	assert_int_equal(ipc_get_str(r.root, "missing", &s, &len), -1);
	assert_null(ipc_get_map(r.root, "ports"));
	assert_int_equal(ipc_get_strz(r.root, "call", z, sizeof(z)), -1);
	ipc_r_free(&r);
	ipc_w_free(&w);

	ipc_w_init(&w);
	ipc_w_reply(&w, IPC_OP_CALL_QUERY, 7, 0, "unknown call", 0);
	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), 0);
	assert_int_equal(r.is_reply, 1);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.error, "unknown call");
	ipc_r_free(&r);
	ipc_w_free(&w);
}

static void
test_malformed(void **state)
{
	struct ipc_w	 w;
	struct ipc_r	 r;
	char		 buf[256];
	static const unsigned char garbage[] = { 0xc1, 0x00, 0xff };

	(void)state;
	assert_int_equal(ipc_r_parse(&r, garbage, sizeof(garbage)), -1);
	ipc_r_free(&r);
	assert_int_equal(ipc_r_parse(&r, "", 0), -1);
	ipc_r_free(&r);

	/* trailing bytes after a valid message */
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_PING, 1, 0);
	memcpy(buf, w.sb.data, w.sb.size);
	buf[w.sb.size] = 0x01;
	assert_int_equal(ipc_r_parse(&r, buf, w.sb.size + 1), -1);
	assert_string_equal(r.error, "trailing data");
	ipc_r_free(&r);
	/* truncated */
	assert_int_equal(ipc_r_parse(&r, buf, w.sb.size - 1), -1);
	ipc_r_free(&r);
	ipc_w_free(&w);

	/* wrong version; unknown op (id still readable for an error reply) */
	ipc_w_init(&w);
	msgpack_pack_map(&w.pk, 3);
	ipc_w_uint(&w, "v", 99);
	ipc_w_str(&w, "op", "ping");
	ipc_w_uint(&w, "id", 5);
	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), -1);
	assert_string_equal(r.error, "bad version");
	assert_int_equal(r.id, 5);
	ipc_r_free(&r);
	ipc_w_free(&w);

	ipc_w_init(&w);
	msgpack_pack_map(&w.pk, 3);
	ipc_w_uint(&w, "v", 1);
	ipc_w_str(&w, "op", "frobnicate");
	ipc_w_uint(&w, "id", 6);
	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), -1);
	assert_string_equal(r.error, "unknown op");
	ipc_r_free(&r);
	ipc_w_free(&w);

	/* not a map */
	ipc_w_init(&w);
	msgpack_pack_array(&w.pk, 0);
	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), -1);
	assert_string_equal(r.error, "not a map");
	ipc_r_free(&r);
	ipc_w_free(&w);
}

/* A ROUTER thread that answers one stale reply (wrong id), then the right
 * one, for each request; stops on a request with op "event". */
static void *
server(void *arg)
{
	zsock_t		*router = arg;
	zframe_t	*ident, *msg;
	struct ipc_r	 req;
	struct ipc_w	 w;

	for (;;) {
		if (ipc_router_recv(router, &ident, &msg) == -1)
			break;
		if (ipc_r_parse(&req, zframe_data(msg), zframe_size(msg)) == 0 &&
		    req.op == IPC_OP_PING) {
			ipc_w_init(&w);
			ipc_w_reply(&w, IPC_OP_PING, req.id + 1000, 1, NULL, 0);
			ipc_router_send(router, ident, &w);
			ipc_w_free(&w);
			ipc_w_init(&w);
			ipc_w_reply(&w, IPC_OP_PING, req.id, 1, NULL, 1);
			ipc_w_str(&w, "daemon", "test");
			ipc_router_send(router, ident, &w);
			ipc_w_free(&w);
		} else {
			ipc_r_free(&req);
			zframe_destroy(&ident);
			zframe_destroy(&msg);
			break;
		}
		ipc_r_free(&req);
		zframe_destroy(&ident);
		zframe_destroy(&msg);
	}
	return NULL;
}

/* ipc_w_secret(): the buffer grows by copy and wipe, the message stays
 * whole across several growths. */
static void
test_secret(void **state)
{
	static uint8_t	 key[40000];
	struct ipc_w	 w;
	struct ipc_r	 r;
	const void	*p;
	size_t		 len, i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	ipc_w_init(&w);
	ipc_w_secret(&w);
	ipc_w_begin(&w, IPC_OP_SRTP_SET, 9, 2);
	ipc_w_str(&w, "call", "c");
	ipc_w_bin(&w, "key", key, sizeof(key));
	assert_true(w.sb.alloc >= sizeof(key));
	assert_int_equal(ipc_r_parse(&r, w.sb.data, w.sb.size), 0);
	assert_int_equal(ipc_get_bin(r.root, "key", &p, &len), 0);
	assert_int_equal(len, sizeof(key));
	assert_memory_equal(p, key, sizeof(key));
	ipc_r_free(&r);
	ipc_w_free(&w);
}

static void
test_transport(void **state)
{
	zsock_t			*router;
	struct ipc_client	*c;
	struct ipc_w		 w;
	struct ipc_r		 r;
	zframe_t		*ident, *msg;
	uint64_t		 id;
	int64_t			 t0;
	pthread_t		 th;
	const char		*s;
	size_t			 len;
	int			 i;

	(void)state;
	zsys_handler_set(NULL);
	router = ipc_bind(ZMQ_ROUTER, "inproc://test-ipc");
	assert_non_null(router);
	c = ipc_client_new("inproc://test-ipc");
	assert_non_null(c);

	/* a request that is never answered times out */
	id = ipc_client_next_id(c);
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_PING, id, 0);
	t0 = zclock_mono();
	assert_int_equal(ipc_client_call(c, &w, id, 100, &r), -1);
	assert_true(zclock_mono() - t0 >= 90);
	assert_non_null(strstr(r.error, "timeout"));
	ipc_r_free(&r);
	ipc_w_free(&w);
	/* drain that request, so the server thread sees only fresh ones */
	assert_int_equal(ipc_router_recv(router, &ident, &msg), 0);
	zframe_destroy(&ident);
	zframe_destroy(&msg);

	/* answered: the stale reply (other id) is skipped */
	assert_int_equal(pthread_create(&th, NULL, server, router), 0);
	for (i = 0; i < 3; i++) {
		id = ipc_client_next_id(c);
		ipc_w_init(&w);
		ipc_w_begin(&w, IPC_OP_PING, id, 0);
		assert_int_equal(ipc_client_call(c, &w, id, 2000, &r), 0);
		assert_int_equal(r.ok, 1);
		assert_int_equal(r.id, id);
		assert_int_equal(ipc_get_str(r.root, "daemon", &s, &len), 0);
		assert_int_equal(len, 4);
		ipc_r_free(&r);
		ipc_w_free(&w);
	}
	/* stop the server: a non-ping request, no reply expected */
	id = ipc_client_next_id(c);
	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_EVENT, id, 0);
	assert_int_equal(ipc_client_call(c, &w, id, 50, &r), -1);
	ipc_r_free(&r);
	ipc_w_free(&w);
	pthread_join(th, NULL);
	zsock_destroy(&router);
	ipc_client_destroy(&c);
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_op_table),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_transport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
