/*
 * sdes: keyd's SDES key service, see sdes.h and docs/ipc.md.
 *
 * Each op decodes its request, acts on the store and answers; the one
 * encoder of a request keyd sends (srtp_set) sits in ks_push(), which
 * sends it to the relay node the request named (ks_get_node()).  A push
 * that fails leaves the store as it was, so ctld can retry the op.
 *
 * Key material is held in struct sdes_crypto only (libcommon/sdes.h); the
 * formatted lines go through buf_secret() buffers and ipc_w_secret()
 * messages that are wiped when done.  What libzmq copies of a message
 * while sending it is out of our reach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "libcommon/buf.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/sdes.h"
#include "keyd/kek.h"
#include "keyd/sdes.h"

/* The keys keyd generated for one (call, leg, media); see sdes.h. */
struct keyset {
	struct keyset		*next;		/* bucket chain */
	const char		*leg;		/* points into the allocation */
	unsigned		 media;		/* 1-based */
	unsigned		 nkeys;		/* keys[0..nkeys) */
	struct sdes_crypto	*keys;		/* owned; distinct suites */
	char			 call[];	/* then the leg */
};

/* The fields every op but sdes_forget names. */
struct keyd_sdes_ids {
	char		 call[KEYD_SDES_CALLLEN];
	char		 leg[KEYD_SDES_LEGLEN];
	unsigned	 media;
};

/* Every op pushes at most once: a batch never runs out of pending slots. */
_Static_assert(KEYD_SDES_BATCH_REQUESTS <= KEYD_SDES_BATCH_PUSHES,
    "a batch of requests may need more pushes than pend[] holds");

/* A push sent in a batch, its reply not read yet. */
struct ks_pending {
	uint64_t		 rid;
	size_t			 req;		/* the request that caused it */
	size_t			 node;		/* sent to nodes[node] */
	struct keyd_sdes_ids	 id;
	const char		*dir;
};

/* A relay node: its relayd's ROUTER. */
struct ks_node {
	char			 id[NODES_IDLEN];	/* "": unnamed */
	struct ipc_client	*relayd;
	int			 unsent;	/* a push of this batch could
						 * not be sent */
};

struct keyd_sdes {
	struct ks_node		 nodes[NODES_MAX];	/* [0]: the default */
	size_t			 nnodes;
	const struct keyd_kek	*kek;		/* borrowed */
	int			 timeout_ms;
	size_t			 nsets;
	uint8_t			 hkey[16];	/* SipHash key, random */
	struct keyset		*tab[KEYD_SDES_BUCKETS];
	/* batch mode (keyd_sdes_batch_begin .. _end) */
	int			 batching;
	size_t			 req;		/* current request */
	struct ks_pending	 pend[KEYD_SDES_BATCH_PUSHES];
	size_t			 npend;
};

/* ---- the store ------------------------------------------------------- */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* SipHash-2-4 of s under the service's random key: the bucket of a call,
 * which callers cannot steer into one chain. */
static uint64_t
ks_hash(const struct keyd_sdes *ks, const char *s)
{
	uint64_t	 k0 = le64(ks->hkey), k1 = le64(ks->hkey + 8);
	uint64_t	 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k1 ^ 0x7465646279746573ULL;
	size_t		 len = strlen(s), i;
	uint64_t	 m, b = (uint64_t)len << 56;
	const uint8_t	*p = (const uint8_t *)s;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (m = 0; i < len; i++)
		m |= (uint64_t)p[i] << (8 * (i & 7));
	b |= m;
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static struct keyset **
ks_bucket(struct keyd_sdes *ks, const char *call)
{
	return &ks->tab[ks_hash(ks, call) % KEYD_SDES_BUCKETS];
}

static struct keyset *
ks_find(struct keyd_sdes *ks, const struct keyd_sdes_ids *id)
{
	struct keyset	*s;

	for (s = *ks_bucket(ks, id->call); s != NULL; s = s->next)
		if (s->media == id->media && strcmp(s->call, id->call) == 0 &&
		    strcmp(s->leg, id->leg) == 0)
			return s;
	return NULL;
}

static void
ks_keys_free(struct sdes_crypto *keys, unsigned n)
{
	if (keys != NULL)
		explicit_bzero(keys, n * sizeof(*keys));
	free(keys);
}

static void
ks_set_free(struct keyset *s)
{
	ks_keys_free(s->keys, s->nkeys);
	free(s);
}

/* The key of suite in s, or NULL. */
static const struct sdes_crypto *
ks_key_of(const struct keyset *s, enum sdes_suite suite)
{
	unsigned	 i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < s->nkeys; i++)
		if (s->keys[i].suite == suite)
			return &s->keys[i];
	return NULL;
}

