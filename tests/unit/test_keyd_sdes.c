/*
 * test_keyd_sdes: keyd's SDES key service (keyd/sdes.c) through keyd's
 * request dispatch (keyd/ctl.c), with a real ROUTER socket standing in for
 * relayd in a thread: it records every srtp_set keyd pushes and answers
 * ok (or the error the test sets).  Offers give parseable lines with
 * distinct keys and are idempotent; select, answer and remote push the
 * right key in the right direction; malformed lines push nothing;
 * forget wipes; relayd absent fails within the deadline.  With two relay
 * nodes (a second stand-in relayd), each push goes to the node the
 * request names, alone and in a batch of mixed nodes, and an unknown
 * node is refused without a push.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "libcommon/config.h"
#include "libcommon/ipc.h"
#include "libcommon/nodes.h"
#include "libcommon/sdes.h"
#include "keyd/ctl.h"
#include "keyd/kek.h"
#include "keyd/sdes.h"

#define RELAYD_EP	"inproc://test-keyd-sdes-relayd"
#define RELAYD_B_EP	"inproc://test-keyd-sdes-relayd-b"
#define MAX_PUSHES	16

/* One srtp_set as the stand-in relayd received it. */
struct push {
	char		 call[256], leg[128], dir[8], profile[64];
	uint64_t	 media;
	uint8_t		 key[64];
	size_t		 key_len;	/* 0: no key (plain) */
	int		 has_profile;
	unsigned	 params;	/* SDES_P_* from the bools */
	uint8_t		 wrapped[KEYD_KEK_MAXBLOB];
	size_t		 wrapped_len;	/* 0: none */
};

static struct config	 cfg;
static struct keyd_kek	 kek;

/* A stand-in relayd: a ROUTER served by its own thread. */
struct fake_relayd {
	pthread_mutex_t	 mtx;
	struct push	 p[MAX_PUSHES];
	int		 n;
	char		 error[64];	/* "" answers ok */
	volatile int	 stop;
	zsock_t		*router;
	pthread_t	 th;
};

/* relayd: the first (default) node; relayd_b: the second node of the
 * relay node tests. */
static struct fake_relayd relayd = { .mtx = PTHREAD_MUTEX_INITIALIZER };
static struct fake_relayd relayd_b = { .mtx = PTHREAD_MUTEX_INITIALIZER };

/* 1 when a message waits on s within ms, else 0 or -1. */
static int
wait_in(zsock_t *s, int ms)
{
	zmq_pollitem_t	 pi = { zsock_resolve(s), 0, ZMQ_POLLIN, 0 };

	return zmq_poll(&pi, 1, ms);
}

static void *
relayd_main(void *arg)
{
	zframe_t	*ident, *msg;
	struct ipc_r	 q;
	struct ipc_w	 w;
	struct push	 p;
	const void	*key;
	size_t		 len;
	struct fake_relayd *f = arg;

	while (!f->stop) {
		if (wait_in(f->router, 50) <= 0)
			continue;
		if (ipc_router_recv(f->router, &ident, &msg) == -1)
			continue;
		memset(&p, 0, sizeof(p));
		ipc_w_init(&w);
		if (ipc_r_parse(&q, zframe_data(msg), zframe_size(msg)) == 0 &&
		    q.op == IPC_OP_SRTP_SET) {
			(void)ipc_get_strz(q.root, "call", p.call,
			    sizeof(p.call));
			(void)ipc_get_strz(q.root, "leg", p.leg, sizeof(p.leg));
			(void)ipc_get_uint(q.root, "media", &p.media);
			(void)ipc_get_strz(q.root, "dir", p.dir, sizeof(p.dir));
			p.has_profile = ipc_get_strz(q.root, "profile",
			    p.profile, sizeof(p.profile)) == 0;
			{
				int	 v;

				if (ipc_get_bool(q.root, "unencrypted_srtp",
				    &v) == 0 && v)
					p.params |= SDES_P_UNENCRYPTED_SRTP;
				if (ipc_get_bool(q.root, "unencrypted_srtcp",
				    &v) == 0 && v)
					p.params |= SDES_P_UNENCRYPTED_SRTCP;
				if (ipc_get_bool(q.root,
				    "unauthenticated_srtp", &v) == 0 && v)
					p.params |=
					    SDES_P_UNAUTHENTICATED_SRTP;
			}
			if (ipc_get_bin(q.root, "key", &key, &len) == 0 &&
			    len <= sizeof(p.key)) {
				memcpy(p.key, key, len);
				p.key_len = len;
			}
			if (ipc_get_bin(q.root, "wrapped", &key, &len) == 0 &&
			    len <= sizeof(p.wrapped)) {
				memcpy(p.wrapped, key, len);
				p.wrapped_len = len;
			}
			pthread_mutex_lock(&f->mtx);
			if (f->n < MAX_PUSHES)
				f->p[f->n++] = p;
			ipc_w_reply(&w, q.op, q.id, f->error[0] == '\0',
			    f->error, 0);
			pthread_mutex_unlock(&f->mtx);
			ipc_router_send(f->router, ident, &w);
		}
		ipc_r_free(&q);
		ipc_w_free(&w);
		zframe_destroy(&ident);
		zframe_destroy(&msg);
	}
	return NULL;
}

static int
setup(void **state)
{
	char	 err[256];

	(void)state;
	zsys_handler_set(NULL);
	if (config_load(&cfg, NULL, err, sizeof(err)) == -1 ||
	    keyd_kek_generate(&kek) == -1)
		return -1;
	if ((relayd.router = ipc_bind(ZMQ_ROUTER, RELAYD_EP)) == NULL ||
	    (relayd_b.router = ipc_bind(ZMQ_ROUTER, RELAYD_B_EP)) == NULL)
		return -1;
	if (pthread_create(&relayd.th, NULL, relayd_main, &relayd) != 0)
		return -1;
	return pthread_create(&relayd_b.th, NULL, relayd_main, &relayd_b);
}

static int
teardown(void **state)
{
	(void)state;
	relayd.stop = relayd_b.stop = 1;
	pthread_join(relayd.th, NULL);
	pthread_join(relayd_b.th, NULL);
	zsock_destroy(&relayd.router);
	zsock_destroy(&relayd_b.router);
	keyd_kek_wipe(&kek);
	return 0;
}

