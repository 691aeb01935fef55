/*
 * Unit tests for libcommon/bencode and the ngval lookups ctld uses on a
 * decoded request: BEP 3's own examples, a real Kamailio offer (reference
 * transcript 12) decoded and re-encoded byte for byte, every rejection the
 * decoder promises (each one must fail with a reason, never read past the
 * input: the inputs are copied to exact-size heap buffers so ASan sees an
 * over-read), binary-safe strings, and ng key matching ("call id" is
 * "call-id").
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
#include "libcommon/ngval.h"

/* Transcript 12, call 1: Kamailio 5.6's offer with the module defaults. */
static const char kam_offer[] =
    "d8:supportsl10:load limite3:sdp202:v=0\r\no=u 1 1 IN IP4 127.0.0.2\r\n"
    "s=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 30002 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
    "7:call-id25:kamcall-1-13611@127.0.0.213:received-froml3:IP49:"
    "127.0.0.2e8:from-tag10:uac-ftag-17:command5:offere";

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
	assert_null(f->a);
	buf_free(&f->out);
	free(f->copy);
	free(f);
	return 0;
}

/* Decodes len bytes from an exact-size heap copy (so an over-read is an
 * ASan error); the copy lives until the next call. */
static struct ngval *
decn(struct fixture *f, const char *p, size_t len)
{
	free(f->copy);
	f->copy = malloc(len > 0 ? len : 1);
	assert_non_null(f->copy);
	if (len > 0)
		memcpy(f->copy, p, len);
	f->err = NULL;
	return bencode_decode(f->a, f->copy, len, &f->err);
}

/* The encoding of v, NUL-terminated (the buf guarantees it). */
static const char *
enc(struct fixture *f, const struct ngval *v)
{
	buf_reset(&f->out);
	assert_int_equal(bencode_encode(&f->out, v), 0);
	return f->out.p;
}

/* Decodes s, which must be accepted and re-encode to itself. */
static struct ngval *
ok(struct fixture *f, const char *s, size_t len)
{
	struct ngval	*v = decn(f, s, len);

	if (v == NULL)
		fail_msg("rejected \"%s\": %s", s, f->err);
	enc(f, v);
	assert_int_equal(f->out.len, len);
	assert_memory_equal(f->out.p, s, len);
	return v;
}

#define OK(s)	ok(f, (s), sizeof(s) - 1)

/* s must be rejected with a reason. */
static void
bad(struct fixture *f, const char *s, size_t len)
{
	if (decn(f, s, len) != NULL)
		fail_msg("accepted \"%.*s\"", (int)len, s);
	assert_non_null(f->err);
}

#define BAD(s)	bad(f, (s), sizeof(s) - 1)

static void
test_bep3(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v, *m;

	v = OK("i3e");
	assert_int_equal(v->type, NGV_INT);
	assert_int_equal(v->i, 3);
	v = OK("i-3e");
	assert_int_equal(v->type, NGV_INT);
	assert_int_equal(v->i, -3);
	v = OK("i0e");
	assert_int_equal(v->i, 0);
	v = OK("4:spam");
	assert_int_equal(v->type, NGV_STR);
	assert_int_equal(v->len, 4);
	assert_memory_equal(v->s, "spam", 4);
	v = OK("0:");
	assert_int_equal(v->type, NGV_STR);
	assert_int_equal(v->len, 0);

	v = OK("l4:spam4:eggse");
	assert_int_equal(v->type, NGV_LIST);
	assert_int_equal(v->count, 2);
	m = v->child;
	assert_int_equal(m->type, NGV_STR);
	assert_memory_equal(m->s, "spam", 4);
	assert_memory_equal(m->next->s, "eggs", 4);
	assert_null(m->next->next);
	assert_ptr_equal(v->last, m->next);

	v = OK("d3:cow3:moo4:spam4:eggse");
	assert_int_equal(v->type, NGV_DICT);
	assert_int_equal(v->count, 2);
	assert_true(ngval_streq(ngval_get(v, "cow"), "moo"));
	assert_true(ngval_streq(ngval_get(v, "spam"), "eggs"));
	assert_null(ngval_get(v, "moo"));

	v = OK("le");
	assert_int_equal(v->type, NGV_LIST);
	assert_int_equal(v->count, 0);
	assert_null(v->child);
	v = OK("de");
	assert_int_equal(v->type, NGV_DICT);
	assert_int_equal(v->count, 0);

	/* BEP 3 leaves dict order to the encoder: unsorted keys are kept,
	 * in their order (Kamailio does not sort them) */
	v = OK("d4:spaml1:a1:be3:cowi-12ee");
	assert_memory_equal(v->child->key, "spam", 4);
	assert_int_equal(v->child->next->i, -12);

	/* the int64_t range, both ends */
	v = OK("i9223372036854775807e");
	assert_true(v->i == INT64_MAX);
	v = OK("i-9223372036854775808e");
	assert_true(v->i == INT64_MIN);
}