/*
 * Fills out[0..n) with a key for each suite and the tags tag0, tag0 + 1,
 * ...: the key s already holds for the suite, else a new one.  Returns 0,
 * or -1 (out wiped) if the CSPRNG fails.
 */
static int
ks_make_keys(const struct keyset *s, const enum sdes_suite *suites,
    unsigned n, uint32_t tag0, struct sdes_crypto *out)
{
	const struct sdes_crypto	*old;
	unsigned			 i;

	for (i = 0; i < n; i++) {
		if ((old = ks_key_of(s, suites[i])) != NULL) {
			out[i] = *old;
			out[i].tag = tag0 + i;
		} else if (sdes_keygen(&out[i], suites[i], tag0 + i) == -1) {
			explicit_bzero(out, n * sizeof(*out));
			return -1;
		}
	}
	return 0;
}

/*
 * Stores keys[0..n) as the set of id (replacing what it held), creating
 * the set if needed.  Returns 0, or -1 with a reason in *err (the store is
 * full, out of memory).  keys are copied, not wiped.
 */
static int
ks_store(struct keyd_sdes *ks, const struct keyd_sdes_ids *id,
    struct keyset *s, const struct sdes_crypto *keys, unsigned n,
    const char **err)
{
	struct keyset		**b;
	struct sdes_crypto	 *nk;
	size_t			  cl = strlen(id->call), ll = strlen(id->leg);

	if (s == NULL && ks->nsets >= KEYD_SDES_MAX_SETS) {
		*err = "too many key sets";
		return -1;
	}
	if ((nk = calloc(n, sizeof(*nk))) == NULL) {
		*err = "out of memory";
		return -1;
	}
	memcpy(nk, keys, n * sizeof(*keys));
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s) + cl + ll + 2)) == NULL) {
			ks_keys_free(nk, n);
			*err = "out of memory";
			return -1;
		}
		memcpy(s->call, id->call, cl + 1);
		memcpy(s->call + cl + 1, id->leg, ll + 1);
		s->leg = s->call + cl + 1;
		s->media = id->media;
		b = ks_bucket(ks, id->call);
		s->next = *b;
		*b = s;
		ks->nsets++;
	}
	ks_keys_free(s->keys, s->nkeys);
	s->keys = nk;
	s->nkeys = n;
	return 0;
}

/* ---- relayd ---------------------------------------------------------- */

/* A node's name in log lines. */
static const char *
ks_node_name(const struct keyd_sdes *ks, size_t node)
{
	return ks->nodes[node].id[0] != '\0' ? ks->nodes[node].id :
	    "(default)";
}

/*
 * The relay node a request names in `node` (str, optional): absent or
 * "" is the first node.  Returns 0 with its index in *node; -1 for an
 * ill-typed field; 1 for a node keyd does not know.
 */
static int
ks_get_node(const struct keyd_sdes *ks, const struct ipc_r *q, size_t *node)
{
	const char	*s;
	size_t		 len, i;

	*node = 0;
	if (ipc_get(q->root, "node") == NULL)
		return 0;
	if (ipc_get_str(q->root, "node", &s, &len) == -1)
		return -1;
	if (len == 0)
		return 0;
	for (i = 0; i < ks->nnodes; i++)
		if (strlen(ks->nodes[i].id) == len &&
		    memcmp(ks->nodes[i].id, s, len) == 0) {
			*node = i;
			return 0;
		}
	log_warnx("refused %s: unknown relay node \"%.*s\" (relay_nodes)",
	    ipc_op_name(q->op), (int)(len > 64 ? 64 : len), s);
	return 1;
}