/* Forgets the pushes f saw so far; e: its error, NULL answers ok. */
static void
fake_reset(struct fake_relayd *f, const char *e)
{
	pthread_mutex_lock(&f->mtx);
	f->n = 0;
	memset(f->p, 0, sizeof(f->p));
	snprintf(f->error, sizeof(f->error), "%s", e ? e : "");
	pthread_mutex_unlock(&f->mtx);
}

/* Push i of f into *out (when f had it); returns how many f had. */
static int
fake_push(struct fake_relayd *f, int i, struct push *out)
{
	int	 n;

	pthread_mutex_lock(&f->mtx);
	n = f->n;
	if (i >= 0 && i < n && out != NULL)
		*out = f->p[i];
	pthread_mutex_unlock(&f->mtx);
	return n;
}

static void
relayd_reset(const char *e)
{
	fake_reset(&relayd, e);
	fake_reset(&relayd_b, NULL);
}

static int
relayd_npushes(struct push *first)
{
	return fake_push(&relayd, 0, first);
}

/* The last push; returns how many there were. */
static int
relayd_last(struct push *last)
{
	int	 n = fake_push(&relayd, -1, NULL);

	return fake_push(&relayd, n - 1, last);
}

static void
keyd_up(struct keyd *k, const char *endpoint, int timeout_ms)
{
	keyd_init(k, &cfg);
	assert_non_null(k->sdes = keyd_sdes_new(endpoint, timeout_ms, &kek));
	k->kek = &kek;
}

static void
keyd_down(struct keyd *k)
{
	keyd_sdes_destroy(&k->sdes);
	assert_null(k->sdes);
}

/* Sends the request in q (consumed) to keyd; *r is its reply, and w (to
 * free after r) the buffer r points into. */
static void
ask(struct keyd *k, struct ipc_w *q, struct ipc_w *w, struct ipc_r *r)
{
	ipc_w_init(w);
	assert_int_equal(keyd_request(k, q->sb.data, q->sb.size, w), 1);
	ipc_w_free(q);
	assert_int_equal(ipc_r_parse(r, w->sb.data, w->sb.size), 0);
	assert_true(r->is_reply);
}

static void
done(struct ipc_w *w, struct ipc_r *r)
{
	ipc_r_free(r);
	ipc_w_free(w);
}

static void
begin(struct ipc_w *q, enum ipc_op op, size_t nfields, const char *call,
    const char *leg, uint64_t media)
{
	ipc_w_init(q);
	ipc_w_begin(q, op, 1000 + op, nfields);
	ipc_w_str(q, "call", call);
	if (leg != NULL)
		ipc_w_str(q, "leg", leg);
	if (media != 0)
		ipc_w_uint(q, "media", media);
}

/* The lines of an sdes_offer/sdes_answer reply, parsed into c[]. */
static unsigned
reply_lines(const struct ipc_r *r, struct sdes_crypto *c, unsigned max,
    char lines[][256])
{
	const msgpack_object_array	*a;
	const char			*s;
	size_t				 len;
	unsigned			 i;

	assert_true(r->ok);
	assert_non_null(a = ipc_get_array(r->root, "crypto"));
	assert_true(a->size <= max);
	for (i = 0; i < a->size; i++) {
		assert_int_equal(ipc_obj_str(&a->ptr[i], &s, &len), 0);
		assert_true(len > 11 && len < 256);
		assert_memory_equal(s, "a=crypto:", 9);
		assert_memory_equal(s + len - 2, "\r\n", 2);
		memcpy(lines[i], s, len);
		lines[i][len] = '\0';
		assert_int_equal(sdes_parse(s + 9, len - 11, &c[i], NULL, 0),
		    0);
	}
	return a->size;
}

static void
offer(struct keyd *k, const char *call, const char *leg, uint64_t media,
    const char *const *suites, unsigned nsuites, struct sdes_crypto *c,
    char lines[][256], unsigned expect)
{
	struct ipc_w	 q, w;
	struct ipc_r	 r;
	unsigned	 i;

	begin(&q, IPC_OP_SDES_OFFER, suites ? 4 : 3, call, leg, media);
	if (suites != NULL) {	/* nsuites 0: an empty array */
		ipc_w_key(&q, "suites");
		msgpack_pack_array(&q.pk, nsuites);
		for (i = 0; i < nsuites; i++)
			ipc_pack_str(&q.pk, suites[i]);
	}
	ask(k, &q, &w, &r);
	assert_int_equal(reply_lines(&r, c, SDES_NSUITES, lines), expect);
	done(&w, &r);
}

/* A request with a tag (sdes_select); returns r.ok, error in err. */
static int
do_select(struct keyd *k, const char *call, const char *leg, uint64_t media,
    uint64_t tag, char *err, size_t errlen)
{
	struct ipc_w	 q, w;
	struct ipc_r	 r;
	int		 ok;

	begin(&q, IPC_OP_SDES_SELECT, 4, call, leg, media);
	ipc_w_uint(&q, "tag", tag);
	ask(k, &q, &w, &r);
	ok = r.ok;
	snprintf(err, errlen, "%s", ok ? "" : r.error);
	done(&w, &r);
	return ok;
}

static int
do_remote(struct keyd *k, const char *call, const char *leg, uint64_t media,
    const char *line, char *err, size_t errlen)
{
	struct ipc_w	 q, w;
	struct ipc_r	 r;
	int		 ok;

	begin(&q, IPC_OP_SDES_REMOTE, 4, call, leg, media);
	ipc_w_str(&q, "line", line);
	ask(k, &q, &w, &r);
	ok = r.ok;
	snprintf(err, errlen, "%s", ok ? "" : r.error);
	done(&w, &r);
	return ok;
}

static void
do_forget(struct keyd *k, const char *call, const char *leg)
{
	struct ipc_w	 q, w;
	struct ipc_r	 r;

	begin(&q, IPC_OP_SDES_FORGET, leg ? 2 : 1, call, leg, 0);
	ask(k, &q, &w, &r);
	assert_true(r.ok);
	done(&w, &r);
}

static void
wipe_all(struct sdes_crypto *c, unsigned n)
{
	while (n-- > 0)
		sdes_crypto_wipe(&c[n]);
}

