/*
 * Unit tests for libcommon/ngjson: ng dicts from and to JSON (the framing
 * rtpengine accepts besides bencode, reference transcript 08), the value
 * mapping ngjson.h documents (integers, true/false as 1/0, null as "",
 * floats as their decimal text), what is refused (trailing bytes, deep
 * nesting, numbers JSON or int64_t cannot carry), and strings that must
 * survive a round trip: quotes, backslashes, the CRLFs of an SDP body and
 * "\u0000".
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
#include "libcommon/ngjson.h"
#include "libcommon/ngval.h"

struct fixture {
	struct ngarena	*a;
	struct buf	 out;
	char		*copy;		/* exact-size copy of the last input */
	const char	*err;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->a = ngarena_new());
	buf_init(&f->out);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	ngarena_destroy(&f->a);
	buf_free(&f->out);
	free(f->copy);
	free(f);
	return 0;
}

/* Decodes from an exact-size heap copy, so an over-read is an ASan error. */
static struct ngval *
decn(struct fixture *f, const char *p, size_t len)
{
	free(f->copy);
	f->copy = malloc(len > 0 ? len : 1);
	assert_non_null(f->copy);
	if (len > 0)
		memcpy(f->copy, p, len);
	f->err = NULL;
	return ngjson_decode(f->a, f->copy, len, &f->err);
}

static struct ngval *
ok(struct fixture *f, const char *s, size_t len)
{
	struct ngval	*v = decn(f, s, len);

	if (v == NULL)
		fail_msg("rejected '%.*s': %s", (int)len, s, f->err);
	return v;
}

#define OK(s)	ok(f, (s), sizeof(s) - 1)

static void
bad(struct fixture *f, const char *s, size_t len)
{
	if (decn(f, s, len) != NULL)
		fail_msg("accepted '%.*s'", (int)len, s);
	assert_non_null(f->err);
}

#define BAD(s)	bad(f, (s), sizeof(s) - 1)

static const char *
enc(struct fixture *f, const struct ngval *v)
{
	buf_reset(&f->out);
	assert_int_equal(ngjson_encode(&f->out, v), 0);
	return f->out.p;
}