/*
 * srtp_set to relay node `node`: dir "in" or "out", key c (c NULL:
 * plain) and its blob under the KEK bound to (call, leg, media, dir) in
 * `wrapped`.  Returns 0, or -1 with the reason in err: "cannot wrap the
 * key" (no random numbers, out of memory), "relayd unavailable" when
 * relayd did not answer within the deadline, relayd's own error
 * otherwise.
 */
static int
ks_push(struct keyd_sdes *ks, size_t node, const struct keyd_sdes_ids *id,
    const char *dir, const struct sdes_crypto *c, char *err, size_t errlen)
{
	struct ks_node		*n = &ks->nodes[node];
	struct ipc_w		 w;
	struct ipc_r		 r;
	struct buf		 wrapped;
	struct keyd_kek_bind	 bind = { id->call, id->leg, id->media, dir };
	uint64_t		 rid;
	int			 rc = -1;

	buf_init(&wrapped);
	if (c != NULL && keyd_kek_wrap(ks->kek, &bind, c, &wrapped) == -1) {
		log_warnx("[%s] leg %s media %u %s: cannot wrap the key",
		    id->call, id->leg, id->media, dir);
		snprintf(err, errlen, "cannot wrap the key");
		buf_free(&wrapped);
		return -1;
	}
	rid = ipc_client_next_id(n->relayd);
	memset(&r, 0, sizeof(r));
	ipc_w_init(&w);
	ipc_w_secret(&w);
	ipc_w_begin(&w, IPC_OP_SRTP_SET, rid, c != NULL ? 10 : 4);
	ipc_w_str(&w, "call", id->call);
	ipc_w_str(&w, "leg", id->leg);
	ipc_w_uint(&w, "media", id->media);
	ipc_w_str(&w, "dir", dir);
	if (c != NULL) {
		ipc_w_str(&w, "profile", sdes_suite_name(c->suite));
		ipc_w_bin(&w, "key", c->key, c->key_len);
		ipc_w_bool(&w, "unencrypted_srtp", c->unencrypted_srtp);
		ipc_w_bool(&w, "unencrypted_srtcp", c->unencrypted_srtcp);
		ipc_w_bool(&w, "unauthenticated_srtp",
		    c->unauthenticated_srtp);
		ipc_w_bin(&w, "wrapped", wrapped.p, wrapped.len);
	}
	buf_free(&wrapped);
	if (ks->batching) {
		/* sent now, its reply read with the batch's other pushes
		 * (keyd_sdes_batch_end), which decides the reply; a call
		 * here would drop their replies as not its own */
		if (ks->npend == KEYD_SDES_BATCH_PUSHES)
			snprintf(err, errlen, "too many pushes in a batch");
		else if (n->unsent)
			snprintf(err, errlen, "relayd unavailable");
		else if (ipc_client_send(n->relayd, &w, ks->timeout_ms,
		    r.error, sizeof(r.error)) == -1) {
			log_warnx("[%s] srtp_set to relay node %s: %s",
			    id->call, ks_node_name(ks, node), r.error);
			snprintf(err, errlen, "relayd unavailable");
			n->unsent = 1;
		} else {
			ks->pend[ks->npend++] = (struct ks_pending){ rid,
			    ks->req, node, *id, dir };
			rc = 0;
		}
		ipc_w_free(&w);
		return rc;
	}
	if (ipc_client_call(n->relayd, &w, rid, ks->timeout_ms, &r) == -1) {
		log_warnx("[%s] srtp_set to relay node %s: %s", id->call,
		    ks_node_name(ks, node), r.error);
		snprintf(err, errlen, "relayd unavailable");
	} else if (!r.ok) {
		log_warnx("[%s] srtp_set leg %s media %u %s refused by relay "
		    "node %s: %s", id->call, id->leg, id->media, dir,
		    ks_node_name(ks, node), r.error);
		snprintf(err, errlen, "relayd: %s", r.error);
	} else
		rc = 0;
	ipc_r_free(&r);
	ipc_w_free(&w);
	return rc;
}

/* ---- ops ------------------------------------------------------------- */

/* Replies ok:false with error; returns 0 (the op was served). */
static int
ks_fail(const struct ipc_r *q, struct ipc_w *w, const char *error)
{
	ipc_w_reply(w, q->op, q->id, 0, error, 0);
	return 0;
}