static void
test_offer(void **state)
{
	static const char *const two[] = { "AES_CM_128_HMAC_SHA1_80",
	    "AEAD_AES_128_GCM" };
	static const char *const bad[] = { "AES_CM_128_HMAC_SHA1_80",
	    "F8_128_HMAC_SHA1_80" };
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES], c2[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], l2[SDES_NSUITES][256];
	struct ipc_w		 q, w;
	struct ipc_r		 r;
	unsigned		 i, j;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	offer(&k, "call-1@host", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	for (i = 0; i < SDES_NSUITES; i++) {
		assert_int_equal(c[i].tag, i + 1);
		assert_int_equal(c[i].suite, (enum sdes_suite)i);
		assert_int_equal(c[i].key_len,
		    sdes_suite_info(c[i].suite)->key_len +
		    sdes_suite_info(c[i].suite)->salt_len);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(c[i].key, c[j].key, 16);
	}
	/* the same offer again: the same lines */
	offer(&k, "call-1@host", "A", 1, NULL, 0, c2, l2, SDES_NSUITES);
	for (i = 0; i < SDES_NSUITES; i++)
		assert_string_equal(l[i], l2[i]);
	/* an empty suites array is every suite too */
	offer(&k, "call-1@host", "A", 1, two, 0, c2, l2, SDES_NSUITES);
	assert_string_equal(l[7], l2[7]);
	/* two suites on another media: new keys, tags 1..2, in that order */
	offer(&k, "call-1@host", "A", 2, two, 2, c2, l2, 2);
	assert_int_equal(c2[0].suite, SDES_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(c2[0].tag, 1);
	assert_int_equal(c2[1].suite, SDES_AEAD_AES_128_GCM);
	assert_int_equal(c2[1].tag, 2);
	assert_memory_not_equal(c2[0].key, c[6].key, 30);
	/* a re-offer of media 1 with fewer suites keeps their keys */
	offer(&k, "call-1@host", "A", 1, two, 2, c2, l2, 2);
	assert_memory_equal(c2[0].key, c[6].key, 30);
	assert_memory_equal(c2[1].key, c[1].key, 28);
	assert_int_equal(keyd_sdes_count(k.sdes), 2);

	/* a suite keyd does not know */
	begin(&q, IPC_OP_SDES_OFFER, 4, "call-1@host", "A", 3);
	ipc_w_key(&q, "suites");
	msgpack_pack_array(&q.pk, 2);
	ipc_pack_str(&q.pk, bad[0]);
	ipc_pack_str(&q.pk, bad[1]);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "unsupported suite");
	done(&w, &r);
	/* the same suite twice */
	begin(&q, IPC_OP_SDES_OFFER, 4, "call-1@host", "A", 3);
	ipc_w_key(&q, "suites");
	msgpack_pack_array(&q.pk, 2);
	ipc_pack_str(&q.pk, two[1]);
	ipc_pack_str(&q.pk, two[1]);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "duplicate suite");
	done(&w, &r);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 0);
	/* suites not an array of str, media 0 and a missing leg are bad
	 * fields */
	begin(&q, IPC_OP_SDES_OFFER, 4, "call-1@host", "A", 3);
	ipc_w_key(&q, "suites");
	msgpack_pack_array(&q.pk, 1);
	msgpack_pack_uint32(&q.pk, 7);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	done(&w, &r);
	begin(&q, IPC_OP_SDES_OFFER, 3, "call-1@host", "A", 0);
	ipc_w_uint(&q, "media", 0);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	done(&w, &r);
	begin(&q, IPC_OP_SDES_OFFER, 2, "call-1@host", NULL, 1);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	done(&w, &r);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 3);
	assert_int_equal(keyd_sdes_count(k.sdes), 2);
	assert_int_equal(relayd_npushes(NULL), 0);
	wipe_all(c, SDES_NSUITES);
	wipe_all(c2, SDES_NSUITES);
	keyd_down(&k);
}

static void
test_select(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], err[256];
	struct push		 p;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	offer(&k, "call-2", "B", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_int_equal(c[6].suite, SDES_AES_CM_128_HMAC_SHA1_80);

	assert_false(do_select(&k, "call-2", "B", 2, 7, err, sizeof(err)));
	assert_string_equal(err, "unknown key set");
	assert_false(do_select(&k, "call-2", "B", 1, 9, err, sizeof(err)));
	assert_string_equal(err, "unknown tag");
	assert_int_equal(relayd_npushes(NULL), 0);

	/* the peer picked tag 7: exactly one srtp_set out with its key */
	assert_true(do_select(&k, "call-2", "B", 1, 7, err, sizeof(err)));
	assert_int_equal(relayd_npushes(&p), 1);
	assert_string_equal(p.call, "call-2");
	assert_string_equal(p.leg, "B");
	assert_int_equal(p.media, 1);
	assert_string_equal(p.dir, "out");
	assert_true(p.has_profile);
	assert_string_equal(p.profile, "AES_CM_128_HMAC_SHA1_80");
	assert_int_equal(p.key_len, 30);
	assert_memory_equal(p.key, c[6].key, 30);

	/* the other offered keys are gone; the chosen one answers again */
	assert_false(do_select(&k, "call-2", "B", 1, 1, err, sizeof(err)));
	assert_string_equal(err, "unknown tag");
	relayd_reset(NULL);
	assert_true(do_select(&k, "call-2", "B", 1, 7, err, sizeof(err)));
	assert_int_equal(relayd_npushes(&p), 1);
	assert_memory_equal(p.key, c[6].key, 30);

	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

static void
test_reoffer_keeps_selected(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES], c2[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], err[256];

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	offer(&k, "call-2b", "B", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_true(do_select(&k, "call-2b", "B", 1, 1, err, sizeof(err)));
	offer(&k, "call-2b", "B", 1, NULL, 0, c2, l, SDES_NSUITES);
	assert_memory_equal(c2[0].key, c[0].key, c[0].key_len);
	assert_memory_not_equal(c2[1].key, c[1].key, c[1].key_len);
	wipe_all(c, SDES_NSUITES);
	wipe_all(c2, SDES_NSUITES);
	keyd_down(&k);
}

static void
test_answer(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES], c2[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], l2[SDES_NSUITES][256];
	struct ipc_w		 q, w;
	struct ipc_r		 r;
	struct push		 p;
	int			 i;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	for (i = 0; i < 2; i++) {
		relayd_reset(NULL);
		begin(&q, IPC_OP_SDES_ANSWER, 5, "call-3", "C", 1);
		ipc_w_str(&q, "suite", "AEAD_AES_128_GCM");
		ipc_w_uint(&q, "tag", 5);
		ask(&k, &q, &w, &r);
		assert_int_equal(reply_lines(&r, i ? c2 : c, 1, i ? l2 : l), 1);
		done(&w, &r);
		assert_int_equal(relayd_npushes(&p), 1);
		assert_string_equal(p.dir, "out");
		assert_string_equal(p.profile, "AEAD_AES_128_GCM");
		assert_int_equal(p.key_len, 28);
		assert_memory_equal(p.key, (i ? c2 : c)[0].key, 28);
	}
	assert_int_equal(c[0].tag, 5);
	assert_int_equal(c[0].suite, SDES_AEAD_AES_128_GCM);
	/* answered again: the same line */
	assert_string_equal(l[0], l2[0]);

	relayd_reset(NULL);
	begin(&q, IPC_OP_SDES_ANSWER, 5, "call-3", "C", 1);
	ipc_w_str(&q, "suite", "NOPE_80");
	ipc_w_uint(&q, "tag", 5);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "unsupported suite");
	done(&w, &r);
	assert_int_equal(relayd_npushes(NULL), 0);
	wipe_all(c, SDES_NSUITES);
	wipe_all(c2, SDES_NSUITES);
	keyd_down(&k);
}