static void
test_kamailio_offer(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v, *l;
	const char	*s;
	size_t		 len;

	v = ok(f, kam_offer, sizeof(kam_offer) - 1);
	assert_int_equal(v->type, NGV_DICT);
	assert_int_equal(v->count, 6);
	assert_true(ngval_streq(ngval_get(v, "command"), "offer"));
	assert_int_equal(ngval_get_str(v, "call-id", &s, &len), 0);
	assert_int_equal(len, 25);
	assert_memory_equal(s, "kamcall-1-13611@127.0.0.2", 25);
	assert_int_equal(ngval_get_str(v, "sdp", &s, &len), 0);
	assert_int_equal(len, 202);
	assert_memory_equal(s, "v=0\r\no=u 1 1 IN IP4 127.0.0.2\r\n", 31);
	assert_memory_equal(s + len - 12, "a=sendrecv\r\n", 12);
	assert_true(ngval_has(ngval_get(v, "supports"), "load limit"));
	l = ngval_get(v, "received from");
	assert_non_null(l);
	assert_int_equal(l->type, NGV_LIST);
	assert_int_equal(l->count, 2);
	assert_true(ngval_streq(l->child, "IP4"));
	assert_true(ngval_streq(l->last, "127.0.0.2"));
	assert_true(ngval_streq(ngval_get(v, "from-tag"), "uac-ftag-1"));
	assert_null(ngval_get(v, "to-tag"));

	/* decoded strings point into the input, not into copies */
	assert_ptr_equal(s, f->copy +
	    strlen("d8:supportsl10:load limite3:sdp202:"));
}

static void
test_reject(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
	} cases[] = {
#define C(s)	{ s, sizeof(s) - 1 }
		/* integers */
		C("i-0e"), C("i03e"), C("i00e"), C("i-03e"), C("ie"), C("i-e"),
		C("i3"), C("i"), C("i--3e"), C("i+3e"), C("i3.0e"), C("i 3e"),
		C("i3 e"), C("i0x10e"),
		C("i9223372036854775808e"), C("i-9223372036854775809e"),
		C("i99999999999999999999e"), C("i18446744073709551616e"),
		/* strings */
		C("4:spa"), C("5:spam"), C("1:"), C("4spam"), C("4"), C(":"),
		C(":spam"), C("-1:x"), C("03:abc"), C("00:"),
		C("99999999999999999999:"), C("9999999999:x"),
		C("9223372036854775807:x"), C("9223372036854775808:x"),
		C("18446744073709551615:x"),
		/* containers */
		C("l"), C("d"), C("l4:spam"), C("d3:cow3:moo"), C("d3:cowe"),
		C("d3:cow"), C("l4:spam4:eggs"), C("lle"), C("dde"),
		/* dict keys must be strings */
		C("di1e3:fooe"), C("dl1:ae1:be"), C("dd1:a1:be1:ce"),
		C("die"), C("dle1:xe"),
		/* trailing bytes */
		C("i3ex"), C("4:spam4:eggs"), C("dee"), C("lee"), C("i3e "),
		C("de\0"), C("d3:cow3:mooe\r\n"),
		/* not bencode at all */
		C("x"), C("e"), C(" i3e"), C("{\"a\":1}"), C("\0"),
		C("I3E"), C("D3:cow3:mooE"),
#undef C
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad(f, cases[i].in, cases[i].len);

	/* empty, and NULL */
	bad(f, "", 0);
	f->err = NULL;
	assert_null(bencode_decode(f->a, NULL, 0, &f->err));
	assert_non_null(f->err);
	assert_null(bencode_decode(f->a, NULL, 5, &f->err));
}

/* Every proper prefix of a valid message is an error with a reason, and
 * never a read past the bytes given. */
static void
test_truncated(void **state)
{
	struct fixture	*f = *state;
	static const char *const msgs[] = {
		kam_offer,
		"d3:cow3:moo4:spaml1:a2:bci-77ee1:xdee",
		"i-9223372036854775808e",
	};
	size_t		 i, n, len;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		len = strlen(msgs[i]);
		assert_non_null(decn(f, msgs[i], len));
		for (n = 0; n < len; n++)
			bad(f, msgs[i], n);
		/* and one byte too many */
		free(f->copy);
		assert_non_null(f->copy = malloc(len + 1));
		memcpy(f->copy, msgs[i], len);
		f->copy[len] = 'e';
		assert_null(bencode_decode(f->a, f->copy, len + 1, &f->err));
		assert_string_equal(f->err, "trailing bytes");
	}
}