/* Refuses a request with a missing or ill-typed field; returns -1. */
static int
ks_bad(const struct ipc_r *q, struct ipc_w *w, const char *error)
{
	log_warnx("refused %s: %s", ipc_op_name(q->op), error);
	ipc_w_reply(w, q->op, q->id, 0, error, 0);
	return -1;
}

/* call, leg, media: 0 or -1. */
static int
ks_get_ids(const struct ipc_r *q, struct keyd_sdes_ids *id)
{
	uint64_t	 m;

	memset(id, 0, sizeof(*id));
	if (ipc_get_strz(q->root, "call", id->call, sizeof(id->call)) == -1 ||
	    id->call[0] == '\0' ||
	    ipc_get_strz(q->root, "leg", id->leg, sizeof(id->leg)) == -1 ||
	    id->leg[0] == '\0' ||
	    ipc_get_uint(q->root, "media", &m) == -1 || m < 1 ||
	    m > KEYD_SDES_MAX_MEDIA)
		return -1;
	id->media = (unsigned)m;
	return 0;
}

/* The optional session parameters of a request (RFC 4568 6.3; bools
 * unencrypted_srtp, unencrypted_srtcp, unauthenticated_srtp, default
 * false) into *params (SDES_P_*): 0, or -1 for an ill-typed one. */
static int
ks_get_params(const struct ipc_r *q, unsigned *params)
{
	static const struct {
		const char	*name;
		unsigned	 bit;
	} f[] = {
		{ "unencrypted_srtp", SDES_P_UNENCRYPTED_SRTP },
		{ "unencrypted_srtcp", SDES_P_UNENCRYPTED_SRTCP },
		{ "unauthenticated_srtp", SDES_P_UNAUTHENTICATED_SRTP },
	};
	size_t	 i;
	int	 v;

	*params = 0;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (ipc_get(q->root, f[i].name) == NULL)
			continue;
		if (ipc_get_bool(q->root, f[i].name, &v) == -1)
			return -1;
		if (v)
			*params |= f[i].bit;
	}
	return 0;
}

/* Replies ok with `crypto`: the lines of keys[0..n). */
static int
ks_reply_lines(const struct ipc_r *q, struct ipc_w *w,
    const struct sdes_crypto *keys, unsigned n)
{
	struct buf		 b;
	struct sdes_crypto	 k;
	size_t			 off[SDES_NSUITES + 1];
	unsigned		 i;
	int			 pad = 0;

	/* `pad` (optional, SDES-pad): base64 padding on the keys */
	(void)ipc_get_bool(q->root, "pad", &pad);
	buf_init(&b);
	buf_secret(&b);
	for (i = 0; i < n; i++) {
		off[i] = b.len;
		k = keys[i];
		k.pad = pad;
		if (sdes_format(&b, &k) == -1) {
			sdes_crypto_wipe(&k);
			buf_wipe(&b);
			return ks_fail(q, w, "cannot format a crypto line");
		}
		sdes_crypto_wipe(&k);
	}
	off[n] = b.len;
	ipc_w_reply(w, q->op, q->id, 1, NULL, 1);
	ipc_w_key(w, "crypto");
	msgpack_pack_array(&w->pk, n);
	for (i = 0; i < n; i++)
		ipc_pack_strn(&w->pk, b.p + off[i], off[i + 1] - off[i]);
	buf_wipe(&b);
	return 0;
}

/* The suites of an offer: `suites` in its order, or every suite.
 * Returns 0; -1 for a missing or ill-typed field; 1 for a name keyd
 * refuses, with the reason in *err. */
