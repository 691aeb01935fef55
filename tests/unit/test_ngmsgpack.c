/*
 * Unit tests for libcommon/ngmsgpack, the ng command as msgpack on ctld's
 * ZeroMQ API: ngval -> msgpack -> ngval is the identity (compared through
 * the bencode encoding, which shows every byte and the order), the
 * mapping ngmsgpack.h documents (str and bin to strings, booleans to 1/0,
 * nil to ""), and what is refused: map keys that are not strings, floats,
 * ext, integers above INT64_MAX and nesting deeper than bencode allows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/bencode.h"
#include "libcommon/buf.h"
#include "libcommon/ngmsgpack.h"
#include "libcommon/ngval.h"

struct fixture {
	struct ngarena		*a;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	msgpack_unpacked	 u;
	const char		*err;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->a = ngarena_new());
	msgpack_sbuffer_init(&f->sb);
	msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&f->u);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	ngarena_destroy(&f->a);
	msgpack_sbuffer_destroy(&f->sb);
	msgpack_unpacked_destroy(&f->u);
	free(f);
	return 0;
}

/* Unpacks what was packed into f->sb (exactly one object) and maps it;
 * the msgpack zone is released before returning, so the tree must not
 * point into it. */
static struct ngval *
unpack(struct fixture *f)
{
	struct ngval	*v;
	size_t		 off = 0;

	assert_int_equal(msgpack_unpack_next(&f->u, f->sb.data, f->sb.size,
	    &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, f->sb.size);
	f->err = NULL;
	v = ngmsgpack_from(f->a, &f->u.data, &f->err);
	if (v == NULL)
		assert_non_null(f->err);
	msgpack_unpacked_destroy(&f->u);
	msgpack_unpacked_init(&f->u);
	msgpack_sbuffer_clear(&f->sb);
	return v;
}

/* The bencode of v, in a buf the caller frees. */
static void
benc(const struct ngval *v, struct buf *b)
{
	buf_init(b);
	assert_int_equal(bencode_encode(b, v), 0);
}

static void
test_roundtrip(void **state)
{
	static const char offer[] =
	    "d7:command5:offer7:call-id2:c13:sdp9:v=0\r\n\0\xff\r\n"
	    "5:flagsl13:trust-address0:e7:replaced6:origini1ee"
	    "3:maxi9223372036854775807e3:mini-9223372036854775808e"
	    "4:zeroi0e3:a\0b2:\0\0" "0:0:e";
	struct fixture	*f = *state;
	struct ngval	*in, *out;
	struct buf	 b1, b2;
	char		*packed;
	size_t		 plen;

	in = bencode_decode(f->a, offer, sizeof(offer) - 1, &f->err);
	assert_non_null(in);
	ngmsgpack_pack(&f->pk, in);
	assert_non_null(packed = malloc(f->sb.size));
	memcpy(packed, f->sb.data, f->sb.size);
	plen = f->sb.size;
	out = unpack(f);
	assert_non_null(out);
	benc(out, &b1);
	assert_int_equal(b1.len, sizeof(offer) - 1);
	assert_memory_equal(b1.p, offer, b1.len);
	/* and the tree packs to the same bytes again */
	ngmsgpack_pack(&f->pk, out);
	assert_int_equal(f->sb.size, plen);
	assert_memory_equal(f->sb.data, packed, plen);
	benc(unpack(f), &b2);
	assert_int_equal(b2.len, b1.len);
	buf_free(&b1);
	buf_free(&b2);
	free(packed);

	/* a scalar at the top */
	ngmsgpack_pack(&f->pk, ngval_int(f->a, -1));
	out = unpack(f);
	assert_int_equal(out->type, NGV_INT);
	assert_int_equal(out->i, -1);
}

static void
test_mapping(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v;

	msgpack_pack_map(&f->pk, 7);
	msgpack_pack_str_with_body(&f->pk, "nil", 3);
	msgpack_pack_nil(&f->pk);
	msgpack_pack_str_with_body(&f->pk, "t", 1);
	msgpack_pack_true(&f->pk);
	msgpack_pack_str_with_body(&f->pk, "f", 1);
	msgpack_pack_false(&f->pk);
	msgpack_pack_str_with_body(&f->pk, "bin", 3);
	msgpack_pack_bin_with_body(&f->pk, "\0\1\2", 3);
	msgpack_pack_str_with_body(&f->pk, "u", 1);
	msgpack_pack_uint64(&f->pk, INT64_MAX);
	msgpack_pack_str_with_body(&f->pk, "n", 1);
	msgpack_pack_int64(&f->pk, INT64_MIN);
	msgpack_pack_str_with_body(&f->pk, "call id", 7);
	msgpack_pack_str_with_body(&f->pk, "c1", 2);
	v = unpack(f);
	assert_non_null(v);
	assert_int_equal(v->type, NGV_DICT);
	assert_int_equal(v->count, 7);
	assert_int_equal(ngval_get(v, "nil")->type, NGV_STR);
	assert_int_equal(ngval_get(v, "nil")->len, 0);
	assert_int_equal(ngval_get(v, "t")->type, NGV_INT);
	assert_int_equal(ngval_get(v, "t")->i, 1);
	assert_int_equal(ngval_get(v, "f")->i, 0);
	assert_int_equal(ngval_get(v, "bin")->type, NGV_STR);
	assert_int_equal(ngval_get(v, "bin")->len, 3);
	assert_memory_equal(ngval_get(v, "bin")->s, "\0\1\2", 3);
	assert_true(ngval_get(v, "u")->i == INT64_MAX);
	assert_true(ngval_get(v, "n")->i == INT64_MIN);
	assert_true(ngval_streq(ngval_get(v, "call-id"), "c1"));
}

/* Packs one bad value inside a map under "x", then at the top. */
#define REJECT(f, pack) do {						\
	msgpack_pack_map(&(f)->pk, 2);					\
	msgpack_pack_str_with_body(&(f)->pk, "ok", 2);			\
	msgpack_pack_int(&(f)->pk, 1);					\
	msgpack_pack_str_with_body(&(f)->pk, "x", 1);			\
	pack;								\
	assert_null(unpack(f));						\
	pack;								\
	assert_null(unpack(f));						\
} while (0)