/* n nested lists (or dicts, each under key "k"), innermost holding i1e. */
static char *
nest(size_t n, int dict)
{
	size_t	 i, per = dict ? 4 : 1;
	char	*s = malloc(n * (per + 1) + 4), *p = s;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		memcpy(p, dict ? "d1:k" : "l", per);
		p += per;
	}
	memcpy(p, "i1e", 3);
	p += 3;
	memset(p, 'e', n);
	p[n] = '\0';
	return s;
}

static void
test_depth(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v;
	char		*s;
	int		 dict, i;

	for (dict = 0; dict <= 1; dict++) {
		s = nest(BENCODE_MAX_DEPTH, dict);
		v = ok(f, s, strlen(s));
		for (i = 1; i < BENCODE_MAX_DEPTH; i++)
			v = v->child;
		assert_int_equal(v->type, dict ? NGV_DICT : NGV_LIST);
		assert_int_equal(v->child->type, NGV_INT);
		free(s);

		s = nest(BENCODE_MAX_DEPTH + 1, dict);
		bad(f, s, strlen(s));
		assert_string_equal(f->err, "nested too deep");
		free(s);

		/* far deeper than the stack would take unbounded */
		s = nest(200000, dict);
		bad(f, s, strlen(s));
		assert_string_equal(f->err, "nested too deep");
		free(s);
	}
}