static int
ks_get_suites(const struct ipc_r *q, enum sdes_suite *suites,
    unsigned *n, const char **err)
{
	const msgpack_object_array	*a;
	const msgpack_object		*o;
	const char			*s;
	size_t				 len;
	unsigned			 i, j;
	int				 x;

	if ((o = ipc_get(q->root, "suites")) == NULL ||
	    (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0)) {
		for (i = 0; i < SDES_NSUITES; i++)
			suites[i] = (enum sdes_suite)i;
		*n = SDES_NSUITES;
		return 0;
	}
	if ((a = ipc_get_array(q->root, "suites")) == NULL ||
	    a->size > SDES_NSUITES)
		return -1;
	for (i = 0; i < a->size; i++) {
		if (ipc_obj_str(&a->ptr[i], &s, &len) == -1)
			return -1;
		if ((x = sdes_suite_by_name(s, len)) == -1) {
			*err = "unsupported suite";
			return 1;
		}
		suites[i] = (enum sdes_suite)x;
		for (j = 0; j < i; j++)
			if (suites[j] == suites[i]) {
				*err = "duplicate suite";
				return 1;
			}
	}
	*n = a->size;
	return 0;
}

static int
ks_op_offer(struct keyd_sdes *ks, const struct ipc_r *q, struct ipc_w *w)
{
	struct keyd_sdes_ids	 id;
	struct keyset		*s;
	struct sdes_crypto	 keys[SDES_NSUITES];
	enum sdes_suite		 suites[SDES_NSUITES] = { 0 };
	const char		*err;
	unsigned		 n, i, params;
	int			 rc;

	if (ks_get_ids(q, &id) == -1)
		return ks_bad(q, w, "bad call, leg or media");
	if (ks_get_params(q, &params) == -1)
		return ks_bad(q, w, "bad session parameter");
	if ((rc = ks_get_suites(q, suites, &n, &err)) == -1)
		return ks_bad(q, w, "bad suites");
	if (rc == 1)
		return ks_fail(q, w, err);
	s = ks_find(ks, &id);
	if (ks_make_keys(s, suites, n, 1, keys) == -1)
		return ks_fail(q, w, "no random numbers");
	for (i = 0; i < n; i++)
		sdes_set_params(&keys[i], params);
	if (ks_store(ks, &id, s, keys, n, &err) == -1) {
		log_warnx("[%s] sdes_offer leg %s media %u: %s", id.call,
		    id.leg, id.media, err);
		rc = ks_fail(q, w, err);
	} else {
		log_debug("[%s] sdes_offer leg %s media %u: %u suites",
		    id.call, id.leg, id.media, n);
		rc = ks_reply_lines(q, w, keys, n);
	}
	explicit_bzero(keys, sizeof(keys));
	return rc;
}

static int
ks_op_select(struct keyd_sdes *ks, const struct ipc_r *q, struct ipc_w *w)
{
	struct keyd_sdes_ids	 id;
	struct keyset		*s;
	char			 err[300];
	const char		*serr, *name;
	size_t			 len;
	uint64_t		 tag;
	size_t			 node;
	unsigned		 i, params;
	int			 rc;

	if (ks_get_ids(q, &id) == -1 ||
	    ipc_get_uint(q->root, "tag", &tag) == -1 || tag > SDES_MAX_TAG ||
	    ks_get_params(q, &params) == -1 ||
	    (rc = ks_get_node(ks, q, &node)) == -1)
		return ks_bad(q, w, "bad call, leg, media, tag, session "
		    "parameter or node");
	if (rc == 1)
		return ks_fail(q, w, "unknown relay node");
	if ((s = ks_find(ks, &id)) == NULL)
		return ks_fail(q, w, "unknown key set");
	for (i = 0; i < s->nkeys; i++)
		if (s->keys[i].tag == tag)
			break;
	if (i == s->nkeys)
		return ks_fail(q, w, "unknown tag");
	/* `suite` (optional): the suite the peer named on its line must be
	 * the one offered under that tag, or the two directions would use
	 * different suites */
	if (ipc_get_str(q->root, "suite", &name, &len) == 0 &&
	    sdes_suite_by_name(name, len) != (int)s->keys[i].suite)
		return ks_fail(q, w, "suite does not match the offered tag");
	/* RFC 4568 6.3: the answer keeps the offered line's session
	 * parameters */
	if (params != sdes_params(&s->keys[i]))
		return ks_fail(q, w, "session parameters do not match the "
		    "offered tag");
	if (ks_push(ks, node, &id, "out", &s->keys[i], err,
	    sizeof(err)) == -1)
		return ks_fail(q, w, err);
	/* only the chosen key stays: the others were never used */
	if (s->nkeys > 1 && ks_store(ks, &id, s, &s->keys[i], 1, &serr) == -1)
		log_warnx("[%s] leg %s media %u: offered keys kept: %s",
		    id.call, id.leg, id.media, serr);
	for (i = 0; i < s->nkeys; i++)
		if (s->keys[i].tag == tag)
			break;
	log_info("[%s] leg %s media %u: SRTP out %s (offered tag %u)",
	    id.call, id.leg, id.media, sdes_suite_name(s->keys[i].suite),
	    s->keys[i].tag);
	ipc_w_reply(w, q->op, q->id, 1, NULL, 0);
	return 0;
}