static void
test_dict(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v, *l;
	const char	*s;
	size_t		 len;
	int64_t		 n;

	/* transcript 08's request, then an offer as a JSON client sends it */
	v = OK("{\"command\":\"ping\"}");
	assert_int_equal(v->type, NGV_DICT);
	assert_true(ngval_streq(ngval_get(v, "command"), "ping"));

	v = OK(" {\"command\": \"offer\", \"call id\": \"c1\",\n"
	    "  \"flags\": [\"trust-address\", \"SIP source address\"],\n"
	    "  \"received-from\": [\"IP4\", \"127.0.0.2\"],\n"
	    "  \"limit\": 5, \"neg\": -7, \"ptime\": \"20\", \"empty\": {},\n"
	    "  \"sdp\": \"v=0\\r\\nm=audio 4000 RTP/AVP 0\\r\\n\"}\r\n");
	assert_int_equal(v->count, 9);
	assert_true(ngval_streq(ngval_get(v, "command"), "offer"));
	assert_true(ngval_streq(ngval_get(v, "call-id"), "c1"));
	l = ngval_get(v, "flags");
	assert_int_equal(l->type, NGV_LIST);
	assert_int_equal(l->count, 2);
	assert_true(ngval_has(l, "trust address"));
	assert_true(ngval_has(l, "SIP-source-address"));
	assert_true(ngval_streq(ngval_get(v, "received from")->last,
	    "127.0.0.2"));
	assert_int_equal(ngval_get_int(v, "limit", &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ngval_get(v, "limit")->type, NGV_INT);
	assert_int_equal(ngval_get_int(v, "neg", &n), 0);
	assert_int_equal(n, -7);
	assert_int_equal(ngval_get_int(v, "ptime", &n), 0);
	assert_int_equal(n, 20);
	assert_int_equal(ngval_get(v, "empty")->type, NGV_DICT);
	assert_int_equal(ngval_get(v, "empty")->count, 0);
	assert_int_equal(ngval_get_str(v, "sdp", &s, &len), 0);
	assert_int_equal(len, 29);
	assert_memory_equal(s, "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", 29);

	/* json-c keeps one value per key: the last */
	v = OK("{\"a\":1,\"a\":2}");
	assert_int_equal(v->count, 1);
	assert_int_equal(ngval_get(v, "a")->i, 2);

	/* not only dicts: ng_run checks the type, not the decoder */
	v = OK("[1,\"x\",[]]");
	assert_int_equal(v->type, NGV_LIST);
	assert_int_equal(v->count, 3);
	v = OK("\"x\"");
	assert_int_equal(v->type, NGV_STR);
	v = OK("5");
	assert_int_equal(v->type, NGV_INT);
	assert_int_equal(v->i, 5);
	v = OK("-12 \n");
	assert_int_equal(v->i, -12);
}

/* ngjson.h: integers stay integers, true/false are 1/0, null is "", a
 * float is the decimal text it came as. */
static void
test_mapping(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v, *m;

	v = OK("{\"t\":true,\"f\":false,\"n\":null,\"x\":1.5,\"y\":1.50,"
	    "\"z\":-0.25,\"e\":1e5,\"E\":2.5E-3,\"i\":0,\"mz\":-0,"
	    "\"max\":9223372036854775807,\"min\":-9223372036854775808}");
	m = ngval_get(v, "t");
	assert_int_equal(m->type, NGV_INT);
	assert_int_equal(m->i, 1);
	m = ngval_get(v, "f");
	assert_int_equal(m->type, NGV_INT);
	assert_int_equal(m->i, 0);
	m = ngval_get(v, "n");
	assert_int_equal(m->type, NGV_STR);
	assert_int_equal(m->len, 0);
	assert_true(ngval_streq(ngval_get(v, "x"), "1.5"));
	assert_true(ngval_streq(ngval_get(v, "y"), "1.50"));
	assert_true(ngval_streq(ngval_get(v, "z"), "-0.25"));
	assert_true(ngval_streq(ngval_get(v, "e"), "1e5"));
	assert_true(ngval_streq(ngval_get(v, "E"), "2.5E-3"));
	assert_int_equal(ngval_get(v, "i")->type, NGV_INT);
	assert_int_equal(ngval_get(v, "mz")->i, 0);
	assert_true(ngval_get(v, "max")->i == INT64_MAX);
	assert_true(ngval_get(v, "min")->i == INT64_MIN);

	/* and out: ints as numbers, strings as strings */
	assert_string_equal(enc(f, v), "{\"t\":1,\"f\":0,\"n\":\"\",\"x\":\"1.5\","
	    "\"y\":\"1.50\",\"z\":\"-0.25\",\"e\":\"1e5\",\"E\":\"2.5E-3\","
	    "\"i\":0,\"mz\":0,\"max\":9223372036854775807,"
	    "\"min\":-9223372036854775808}");

	/* what int64_t or JSON cannot carry is refused, not clamped */
	BAD("{\"a\":9223372036854775808}");
	BAD("{\"a\":18446744073709551615}");
	BAD("{\"a\":99999999999999999999}");
	BAD("{\"a\":-9223372036854775809}");
	BAD("{\"a\":-99999999999999999999}");
	BAD("{\"a\":1e400}");
	BAD("{\"a\":NaN}");
	BAD("{\"a\":Infinity}");
	BAD("{\"a\":-Infinity}");
	BAD("[NaN]");
}

static void
test_reject(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
	} cases[] = {
#define C(s)	{ s, sizeof(s) - 1 }
		/* trailing garbage */
		C("{\"a\":1} x"), C("{\"a\":1}}"), C("{\"a\":1}{\"b\":2}"),
		C("{\"a\":1}\0"), C("{\"a\":1}\0 "), C("{\"a\":1},"),
		C("{\"a\":1}d1:ae"), C("1 2"), C("[] []"),
		/* truncated and malformed */
		C("{"), C("{\"a\""), C("{\"a\":"), C("{\"a\":1"), C("{\"a\":}"),
		C("{\"a\":\"x"), C("{\"a\":\"x\\"), C("{\"a\" 1}"),
		C("{\"a\":1,}"), C("[1,]"), C("[1 2]"), C("{a:1}"),
		C("{\"a\":01}"), C("{\"a\":+1}"), C("{\"a\":.5}"),
		C("{\"a\":nul}"), C("{\"a\":True}"), C("{\"a\":\"\\x41\"}"),
		C("{\"a\":\"\\u00\"}"), C("}"), C("]"), C("\0"), C(" "),
		C("d7:command4:pinge"),
#undef C
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(f, cases[i].in, cases[i].len);
	bad(f, "", 0);
	f->err = NULL;
	assert_null(ngjson_decode(f->a, NULL, 0, &f->err));
	assert_non_null(f->err);

	/* whitespace after the value is not garbage */
	OK("{\"a\":1} \r\n\t");
}

/* Every proper prefix of a dict is an error, and no read goes past it. */
static void
test_truncated(void **state)
{
	static const char msg[] = "{\"command\":\"offer\",\"sdp\":\"v=0\\r\\n"
	    "\\u0000\\\"\",\"flags\":[\"a\",1,true,null,2.5,{\"k\":[]}],"
	    "\"n\":-42}";
	struct fixture	*f = *state;
	size_t		 n;

	ok(f, msg, sizeof(msg) - 1);
	for (n = 0; n < sizeof(msg) - 1; n++)
		bad(f, msg, n);
}

/* n nested arrays (or objects under "k") around a 1. */
static char *
nest(size_t n, int obj)
{
	size_t	 i, per = obj ? 5 : 1;
	char	*s = malloc(n * (per + 1) + 2), *p = s;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		memcpy(p, obj ? "{\"k\":" : "[", per);
		p += per;
	}
	*p++ = '1';
	memset(p, obj ? '}' : ']', n);
	p[n] = '\0';
	return s;
}