static void
test_remote(void **state)
{
	static const char *const bad[] = {
		"1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ",	/* short key */
		"x AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
		"1 F8_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz NO_SUCH_PARAM",
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz KDR=3",
		"",
	};
	struct keyd		 k;
	struct sdes_crypto	 c, back;
	struct buf		 b;
	struct push		 p;
	char			 err[256];
	size_t			 i;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	assert_int_equal(sdes_keygen(&c, SDES_AES_256_CM_HMAC_SHA1_32, 3), 0);
	buf_init(&b);
	assert_int_equal(sdes_format(&b, &c), 0);
	/* without "a=crypto:"; keyd also takes it with its CRLF */
	assert_true(do_remote(&k, "call-4", "D", 2, b.p + 9, err,
	    sizeof(err)));
	assert_int_equal(relayd_npushes(&p), 1);
	assert_string_equal(p.call, "call-4");
	assert_string_equal(p.leg, "D");
	assert_int_equal(p.media, 2);
	assert_string_equal(p.dir, "in");
	assert_string_equal(p.profile, "AES_256_CM_HMAC_SHA1_32");
	assert_int_equal(p.key_len, 46);
	assert_memory_equal(p.key, c.key, 46);
	assert_int_equal(sdes_parse(b.p + 9, b.len - 11, &back, NULL, 0), 0);
	assert_memory_equal(back.key, c.key, 46);
	/* the peer's key is not kept: no key set */
	assert_int_equal(keyd_sdes_count(k.sdes), 0);

	/* malformed or unusable lines: refused, nothing pushed, no key in
	 * the error */
	relayd_reset(NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(do_remote(&k, "call-4", "D", 1, bad[i], err,
		    sizeof(err)));
		assert_true(err[0] != '\0');
		assert_null(strstr(err, "WVNf"));
		assert_null(strstr(err, "inline"));
		if (i == 3)
			assert_string_equal(err, "MKI not supported");
		if (i == 5)
			assert_string_equal(err, "KDR not supported");
	}
	assert_int_equal(relayd_npushes(NULL), 0);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 0);
	buf_wipe(&b);
	sdes_crypto_wipe(&c);
	sdes_crypto_wipe(&back);
	keyd_down(&k);
}

/* RFC 4568 6.3 session parameters: taken from the peer's line, written
 * on ours, pushed to relayd with the key; a select must keep them. */
static void
test_session_params(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], err[256];
	struct ipc_w		 q, w;
	struct ipc_r		 r;
	struct push		 p;
	unsigned		 i, n;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	/* sdes_remote: a line with the parameters is taken */
	assert_true(do_remote(&k, "call-p", "A", 1, "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz UNENCRYPTED_SRTP "
	    "UNAUTHENTICATED_SRTP", err, sizeof(err)));
	assert_int_equal(relayd_last(&p), 1);
	assert_string_equal(p.dir, "in");
	assert_int_equal(p.params, SDES_P_UNENCRYPTED_SRTP |
	    SDES_P_UNAUTHENTICATED_SRTP);

	/* sdes_offer with unencrypted_srtp + unencrypted_srtcp */
	begin(&q, IPC_OP_SDES_OFFER, 5, "call-p", "B", 1);
	ipc_w_bool(&q, "unencrypted_srtp", 1);
	ipc_w_bool(&q, "unencrypted_srtcp", 1);
	ask(&k, &q, &w, &r);
	n = reply_lines(&r, c, SDES_NSUITES, l);
	done(&w, &r);
	assert_int_equal(n, SDES_NSUITES);
	for (i = 0; i < n; i++) {
		assert_non_null(strstr(l[i], " UNENCRYPTED_SRTP "
		    "UNENCRYPTED_SRTCP\r\n"));
		assert_int_equal(sdes_params(&c[i]), SDES_P_UNENCRYPTED_SRTP |
		    SDES_P_UNENCRYPTED_SRTCP);
	}
	/* an answer without them does not match the offered line */
	assert_false(do_select(&k, "call-p", "B", 1, 7, err, sizeof(err)));
	assert_string_equal(err, "session parameters do not match the "
	    "offered tag");
	begin(&q, IPC_OP_SDES_SELECT, 6, "call-p", "B", 1);
	ipc_w_uint(&q, "tag", 7);
	ipc_w_bool(&q, "unencrypted_srtp", 1);
	ipc_w_bool(&q, "unencrypted_srtcp", 1);
	ask(&k, &q, &w, &r);
	assert_true(r.ok);
	done(&w, &r);
	assert_int_equal(relayd_last(&p), 2);
	assert_string_equal(p.dir, "out");
	assert_int_equal(p.params, SDES_P_UNENCRYPTED_SRTP |
	    SDES_P_UNENCRYPTED_SRTCP);
	assert_memory_equal(p.key, c[6].key, c[6].key_len);

	/* sdes_answer with unauthenticated_srtp; an ill-typed one is
	 * refused */
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-p", "C", 1);
	ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_80");
	ipc_w_uint(&q, "tag", 4);
	ipc_w_bool(&q, "unauthenticated_srtp", 1);
	ask(&k, &q, &w, &r);
	assert_int_equal(reply_lines(&r, c, 1, l), 1);
	done(&w, &r);
	assert_non_null(strstr(l[0], " UNAUTHENTICATED_SRTP\r\n"));
	assert_int_equal(relayd_last(&p), 3);
	assert_int_equal(p.params, SDES_P_UNAUTHENTICATED_SRTP);
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-p", "C", 1);
	ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_80");
	ipc_w_uint(&q, "tag", 4);
	ipc_w_str(&q, "unauthenticated_srtp", "yes");
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	done(&w, &r);
	assert_int_equal(relayd_npushes(NULL), 3);
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