static int
ks_op_answer(struct keyd_sdes *ks, const struct ipc_r *q, struct ipc_w *w)
{
	struct keyd_sdes_ids	 id;
	struct keyset		*s;
	struct sdes_crypto	 key;
	enum sdes_suite		 suite;
	const char		*name, *serr;
	char			 err[300];
	size_t			 len;
	uint64_t		 tag;
	size_t			 node;
	unsigned		 params;
	int			 x, rc;

	if (ks_get_ids(q, &id) == -1 ||
	    ipc_get_str(q->root, "suite", &name, &len) == -1 ||
	    ipc_get_uint(q->root, "tag", &tag) == -1 || tag > SDES_MAX_TAG ||
	    ks_get_params(q, &params) == -1 ||
	    (rc = ks_get_node(ks, q, &node)) == -1)
		return ks_bad(q, w, "bad call, leg, media, suite, tag, "
		    "session parameter or node");
	if (rc == 1)
		return ks_fail(q, w, "unknown relay node");
	if ((x = sdes_suite_by_name(name, len)) == -1)
		return ks_fail(q, w, "unsupported suite");
	suite = (enum sdes_suite)x;
	s = ks_find(ks, &id);
	if (ks_make_keys(s, &suite, 1, (uint32_t)tag, &key) == -1)
		return ks_fail(q, w, "no random numbers");
	sdes_set_params(&key, params);
	if (s == NULL && ks->nsets >= KEYD_SDES_MAX_SETS)
		rc = ks_fail(q, w, "too many key sets");
	else if (ks_push(ks, node, &id, "out", &key, err, sizeof(err)) == -1)
		rc = ks_fail(q, w, err);
	else if (ks_store(ks, &id, s, &key, 1, &serr) == -1)
		rc = ks_fail(q, w, serr);	/* relayd has it; ctld retries */
	else {
		log_info("[%s] leg %s media %u: SRTP out %s (answer, tag %u)",
		    id.call, id.leg, id.media, sdes_suite_name(suite),
		    (unsigned)tag);
		rc = ks_reply_lines(q, w, &key, 1);
	}
	explicit_bzero(&key, sizeof(key));
	return rc;
}

static int
ks_op_remote(struct keyd_sdes *ks, const struct ipc_r *q, struct ipc_w *w)
{
	struct keyd_sdes_ids	 id;
	struct sdes_crypto	 c;
	const char		*line, *unusable;
	char			 err[300], why[128];
	size_t			 len, node;
	int			 rc;

	if (ks_get_ids(q, &id) == -1 ||
	    ipc_get_str(q->root, "line", &line, &len) == -1 ||
	    (rc = ks_get_node(ks, q, &node)) == -1)
		return ks_bad(q, w, "bad call, leg, media, line or node");
	if (rc == 1)
		return ks_fail(q, w, "unknown relay node");
	/* tolerate the line end of an SDP line */
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if ((rc = sdes_parse(line, len, &c, why, sizeof(why))) != 0) {
		log_warnx("[%s] leg %s media %u: peer's crypto line refused: "
		    "%s", id.call, id.leg, id.media, why);
		return ks_fail(q, w, why);
	}
	/* what srtp_set cannot carry would make every packet fail; the
	 * session parameters of RFC 4568 6.3 go with the key */
	unusable = c.mki_len != 0 ? "MKI not supported" :
	    c.kdr > 0 ? "KDR not supported" : NULL;
	if (unusable != NULL) {
		log_warnx("[%s] leg %s media %u: peer's crypto line refused: "
		    "%s", id.call, id.leg, id.media, unusable);
		rc = ks_fail(q, w, unusable);
	} else if (ks_push(ks, node, &id, "in", &c, err, sizeof(err)) == -1)
		rc = ks_fail(q, w, err);
	else {
		log_info("[%s] leg %s media %u: SRTP in %s (peer's tag %u)%s%s"
		    "%s", id.call, id.leg, id.media, sdes_suite_name(c.suite),
		    c.tag, c.unencrypted_srtp ? " UNENCRYPTED_SRTP" : "",
		    c.unencrypted_srtcp ? " UNENCRYPTED_SRTCP" : "",
		    c.unauthenticated_srtp ? " UNAUTHENTICATED_SRTP" : "");
		ipc_w_reply(w, q->op, q->id, 1, NULL, 0);
		rc = 0;
	}
	sdes_crypto_wipe(&c);
	return rc;
}