static void
test_reject(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	REJECT(f, msgpack_pack_float(&f->pk, 1.5f));
	assert_non_null(strstr(f->err, "float"));
	REJECT(f, msgpack_pack_double(&f->pk, 2.5));
	REJECT(f, (msgpack_pack_ext(&f->pk, 2, 1),
	    msgpack_pack_ext_body(&f->pk, "ab", 2)));
	REJECT(f, msgpack_pack_uint64(&f->pk, (uint64_t)INT64_MAX + 1));
	assert_string_equal(f->err, "integer out of range");
	REJECT(f, msgpack_pack_uint64(&f->pk, UINT64_MAX));
	/* in a list, too */
	REJECT(f, (msgpack_pack_array(&f->pk, 2), msgpack_pack_int(&f->pk, 1),
	    msgpack_pack_double(&f->pk, 0.0)));

	/* map keys must be strings: not ints, bin, nil, arrays or maps */
	for (i = 0; i < 5; i++) {
		msgpack_pack_map(&f->pk, 2);
		msgpack_pack_str_with_body(&f->pk, "command", 7);
		msgpack_pack_str_with_body(&f->pk, "ping", 4);
		switch (i) {
		case 0:
			msgpack_pack_int(&f->pk, 7);
			break;
		case 1:
			msgpack_pack_bin_with_body(&f->pk, "k", 1);
			break;
		case 2:
			msgpack_pack_nil(&f->pk);
			break;
		case 3:
			msgpack_pack_array(&f->pk, 0);
			break;
		case 4:
			msgpack_pack_map(&f->pk, 0);
			break;
		}
		msgpack_pack_str_with_body(&f->pk, "v", 1);
		assert_null(unpack(f));
		assert_string_equal(f->err, "map key is not a string");
	}
}

/* Nesting, on objects built by hand: msgpack's own unpacker has a depth
 * limit of its own, the mapping must not rely on it. */
static void
test_depth(void **state)
{
	struct fixture	*f = *state;
	static msgpack_object	 o[100001];
	static msgpack_object_kv kv[100001];
	static const size_t	 sizes[] = { BENCODE_MAX_DEPTH,
	    BENCODE_MAX_DEPTH + 1, 100000 };
	struct ngval	*v;
	size_t		 n, i, k;
	int		 map;

	for (map = 0; map <= 1; map++) {
		for (k = 0; k < 3; k++) {
			n = sizes[k];
			memset(o, 0, sizeof(o));
			for (i = 0; i < n; i++) {
				if (map) {
					o[i].type = MSGPACK_OBJECT_MAP;
					o[i].via.map.size = 1;
					o[i].via.map.ptr = &kv[i];
					kv[i].key.type = MSGPACK_OBJECT_STR;
					kv[i].key.via.str.ptr = "k";
					kv[i].key.via.str.size = 1;
				} else {
					o[i].type = MSGPACK_OBJECT_ARRAY;
					o[i].via.array.size = 1;
					o[i].via.array.ptr = &o[i + 1];
				}
			}
			o[n].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o[n].via.u64 = 1;
			if (map)	/* a map holds copies: from the end */
				for (i = n; i-- > 0;)
					kv[i].val = o[i + 1];
			f->err = NULL;
			v = ngmsgpack_from(f->a, &o[0], &f->err);
			if (n == BENCODE_MAX_DEPTH) {
				assert_non_null(v);
				for (i = 1; i < n; i++)
					v = v->child;
				assert_int_equal(v->child->type, NGV_INT);
			} else {
				assert_null(v);
				assert_string_equal(f->err, "nested too deep");
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_roundtrip),
		T(test_mapping),
		T(test_reject),
		T(test_depth),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