static void
test_forget(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], err[256];

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);
	offer(&k, "call-5", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	offer(&k, "call-5", "A", 2, NULL, 0, c, l, SDES_NSUITES);
	offer(&k, "call-5", "B", 1, NULL, 0, c, l, SDES_NSUITES);
	offer(&k, "call-6", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_int_equal(keyd_sdes_count(k.sdes), 4);

	do_forget(&k, "call-5", "A");
	assert_int_equal(keyd_sdes_count(k.sdes), 2);
	assert_false(do_select(&k, "call-5", "A", 1, 1, err, sizeof(err)));
	assert_string_equal(err, "unknown key set");
	assert_true(do_select(&k, "call-5", "B", 1, 1, err, sizeof(err)));

	do_forget(&k, "call-5", NULL);
	do_forget(&k, "call-5", NULL);		/* idempotent */
	do_forget(&k, "never-seen", "X");
	assert_int_equal(keyd_sdes_count(k.sdes), 1);
	assert_false(do_select(&k, "call-5", "B", 1, 1, err, sizeof(err)));
	assert_string_equal(err, "unknown key set");
	assert_true(do_select(&k, "call-6", "A", 1, 2, err, sizeof(err)));
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

/* relayd refuses: its error comes back, and the keys stay for a retry */
static void
test_relayd_refuses(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], err[256];

	(void)state;
	relayd_reset("unknown leg");
	keyd_up(&k, RELAYD_EP, 1000);
	offer(&k, "call-7", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_false(do_select(&k, "call-7", "A", 1, 3, err, sizeof(err)));
	assert_string_equal(err, "relayd: unknown leg");
	relayd_reset(NULL);
	assert_true(do_select(&k, "call-7", "A", 1, 2, err, sizeof(err)));
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

static void
test_relayd_absent(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], err[256];
	struct buf		 b;
	int64_t			 t0, dt;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, "inproc://test-keyd-sdes-nobody", 200);
	/* an offer needs no relayd */
	offer(&k, "call-8", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	t0 = zclock_mono();
	assert_false(do_select(&k, "call-8", "A", 1, 1, err, sizeof(err)));
	dt = zclock_mono() - t0;
	assert_string_equal(err, "relayd unavailable");
	assert_true(dt >= 150 && dt < 1000);
	/* the offered keys are kept for a retry */
	assert_false(do_select(&k, "call-8", "A", 1, 2, err, sizeof(err)));
	assert_string_equal(err, "relayd unavailable");

	assert_int_equal(sdes_keygen(&c[0], SDES_AES_CM_128_HMAC_SHA1_80, 1),
	    0);
	buf_init(&b);
	assert_int_equal(sdes_format(&b, &c[0]), 0);
	t0 = zclock_mono();
	assert_false(do_remote(&k, "call-8", "A", 1, b.p + 9, err,
	    sizeof(err)));
	assert_true(zclock_mono() - t0 < 1000);
	assert_string_equal(err, "relayd unavailable");
	assert_int_equal(relayd_npushes(NULL), 0);
	buf_wipe(&b);
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

/* The store is bounded; forget frees room. */
static void
test_limit(void **state)
{
	static const char *const one[] = { "AES_CM_128_HMAC_SHA1_80" };
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES];
	char			 l[SDES_NSUITES][256], call[32];
	struct ipc_w		 q, w;
	struct ipc_r		 r;
	unsigned		 i;

	(void)state;
	keyd_up(&k, RELAYD_EP, 1000);
	for (i = 0; i < KEYD_SDES_MAX_SETS; i++) {
		snprintf(call, sizeof(call), "c%u", i / 4);
		offer(&k, call, "A", i % 4 + 1, one, 1, c, l, 1);
	}
	assert_int_equal(keyd_sdes_count(k.sdes), KEYD_SDES_MAX_SETS);
	begin(&q, IPC_OP_SDES_OFFER, 3, "one-more", "A", 1);
	ask(&k, &q, &w, &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "too many key sets");
	done(&w, &r);
	/* an existing set can still be re-offered */
	offer(&k, "c0", "A", 1, one, 1, c, l, 1);
	do_forget(&k, "c0", NULL);
	assert_int_equal(keyd_sdes_count(k.sdes), KEYD_SDES_MAX_SETS - 4);
	offer(&k, "one-more", "A", 1, one, 1, c, l, 1);
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

/* srtp_unwrap of a push's blob as relayd would send it after a restart;
 * dir may differ from the push's.  Returns r.ok; *c the key. */
static int
do_unwrap(struct keyd *k, const struct push *p, const char *dir,
    struct sdes_crypto *c, char *err, size_t errlen)
{
	struct ipc_w	 q, w;
	struct ipc_r	 r;
	const char	*name;
	const void	*key;
	size_t		 len;
	int		 ok, v;

	memset(c, 0, sizeof(*c));
	begin(&q, IPC_OP_SRTP_UNWRAP, 5, p->call, p->leg, p->media);
	ipc_w_str(&q, "dir", dir);
	ipc_w_bin(&q, "wrapped", p->wrapped, p->wrapped_len);
	ask(k, &q, &w, &r);
	ok = r.ok;
	snprintf(err, errlen, "%s", ok ? "" : r.error);
	if (ok) {
		assert_int_equal(ipc_get_str(r.root, "profile", &name, &len),
		    0);
		assert_true(sdes_suite_by_name(name, len) >= 0);
		c->suite = (enum sdes_suite)sdes_suite_by_name(name, len);
		assert_int_equal(ipc_get_bin(r.root, "key", &key, &len), 0);
		assert_true(len <= sizeof(c->key));
		memcpy(c->key, key, len);
		c->key_len = len;
		assert_int_equal(ipc_get_bool(r.root, "unencrypted_srtp", &v),
		    0);
		c->unencrypted_srtp = v;
		assert_int_equal(ipc_get_bool(r.root, "unencrypted_srtcp",
		    &v), 0);
		c->unencrypted_srtcp = v;
		assert_int_equal(ipc_get_bool(r.root, "unauthenticated_srtp",
		    &v), 0);
		c->unauthenticated_srtp = v;
	}
	done(&w, &r);
	return ok;
}

/* A push's blob opens (srtp_unwrap) to exactly what the push carried. */
static void
assert_push_unwraps(struct keyd *k, const struct push *p)
{
	struct sdes_crypto	 c;
	char			 err[256];

	assert_true(p->wrapped_len > KEYD_KEK_HDRLEN + KEYD_KEK_TAGLEN);
	assert_int_equal(p->wrapped[0], KEYD_KEK_VERSION);
	assert_memory_equal(p->wrapped + 1, kek.id, KEYD_KEK_IDLEN);
	/* the key is not in the blob in the clear */
	assert_null(memmem(p->wrapped, p->wrapped_len, p->key, 8));
	assert_true(do_unwrap(k, p, p->dir, &c, err, sizeof(err)));
	assert_string_equal(sdes_suite_name(c.suite), p->profile);
	assert_int_equal(c.key_len, p->key_len);
	assert_memory_equal(c.key, p->key, p->key_len);
	assert_int_equal(sdes_params(&c), p->params);
	sdes_crypto_wipe(&c);
}

static void
failed_cb(void *arg, size_t req, const char *err)
{
	(void)req;
	(void)err;
	(*(int *)arg)++;
}

/* Every srtp_set keyd pushes carries `wrapped`, in and out, alone and in
 * a batch; srtp_unwrap gives back the same profile, key and session
 * parameters, and refuses the blob for another direction, leg, media or
 * call. */
static void
test_wrapped(void **state)
{
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES], rc;
	char			 l[SDES_NSUITES][256], err[256];
	struct ipc_w		 q, w[2];
	struct ipc_r		 r;
	struct push		 p, p2;
	struct buf		 b;
	int			 nfailed = 0, i;

	(void)state;
	relayd_reset(NULL);
	keyd_up(&k, RELAYD_EP, 1000);

	/* select: out */
	offer(&k, "call-w", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_true(do_select(&k, "call-w", "A", 1, 2, err, sizeof(err)));
	assert_int_equal(relayd_last(&p), 1);
	assert_string_equal(p.dir, "out");
	assert_push_unwraps(&k, &p);
	assert_int_equal(k.unwrap_ok, 1);

	/* bound: another dir, leg, media or call does not open it */
	assert_false(do_unwrap(&k, &p, "in", &rc, err, sizeof(err)));
	assert_string_equal(err, "cannot unwrap");
	p2 = p;
	p2.leg[0] = 'B';
	assert_false(do_unwrap(&k, &p2, "out", &rc, err, sizeof(err)));
	p2 = p;
	p2.media = 2;
	assert_false(do_unwrap(&k, &p2, "out", &rc, err, sizeof(err)));
	p2 = p;
	snprintf(p2.call, sizeof(p2.call), "call-x");
	assert_false(do_unwrap(&k, &p2, "out", &rc, err, sizeof(err)));
	/* tampered */
	p2 = p;
	p2.wrapped[p2.wrapped_len / 2] ^= 1;
	assert_false(do_unwrap(&k, &p2, "out", &rc, err, sizeof(err)));
	assert_string_equal(err, "cannot unwrap");
	assert_int_equal(k.unwrap_failed, 5);
	assert_int_equal(k.unwrap_ok, 1);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 0);

	/* a bad dir or a missing blob is a bad field */
	assert_false(do_unwrap(&k, &p, "both", &rc, err, sizeof(err)));
	begin(&q, IPC_OP_SRTP_UNWRAP, 4, p.call, p.leg, p.media);
	ipc_w_str(&q, "dir", "out");
	ask(&k, &q, &w[0], &r);
	assert_false(r.ok);
	done(&w[0], &r);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 2);
	assert_int_equal(k.unwrap_failed, 5);

	/* answer: out, with session parameters */
	relayd_reset(NULL);
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-w", "C", 3);
	ipc_w_str(&q, "suite", "AES_256_CM_HMAC_SHA1_32");
	ipc_w_uint(&q, "tag", 4);
	ipc_w_bool(&q, "unencrypted_srtcp", 1);
	ask(&k, &q, &w[0], &r);
	assert_true(r.ok);
	done(&w[0], &r);
	assert_int_equal(relayd_last(&p), 1);
	assert_int_equal(p.params, SDES_P_UNENCRYPTED_SRTCP);
	assert_push_unwraps(&k, &p);

	/* remote: in */
	assert_true(do_remote(&k, "call-w", "B", 1, "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz "
	    "UNAUTHENTICATED_SRTP", err, sizeof(err)));
	assert_int_equal(relayd_last(&p), 2);
	assert_string_equal(p.dir, "in");
	assert_push_unwraps(&k, &p);

	/* the batch path: a select and a remote served together */
	relayd_reset(NULL);
	offer(&k, "call-wb", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_int_equal(sdes_keygen(&rc, SDES_AEAD_AES_128_GCM, 9), 0);
	buf_init(&b);
	assert_int_equal(sdes_format(&b, &rc), 0);
	keyd_sdes_batch_begin(k.sdes);
	for (i = 0; i < 2; i++) {
		keyd_sdes_batch_req(k.sdes, (size_t)i);
		if (i == 0) {
			begin(&q, IPC_OP_SDES_SELECT, 4, "call-wb", "A", 1);
			ipc_w_uint(&q, "tag", 1);
		} else {
			begin(&q, IPC_OP_SDES_REMOTE, 4, "call-wb", "A", 1);
			ipc_w_strn(&q, "line", b.p + 9, b.len - 9);
		}
		ipc_w_init(&w[i]);
		assert_int_equal(keyd_request(&k, q.sb.data, q.sb.size, &w[i]),
		    1);
		ipc_w_free(&q);
	}
	assert_int_equal(keyd_sdes_batch_end(k.sdes, failed_cb, &nfailed), 0);
	assert_int_equal(nfailed, 0);
	ipc_w_free(&w[0]);
	ipc_w_free(&w[1]);
	assert_int_equal(relayd_npushes(&p), 2);
	assert_int_equal(relayd_last(&p2), 2);
	assert_string_equal(p.dir, "out");
	assert_memory_equal(p.key, c[0].key, c[0].key_len);
	assert_push_unwraps(&k, &p);
	assert_string_equal(p2.dir, "in");
	assert_memory_equal(p2.key, rc.key, rc.key_len);
	assert_push_unwraps(&k, &p2);

	/* a keyd with another KEK (a lost kek_file) cannot open them */
	{
		struct keyd_kek	 other;
		struct keyd	 k2;

		assert_int_equal(keyd_kek_generate(&other), 0);
		keyd_init(&k2, &cfg);
		k2.kek = &other;
		assert_false(do_unwrap(&k2, &p2, "in", &rc, err,
		    sizeof(err)));
		assert_string_equal(err, "cannot unwrap");
		assert_int_equal(k2.unwrap_failed, 1);
		/* and a keyd without one refuses the op */
		k2.kek = NULL;
		assert_false(do_unwrap(&k2, &p2, "in", &rc, err,
		    sizeof(err)));
		assert_string_equal(err, "unknown op");
		keyd_kek_wipe(&other);
	}
	buf_wipe(&b);
	sdes_crypto_wipe(&rc);
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

/* Two relay nodes, "nA" (the default) and "nB": each push goes to the
 * node the request names in `node` (absent or "": the first); a batch
 * with requests for both nodes pushes to each and waits for both; an
 * unknown or ill-typed node is refused and pushes nothing. */
static void
test_nodes(void **state)
{
	struct node_addr	 na[2];
	struct keyd		 k;
	struct sdes_crypto	 c[SDES_NSUITES], rc;
	char			 l[SDES_NSUITES][256], err[256];
	struct ipc_w		 q, w[4];
	struct ipc_r		 r;
	struct push		 p;
	struct buf		 b;
	int			 nfailed = 0, i;
	int64_t			 t0;

	(void)state;
	relayd_reset(NULL);
	memset(na, 0, sizeof(na));
	snprintf(na[0].id, sizeof(na[0].id), "nA");
	snprintf(na[0].ctl, sizeof(na[0].ctl), "%s", RELAYD_EP);
	snprintf(na[1].id, sizeof(na[1].id), "nB");
	snprintf(na[1].ctl, sizeof(na[1].ctl), "%s", RELAYD_B_EP);
	keyd_init(&k, &cfg);
	k.kek = &kek;
	assert_null(keyd_sdes_new_nodes(na, 0, 1000, &kek));
	assert_non_null(k.sdes = keyd_sdes_new_nodes(na, 2, 1000, &kek));
	assert_int_equal(keyd_sdes_nodes(k.sdes), 2);
	assert_string_equal(keyd_sdes_node_id(k.sdes, 1), "nB");

	/* select on nB: pushed to nB only */
	offer(&k, "call-n", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	begin(&q, IPC_OP_SDES_SELECT, 5, "call-n", "A", 1);
	ipc_w_uint(&q, "tag", 1);
	ipc_w_str(&q, "node", "nB");
	ask(&k, &q, &w[0], &r);
	assert_true(r.ok);
	done(&w[0], &r);
	assert_int_equal(fake_push(&relayd, 0, NULL), 0);
	assert_int_equal(fake_push(&relayd_b, 0, &p), 1);
	assert_string_equal(p.call, "call-n");
	assert_string_equal(p.dir, "out");
	assert_memory_equal(p.key, c[0].key, c[0].key_len);
	assert_push_unwraps(&k, &p);

	/* remote without a node: the first node; "" too */
	assert_true(do_remote(&k, "call-n", "B", 1, "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", err,
	    sizeof(err)));
	assert_int_equal(fake_push(&relayd, 0, &p), 1);
	assert_string_equal(p.dir, "in");
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-n", "C", 1);
	ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_80");
	ipc_w_uint(&q, "tag", 1);
	ipc_w_str(&q, "node", "");
	ask(&k, &q, &w[0], &r);
	assert_true(r.ok);
	done(&w[0], &r);
	assert_int_equal(fake_push(&relayd, 1, &p), 2);
	assert_string_equal(p.leg, "C");
	assert_int_equal(fake_push(&relayd_b, 0, NULL), 1);

	/* answer on nB, then the node named explicitly as nA */
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-n", "D", 1);
	ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_32");
	ipc_w_uint(&q, "tag", 2);
	ipc_w_str(&q, "node", "nB");
	ask(&k, &q, &w[0], &r);
	assert_true(r.ok);
	done(&w[0], &r);
	assert_int_equal(fake_push(&relayd_b, 1, &p), 2);
	assert_string_equal(p.leg, "D");
	assert_string_equal(p.profile, "AES_CM_128_HMAC_SHA1_32");
	assert_push_unwraps(&k, &p);
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-n", "E", 1);
	ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_32");
	ipc_w_uint(&q, "tag", 2);
	ipc_w_str(&q, "node", "nA");
	ask(&k, &q, &w[0], &r);
	assert_true(r.ok);
	done(&w[0], &r);
	assert_int_equal(fake_push(&relayd, 2, &p), 3);
	assert_string_equal(p.leg, "E");
	assert_int_equal(fake_push(&relayd_b, 0, NULL), 2);

	/* an unknown node: refused, nothing pushed, nothing stored; an
	 * ill-typed one is a bad field */
	relayd_reset(NULL);
	begin(&q, IPC_OP_SDES_ANSWER, 6, "call-n", "F", 1);
	ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_80");
	ipc_w_uint(&q, "tag", 1);
	ipc_w_str(&q, "node", "nC");
	ask(&k, &q, &w[0], &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "unknown relay node");
	done(&w[0], &r);
	begin(&q, IPC_OP_SDES_SELECT, 5, "call-n", "A", 1);
	ipc_w_uint(&q, "tag", 1);
	ipc_w_str(&q, "node", "nA-and-more");
	ask(&k, &q, &w[0], &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "unknown relay node");
	done(&w[0], &r);
	begin(&q, IPC_OP_SDES_REMOTE, 5, "call-n", "B", 1);
	ipc_w_str(&q, "line", "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
	ipc_w_str(&q, "node", "nc");
	ask(&k, &q, &w[0], &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "unknown relay node");
	done(&w[0], &r);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 0);
	begin(&q, IPC_OP_SDES_SELECT, 5, "call-n", "A", 1);
	ipc_w_uint(&q, "tag", 1);
	ipc_w_uint(&q, "node", 2);
	ask(&k, &q, &w[0], &r);
	assert_false(r.ok);
	done(&w[0], &r);
	assert_int_equal(k.dropped[KEYD_DROP_BAD_FIELD], 1);
	assert_int_equal(fake_push(&relayd, 0, NULL), 0);
	assert_int_equal(fake_push(&relayd_b, 0, NULL), 0);
	assert_int_equal(keyd_sdes_count(k.sdes), 4);	/* legs A, C, D, E */

	/* a batch of mixed nodes: select on nB, remote on nA, answer on
	 * nB, remote on nB; each node gets its own, in order */
	offer(&k, "call-nb", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	assert_int_equal(sdes_keygen(&rc, SDES_AEAD_AES_128_GCM, 9), 0);
	buf_init(&b);
	assert_int_equal(sdes_format(&b, &rc), 0);
	keyd_sdes_batch_begin(k.sdes);
	for (i = 0; i < 4; i++) {
		keyd_sdes_batch_req(k.sdes, (size_t)i);
		switch (i) {
		case 0:
			begin(&q, IPC_OP_SDES_SELECT, 5, "call-nb", "A", 1);
			ipc_w_uint(&q, "tag", 1);
			ipc_w_str(&q, "node", "nB");
			break;
		case 1:
			begin(&q, IPC_OP_SDES_REMOTE, 5, "call-nb", "A", 1);
			ipc_w_strn(&q, "line", b.p + 9, b.len - 9);
			ipc_w_str(&q, "node", "nA");
			break;
		case 2:
			begin(&q, IPC_OP_SDES_ANSWER, 6, "call-nb", "B", 1);
			ipc_w_str(&q, "suite", "AES_CM_128_HMAC_SHA1_80");
			ipc_w_uint(&q, "tag", 3);
			ipc_w_str(&q, "node", "nB");
			break;
		default:
			begin(&q, IPC_OP_SDES_REMOTE, 5, "call-nb", "B", 1);
			ipc_w_strn(&q, "line", b.p + 9, b.len - 9);
			ipc_w_str(&q, "node", "nB");
			break;
		}
		ipc_w_init(&w[i]);
		assert_int_equal(keyd_request(&k, q.sb.data, q.sb.size, &w[i]),
		    1);
		ipc_w_free(&q);
	}
	assert_int_equal(keyd_sdes_batch_end(k.sdes, failed_cb, &nfailed), 0);
	assert_int_equal(nfailed, 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(ipc_r_parse(&r, w[i].sb.data, w[i].sb.size),
		    0);
		assert_true(r.ok);
		ipc_r_free(&r);
		ipc_w_free(&w[i]);
	}
	assert_int_equal(fake_push(&relayd, 0, &p), 1);
	assert_string_equal(p.call, "call-nb");
	assert_string_equal(p.dir, "in");
	assert_memory_equal(p.key, rc.key, rc.key_len);
	assert_int_equal(fake_push(&relayd_b, 0, &p), 3);
	assert_string_equal(p.leg, "A");
	assert_string_equal(p.dir, "out");
	assert_memory_equal(p.key, c[0].key, c[0].key_len);
	assert_push_unwraps(&k, &p);
	(void)fake_push(&relayd_b, 1, &p);
	assert_string_equal(p.leg, "B");
	assert_string_equal(p.dir, "out");
	(void)fake_push(&relayd_b, 2, &p);
	assert_string_equal(p.leg, "B");
	assert_string_equal(p.dir, "in");

	/* a batch where one node fails: only its requests fail */
	relayd_reset(NULL);
	fake_reset(&relayd_b, "unknown call");
	keyd_sdes_batch_begin(k.sdes);
	for (i = 0; i < 2; i++) {
		keyd_sdes_batch_req(k.sdes, (size_t)i);
		begin(&q, IPC_OP_SDES_REMOTE, 5, "call-nb", "A", 1);
		ipc_w_strn(&q, "line", b.p + 9, b.len - 9);
		ipc_w_str(&q, "node", i == 0 ? "nB" : "nA");
		ipc_w_init(&w[i]);
		assert_int_equal(keyd_request(&k, q.sb.data, q.sb.size, &w[i]),
		    1);
		ipc_w_free(&q);
		ipc_w_free(&w[i]);
	}
	nfailed = 0;
	assert_int_equal(keyd_sdes_batch_end(k.sdes, failed_cb, &nfailed), 1);
	assert_int_equal(nfailed, 1);
	assert_int_equal(fake_push(&relayd, 0, NULL), 1);
	assert_int_equal(fake_push(&relayd_b, 0, NULL), 1);
	keyd_down(&k);

	/* a node that does not answer (the default one, waited for first)
	 * costs a batch one deadline in all: the other node's pushes,
	 * answered meanwhile, still succeed */
	snprintf(na[0].ctl, sizeof(na[0].ctl), "inproc://test-keyd-sdes-none");
	assert_non_null(k.sdes = keyd_sdes_new_nodes(na, 2, 300, &kek));
	relayd_reset(NULL);
	offer(&k, "call-nd", "A", 1, NULL, 0, c, l, SDES_NSUITES);
	t0 = zclock_mono();
	keyd_sdes_batch_begin(k.sdes);
	for (i = 0; i < 4; i++) {
		keyd_sdes_batch_req(k.sdes, (size_t)i);
		begin(&q, IPC_OP_SDES_REMOTE, 5, "call-nd", i < 2 ? "A" : "B",
		    1);
		ipc_w_strn(&q, "line", b.p + 9, b.len - 9);
		ipc_w_str(&q, "node", i % 2 == 0 ? "nA" : "nB");
		ipc_w_init(&w[i]);
		assert_int_equal(keyd_request(&k, q.sb.data, q.sb.size, &w[i]),
		    1);
		ipc_w_free(&q);
		ipc_w_free(&w[i]);
	}
	nfailed = 0;
	assert_int_equal(keyd_sdes_batch_end(k.sdes, failed_cb, &nfailed), 2);
	assert_int_equal(nfailed, 2);
	assert_true(zclock_mono() - t0 < 300 + 250);
	assert_int_equal(fake_push(&relayd_b, 0, NULL), 2);
	assert_int_equal(fake_push(&relayd, 0, NULL), 0);

	buf_wipe(&b);
	sdes_crypto_wipe(&rc);
	wipe_all(c, SDES_NSUITES);
	keyd_down(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_reoffer_keeps_selected),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_relayd_refuses),
		cmocka_unit_test(test_relayd_absent),
		cmocka_unit_test(test_session_params),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_wrapped),
		cmocka_unit_test(test_nodes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