/* As for bencode: BENCODE_MAX_DEPTH nested containers, not one more. */
static void
test_depth(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v;
	char		*s;
	int		 obj, i;

	for (obj = 0; obj <= 1; obj++) {
		s = nest(BENCODE_MAX_DEPTH, obj);
		v = ok(f, s, strlen(s));
		for (i = 1; i < BENCODE_MAX_DEPTH; i++)
			v = v->child;
		assert_int_equal(v->type, obj ? NGV_DICT : NGV_LIST);
		assert_int_equal(v->child->type, NGV_INT);
		/* and what we write at that depth reads back */
		enc(f, v);
		free(s);

		s = nest(BENCODE_MAX_DEPTH + 1, obj);
		bad(f, s, strlen(s));
		free(s);

		s = nest(100000, obj);
		bad(f, s, strlen(s));
		free(s);
	}
	/* an empty innermost container counts as well */
	s = malloc(2 * (BENCODE_MAX_DEPTH + 1));
	assert_non_null(s);
	memset(s, '[', BENCODE_MAX_DEPTH + 1);
	memset(s + BENCODE_MAX_DEPTH + 1, ']', BENCODE_MAX_DEPTH + 1);
	bad(f, s, 2 * (BENCODE_MAX_DEPTH + 1));
	ok(f, s + 1, 2 * BENCODE_MAX_DEPTH);
	free(s);
}

/* Strings that need escaping come back byte for byte. */
static void
test_escapes(void **state)
{
	static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
	    "s=\"quoted\" \\ back/slash\ttab\r\n";
	static const char bin[] = "a\0b\x01\x1f\x7f\xc3\xa9\"\\/";
	struct fixture	*f = *state;
	struct ngval	*r, *v;
	const char	*s, *out;
	size_t		 len;

	assert_non_null(r = ngval_dict(f->a));
	assert_int_equal(ngval_put_strn(f->a, r, "sdp", sdp, sizeof(sdp) - 1),
	    0);
	assert_int_equal(ngval_put_strn(f->a, r, "bin", bin, sizeof(bin) - 1),
	    0);
	assert_int_equal(ngval_put_str(f->a, r, "key \"with\" quotes\n", "v"),
	    0);
	out = enc(f, r);
	/* JSON text: no raw control character, NUL written as \u0000 */
	for (s = out; *s != '\0'; s++)
		assert_true((unsigned char)*s >= 0x20);
	assert_int_equal(strlen(out), f->out.len);
	assert_non_null(strstr(out, "\"v=0\\r\\no=- 1 1 IN IP4 127.0.0.1\\r\\n"
	    "s=\\\"quoted\\\" \\\\ back/slash\\ttab\\r\\n\""));
	assert_non_null(strstr(out, "a\\u0000b\\u0001\\u001f"));
	assert_non_null(strstr(out, "\"key \\\"with\\\" quotes\\n\":\"v\""));

	v = ok(f, f->out.p, f->out.len);
	assert_int_equal(v->count, 3);
	assert_int_equal(ngval_get_str(v, "sdp", &s, &len), 0);
	assert_int_equal(len, sizeof(sdp) - 1);
	assert_memory_equal(s, sdp, len);
	assert_int_equal(ngval_get_str(v, "bin", &s, &len), 0);
	assert_int_equal(len, sizeof(bin) - 1);
	assert_memory_equal(s, bin, len);
	assert_non_null(ngval_get(v, "key \"with\" quotes\n"));

	/* escapes written by someone else */
	v = OK("{\"s\":\"\\u0000\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}");
	assert_int_equal(ngval_get_str(v, "s", &s, &len), 0);
	assert_int_equal(len, 15);
	assert_memory_equal(s, "\0\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80", 15);
}