static int
ks_op_forget(struct keyd_sdes *ks, const struct ipc_r *q, struct ipc_w *w)
{
	char		 call[KEYD_SDES_CALLLEN], leg[KEYD_SDES_LEGLEN];
	struct keyset	**pp, *s;
	unsigned	 n = 0;
	int		 anyleg;

	if (ipc_get_strz(q->root, "call", call, sizeof(call)) == -1 ||
	    call[0] == '\0')
		return ks_bad(q, w, "bad call");
	anyleg = ipc_get(q->root, "leg") == NULL;
	if (!anyleg && (ipc_get_strz(q->root, "leg", leg, sizeof(leg)) == -1 ||
	    leg[0] == '\0'))
		return ks_bad(q, w, "bad leg");
	for (pp = ks_bucket(ks, call); (s = *pp) != NULL;) {
		if (strcmp(s->call, call) == 0 &&
		    (anyleg || strcmp(s->leg, leg) == 0)) {
			*pp = s->next;
			ks->nsets--;
			ks_set_free(s);
			n++;
		} else
			pp = &s->next;
	}
	if (n > 0)
		log_info("[%s] %u SDES key sets wiped", call, n);
	ipc_w_reply(w, q->op, q->id, 1, NULL, 0);
	return 0;
}

/* ---- the service ----------------------------------------------------- */

struct keyd_sdes *
keyd_sdes_new_nodes(const struct node_addr *nodes, size_t n, int timeout_ms,
    const struct keyd_kek *kek)
{
	struct keyd_sdes	*ks;
	size_t			 i;

	if (kek == NULL || n == 0 || n > NODES_MAX ||
	    (ks = calloc(1, sizeof(*ks))) == NULL)
		return NULL;
	ks->kek = kek;
	ks->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	if (RAND_bytes(ks->hkey, sizeof(ks->hkey)) != 1) {
		keyd_sdes_destroy(&ks);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		memcpy(ks->nodes[i].id, nodes[i].id, sizeof(nodes[i].id));
		ks->nodes[i].id[sizeof(ks->nodes[i].id) - 1] = '\0';
		if ((ks->nodes[i].relayd = ipc_client_new(nodes[i].ctl)) ==
		    NULL) {
			keyd_sdes_destroy(&ks);
			return NULL;
		}
		ks->nnodes++;
	}
	return ks;
}

struct keyd_sdes *
keyd_sdes_new(const char *relayd_ctl, int timeout_ms,
    const struct keyd_kek *kek)
{
	struct node_addr	 a;

	memset(&a, 0, sizeof(a));
	if (strlen(relayd_ctl) >= sizeof(a.ctl))
		return NULL;
	strcpy(a.ctl, relayd_ctl);
	return keyd_sdes_new_nodes(&a, 1, timeout_ms, kek);
}

size_t
keyd_sdes_nodes(const struct keyd_sdes *ks)
{
	return ks->nnodes;
}

const char *
keyd_sdes_node_id(const struct keyd_sdes *ks, size_t i)
{
	return ks->nodes[i].id;
}

void
keyd_sdes_destroy(struct keyd_sdes **sp)
{
	struct keyd_sdes	*ks = *sp;
	struct keyset		*s, *next;
	size_t			 i;

	if (ks == NULL)
		return;
	for (i = 0; i < KEYD_SDES_BUCKETS; i++)
		for (s = ks->tab[i]; s != NULL; s = next) {
			next = s->next;
			ks_set_free(s);
		}
	for (i = 0; i < ks->nnodes; i++)
		ipc_client_destroy(&ks->nodes[i].relayd);
	explicit_bzero(ks, sizeof(*ks));
	free(ks);
	*sp = NULL;
}