static void
test_binary(void **state)
{
	static const char in[] = "d3:a\0b5:\0x\0y\0" "1:a4:\r\n\0\xff" "e";
	struct fixture	*f = *state;
	struct ngval	*v;
	const char	*s;
	size_t		 len;

	v = ok(f, in, sizeof(in) - 1);
	assert_int_equal(v->count, 2);
	assert_int_equal(v->child->keylen, 3);
	assert_memory_equal(v->child->key, "a\0b", 3);
	assert_int_equal(v->child->len, 5);
	assert_memory_equal(v->child->s, "\0x\0y\0", 5);
	/* "a\0b" is not "a": lengths count, not NULs */
	assert_int_equal(ngval_get_str(v, "a", &s, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(s, "\r\n\0\xff", 4);

	/* a string of only NULs, and one the length of the rest */
	OK("3:\0\0\0");
	OK("l0:0:0:e");
}

static void
test_get(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v;
	const char	*s;
	size_t		 len;

	v = OK("d7:call id2:c18:from-tag1:A7:command5:offer"
	    "1:xi1e1:xi2e0:1:ee");
	/* ' ' and '-' are the same character, either way round */
	assert_non_null(ngval_get(v, "call-id"));
	assert_non_null(ngval_get(v, "call id"));
	assert_non_null(ngval_get(v, "from tag"));
	assert_non_null(ngval_get(v, "from-tag"));
	assert_ptr_equal(ngval_get(v, "call-id"), v->child);
	/* and nothing else is loosened */
	assert_null(ngval_get(v, "Call-ID"));
	assert_null(ngval_get(v, "call_id"));
	assert_null(ngval_get(v, "callid"));
	assert_null(ngval_get(v, "call-i"));
	assert_null(ngval_get(v, "call-id "));
	assert_null(ngval_get(v, "COMMAND"));
	/* a repeated key: the first one */
	assert_int_equal(ngval_get(v, "x")->i, 1);
	/* the empty key */
	assert_true(ngval_streq(ngval_get(v, ""), "e"));

	assert_int_equal(ngval_get_str(v, "call-id", &s, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(s, "c1", 2);
	assert_int_equal(ngval_get_str(v, "command", &s, NULL), 0);
	assert_int_equal(ngval_get_str(v, "x", &s, &len), -1);
	assert_int_equal(ngval_get_str(v, "nope", &s, &len), -1);

	assert_true(ngval_streq(ngval_get(v, "command"), "offer"));
	assert_false(ngval_streq(ngval_get(v, "command"), "Offer"));
	assert_false(ngval_streq(ngval_get(v, "command"), "offe"));
	assert_false(ngval_streq(ngval_get(v, "x"), "1"));
	assert_false(ngval_streq(NULL, "x"));
	assert_null(ngval_get(v, NULL));

	/* a list or a scalar is not a dict (v's input is gone after this) */
	assert_null(ngval_get(OK("l7:call-ide"), "call-id"));
	assert_null(ngval_get(OK("7:call-id"), "call-id"));
	assert_null(ngval_get(NULL, "call-id"));
}

static void
test_get_int(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v;
	int64_t		 n;

	v = OK("d1:ai42e1:b2:421:c2:-71:d1:x1:e0:1:f1:-"
	    "1:g19:92233720368547758071:h19:9223372036854775808"
	    "1:i20:-92233720368547758081:j20:-9223372036854775809"
	    "1:k20:999999999999999999991:l2:1 1:m2: 11:n2:+1"
	    "1:ol1:1e1:p3:0071:q2:-01:ri-9223372036854775808e"
	    "1:s1:01:t3:1.5e");
	assert_int_equal(ngval_get_int(v, "a", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(ngval_get_int(v, "b", &n), 0);	/* Kamailio's way */
	assert_int_equal(n, 42);
	assert_int_equal(ngval_get_int(v, "c", &n), 0);
	assert_int_equal(n, -7);
	assert_int_equal(ngval_get_int(v, "g", &n), 0);
	assert_true(n == INT64_MAX);
	assert_int_equal(ngval_get_int(v, "i", &n), 0);
	assert_true(n == INT64_MIN);
	assert_int_equal(ngval_get_int(v, "p", &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(ngval_get_int(v, "q", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ngval_get_int(v, "r", &n), 0);
	assert_true(n == INT64_MIN);
	assert_int_equal(ngval_get_int(v, "s", &n), 0);
	assert_int_equal(n, 0);

	/* not a number, or out of range: -1 */
	assert_int_equal(ngval_get_int(v, "d", &n), -1);
	assert_int_equal(ngval_get_int(v, "e", &n), -1);
	assert_int_equal(ngval_get_int(v, "f", &n), -1);
	assert_int_equal(ngval_get_int(v, "h", &n), -1);
	assert_int_equal(ngval_get_int(v, "j", &n), -1);
	assert_int_equal(ngval_get_int(v, "k", &n), -1);
	assert_int_equal(ngval_get_int(v, "l", &n), -1);
	assert_int_equal(ngval_get_int(v, "m", &n), -1);
	assert_int_equal(ngval_get_int(v, "n", &n), -1);
	assert_int_equal(ngval_get_int(v, "o", &n), -1);
	assert_int_equal(ngval_get_int(v, "t", &n), -1);
	assert_int_equal(ngval_get_int(v, "missing", &n), -1);
	assert_int_equal(ngval_get_int(NULL, "a", &n), -1);
}

static void
test_has(void **state)
{
	struct fixture	*f = *state;
	struct ngval	*v, *l;

	v = OK("d5:flagsl13:trust-address10:load limiti1e0:e7:replace"
	    "l6:origin18:session-connectionee");
	l = ngval_get(v, "flags");
	assert_true(ngval_has(l, "trust-address"));
	assert_true(ngval_has(l, "trust address"));
	assert_true(ngval_has(l, "load-limit"));
	assert_true(ngval_has(l, "load limit"));
	assert_true(ngval_has(l, ""));
	assert_false(ngval_has(l, "Trust-Address"));
	assert_false(ngval_has(l, "trust"));
	assert_false(ngval_has(l, "1"));		/* an int is no word */
	assert_true(ngval_has(ngval_get(v, "replace"), "session connection"));
	assert_false(ngval_has(ngval_get(v, "replace"), "trust-address"));
	assert_false(ngval_has(NULL, "origin"));
	assert_false(ngval_has(OK("6:origin"), "origin"));
}

/* Trees built by ctld for replies encode as rtpengine's do. */
static void
test_encode(void **state)
{
	static const char reply[] = "d6:result2:ok3:sdp6:v=0\r\n\0"
	    "5:callsl2:c1i-5ee6:totalsd1:ni-9223372036854775808eee";
	struct fixture	*f = *state;
	struct ngval	*r, *l, *d;

	assert_non_null(r = ngval_dict(f->a));
	assert_int_equal(ngval_put_str(f->a, r, "result", "ok"), 0);
	assert_int_equal(ngval_put_strn(f->a, r, "sdp", "v=0\r\n\0", 6), 0);
	assert_non_null(l = ngval_put_list(f->a, r, "calls"));
	assert_int_equal(ngval_append(l, ngval_strz(f->a, "c1")), 0);
	assert_int_equal(ngval_append(l, ngval_int(f->a, -5)), 0);
	assert_non_null(d = ngval_put_dict(f->a, r, "totals"));
	assert_int_equal(ngval_put_int(f->a, d, "n", INT64_MIN), 0);
	assert_int_equal(ngval_put_str(f->a, r, "warning", NULL), -1);
	assert_int_equal(ngval_append(l, NULL), -1);
	assert_int_equal(ngval_append(ngval_int(f->a, 1), ngval_int(f->a,
	    2)), -1);
	assert_int_equal(ngval_put(f->a, l, "k", ngval_int(f->a, 1)), -1);
	enc(f, r);
	assert_int_equal(f->out.len, sizeof(reply) - 1);
	assert_memory_equal(f->out.p, reply, sizeof(reply) - 1);
	assert_int_equal(r->count, 4);
	/* and back */
	assert_non_null(decn(f, f->out.p, f->out.len));

	assert_int_equal(bencode_encode(&f->out, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_bep3),
		T(test_kamailio_offer),
		T(test_reject),
		T(test_truncated),
		T(test_depth),
		T(test_binary),
		T(test_get),
		T(test_get_int),
		T(test_has),
		T(test_encode),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