/* Replies ctld builds, as JSON. */
static void
test_encode(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*r, *l, *d;

	assert_non_null(r = ngval_dict(f->a));
	assert_int_equal(ngval_put_str(f->a, r, "result", "ok"), 0);
	assert_non_null(l = ngval_put_list(f->a, r, "calls"));
	assert_int_equal(ngval_append(l, ngval_strz(f->a, "c1")), 0);
	assert_int_equal(ngval_append(l, ngval_int(f->a, -5)), 0);
	assert_non_null(d = ngval_put_dict(f->a, r, "totals"));
	assert_int_equal(ngval_put_int(f->a, d, "n", INT64_MIN), 0);
	assert_non_null(ngval_put_list(f->a, d, "none"));
	assert_non_null(ngval_put_dict(f->a, d, "nil"));
	/* a repeated key: the first, as ngval_get() would see it */
	assert_int_equal(ngval_put_int(f->a, r, "result", 2), 0);
	assert_string_equal(enc(f, r), "{\"result\":\"ok\",\"calls\":[\"c1\",-5],"
	    "\"totals\":{\"n\":-9223372036854775808,\"none\":[],\"nil\":{}}}");

	/* a key longer than any fixed buffer */
	{
		char	 key[1000];

		memset(key, 'k', sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		assert_non_null(r = ngval_dict(f->a));
		assert_int_equal(ngval_put_int(f->a, r, key, 1), 0);
		key[300] = '\0';
		assert_int_equal(ngval_put_int(f->a, r, key, 2), 0);
		enc(f, r);
		r = ok(f, f->out.p, f->out.len);
		assert_int_equal(r->count, 2);
		assert_int_equal(r->child->keylen, 999);
		assert_int_equal(r->last->keylen, 300);
	}
	assert_int_equal(ngjson_encode(&f->out, NULL), -1);
}

/* Transcript 12's Kamailio offer: bencode -> JSON -> bencode, unchanged. */
static void
test_bencode_bridge(void **state)
{
	static const char offer[] =
	    "d8:supportsl10:load limite3:sdp202:v=0\r\no=u 1 1 IN IP4 127.0.0.2"
	    "\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
	    "m=audio 30002 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
	    "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	    "a=fmtp:101 0-16\r\na=sendrecv\r\n7:call-id25:kamcall-1-13611@"
	    "127.0.0.213:received-froml3:IP49:127.0.0.2e8:from-tag10:uac-ftag-1"
	    "7:command5:offer5:limiti-3ee";
	struct fixture	*f = *state;
	struct ngval	*b, *j;
	struct buf	 back;
	const char	*err = NULL;

	b = bencode_decode(f->a, offer, sizeof(offer) - 1, &err);
	assert_non_null(b);
	enc(f, b);
	j = ok(f, f->out.p, f->out.len);
	assert_int_equal(j->count, b->count);
	buf_init(&back);
	assert_int_equal(bencode_encode(&back, j), 0);
	assert_int_equal(back.len, sizeof(offer) - 1);
	assert_memory_equal(back.p, offer, back.len);
	buf_free(&back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_dict),
		T(test_mapping),
		T(test_reject),
		T(test_truncated),
		T(test_depth),
		T(test_escapes),
		T(test_encode),
		T(test_bencode_bridge),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