void
keyd_sdes_set_timeout(struct keyd_sdes *ks, int timeout_ms)
{
	if (timeout_ms > 0)
		ks->timeout_ms = timeout_ms;
}

size_t
keyd_sdes_count(const struct keyd_sdes *ks)
{
	return ks->nsets;
}

int
keyd_sdes_request(struct keyd_sdes *ks, const struct ipc_r *q,
    struct ipc_w *w)
{
	ipc_w_secret(w);
	switch (q->op) {
	case IPC_OP_SDES_OFFER:
		return ks_op_offer(ks, q, w);
	case IPC_OP_SDES_SELECT:
		return ks_op_select(ks, q, w);
	case IPC_OP_SDES_ANSWER:
		return ks_op_answer(ks, q, w);
	case IPC_OP_SDES_REMOTE:
		return ks_op_remote(ks, q, w);
	case IPC_OP_SDES_FORGET:
		return ks_op_forget(ks, q, w);
	default:
		ipc_w_reply(w, q->op, q->id, 0, "unknown op", 0);
		return 0;
	}
}

/* ---- batches ---------------------------------------------------------- */

void
keyd_sdes_batch_begin(struct keyd_sdes *ks)
{
	size_t	 i;

	ks->batching = 1;
	ks->npend = 0;
	ks->req = 0;
	for (i = 0; i < ks->nnodes; i++)
		ks->nodes[i].unsent = 0;
}

void
keyd_sdes_batch_req(struct keyd_sdes *ks, size_t req)
{
	ks->req = req;
}

/* Least wait for a node's replies once the batch's deadline passed:
 * replies that came while keyd waited for another node are queued, and
 * reading them takes far less; 0 would not read them at all. */
#define KS_WAIT_QUEUED_MS	10

size_t
keyd_sdes_batch_end(struct keyd_sdes *ks, void (*failed)(void *, size_t req,
    const char *err), void *arg)
{
	struct ipc_r	 r[KEYD_SDES_BATCH_PUSHES];
	uint64_t	 ids[KEYD_SDES_BATCH_PUSHES];
	size_t		 at[KEYD_SDES_BATCH_PUSHES];
	struct ks_pending *p;
	char		 err[300];
	size_t		 i, k, m, nfail = 0;
	int64_t		 deadline, left;

	ks->batching = 0;
	if (ks->npend == 0)
		return 0;
	/* one wait per node pushed to, all within one deadline: a dead
	 * node costs the batch one deadline, not one per node */
	deadline = zclock_mono() + ks->timeout_ms;
	for (k = 0; k < ks->nnodes; k++) {
		for (i = m = 0; i < ks->npend; i++)
			if (ks->pend[i].node == k) {
				at[m] = i;
				ids[m++] = ks->pend[i].rid;
			}
		if (m == 0)
			continue;
		left = deadline - zclock_mono();
		(void)ipc_client_wait(ks->nodes[k].relayd, ids, m,
		    left > KS_WAIT_QUEUED_MS ? (int)left : KS_WAIT_QUEUED_MS,
		    r);
		for (i = 0; i < m; i++) {
			p = &ks->pend[at[i]];
			if (r[i].root == NULL) {
				log_warnx("[%s] srtp_set to relay node %s: %s",
				    p->id.call, ks_node_name(ks, k),
				    r[i].error);
				snprintf(err, sizeof(err),
				    "relayd unavailable");
			} else if (!r[i].ok) {
				log_warnx("[%s] srtp_set leg %s media %u %s "
				    "refused by relay node %s: %s", p->id.call,
				    p->id.leg, p->id.media, p->dir,
				    ks_node_name(ks, k), r[i].error);
				snprintf(err, sizeof(err), "relayd: %s",
				    r[i].error);
			} else {
				ipc_r_free(&r[i]);
				continue;
			}
			nfail++;
			failed(arg, p->req, err);
			ipc_r_free(&r[i]);
		}
	}
	ks->npend = 0;
	return nfail;
}
