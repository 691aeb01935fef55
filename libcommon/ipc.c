/*
 * ipc: ZeroMQ + msgpack messages between rtpsec daemons, see ipc.h and
 * docs/ipc.md.
 *
 * Invariants: a parsed message is exactly one msgpack map with v == 1, a
 * known op and an unsigned id; no trailing bytes.  Sends never block: a
 * peer that is down or slow loses the message (ZMQ_DONTWAIT), and the
 * caller's deadline turns that into an error instead of a hang.
 */
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipc.h"
#include "libcommon/log.h"

#define IPC_OP_NAME(e, s)	s,
static const char *const ipc_op_names[] = { IPC_OPS(IPC_OP_NAME) };

const char *
ipc_op_name(enum ipc_op op)
{
	if (op >= IPC_OP_COUNT)
		return "unknown";
	return ipc_op_names[op];
}

enum ipc_op
ipc_op_lookup(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < IPC_OP_COUNT; i++)
		if (strlen(ipc_op_names[i]) == len &&
		    memcmp(ipc_op_names[i], s, len) == 0)
			return (enum ipc_op)i;
	return IPC_OP_UNKNOWN;
}

/* ---- writing --------------------------------------------------------- */

void
ipc_w_init(struct ipc_w *w)
{
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}

void
ipc_w_free(struct ipc_w *w)
{
	if (w->sb.data != NULL)
		explicit_bzero(w->sb.data, w->sb.alloc);
	msgpack_sbuffer_destroy(&w->sb);
	memset(w, 0, sizeof(*w));
}

/* msgpack_sbuffer_write() without realloc(): a grown buffer leaves no
 * copy of what it held. */
static int
ipc_sbuffer_write_secret(void *data, const char *buf, size_t len)
{
	msgpack_sbuffer	*sb = data;
	char		*p;
	size_t		 n;

	if (len == 0)
		return 0;
	if (sb->alloc - sb->size < len) {
		n = sb->alloc ? sb->alloc * 2 : MSGPACK_SBUFFER_INIT_SIZE;
		while (n < sb->size + len) {
			if (n * 2 <= n)
				return -1;
			n *= 2;
		}
		if ((p = malloc(n)) == NULL)
			return -1;
		if (sb->size > 0)
			memcpy(p, sb->data, sb->size);
		if (sb->data != NULL) {
			explicit_bzero(sb->data, sb->alloc);
			free(sb->data);
		}
		sb->data = p;
		sb->alloc = n;
	}
	memcpy(sb->data + sb->size, buf, len);
	sb->size += len;
	return 0;
}

void
ipc_w_secret(struct ipc_w *w)
{
	msgpack_packer_init(&w->pk, &w->sb, ipc_sbuffer_write_secret);
}

void
ipc_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void
ipc_pack_str(msgpack_packer *pk, const char *s)
{
	ipc_pack_strn(pk, s, strlen(s));
}

void
ipc_w_key(struct ipc_w *w, const char *key)
{
	ipc_pack_str(&w->pk, key);
}

static void
ipc_w_header(struct ipc_w *w, enum ipc_op op, uint64_t id, size_t n)
{
	msgpack_pack_map(&w->pk, n);
	ipc_w_uint(w, "v", IPC_VERSION);
	ipc_w_str(w, "op", ipc_op_name(op));
	ipc_w_uint(w, "id", id);
}

void
ipc_w_begin(struct ipc_w *w, enum ipc_op op, uint64_t id, size_t nfields)
{
	ipc_w_header(w, op, id, nfields + 3);
}

void
ipc_w_reply(struct ipc_w *w, enum ipc_op op, uint64_t id, int ok,
    const char *error, size_t nfields)
{
	ipc_w_header(w, op, id, nfields + 4 + (ok ? 0 : 1));
	ipc_w_bool(w, "ok", ok);
	if (!ok)
		ipc_w_str(w, "error", error ? error : "failed");
}

void
ipc_w_str(struct ipc_w *w, const char *key, const char *s)
{
	ipc_w_key(w, key);
	ipc_pack_str(&w->pk, s);
}

void
ipc_w_strn(struct ipc_w *w, const char *key, const char *s, size_t len)
{
	ipc_w_key(w, key);
	ipc_pack_strn(&w->pk, s, len);
}

void
ipc_w_bin(struct ipc_w *w, const char *key, const void *p, size_t len)
{
	ipc_w_key(w, key);
	msgpack_pack_bin(&w->pk, len);
	msgpack_pack_bin_body(&w->pk, p, len);
}

void
ipc_w_int(struct ipc_w *w, const char *key, int64_t v)
{
	ipc_w_key(w, key);
	msgpack_pack_int64(&w->pk, v);
}

void
ipc_w_uint(struct ipc_w *w, const char *key, uint64_t v)
{
	ipc_w_key(w, key);
	msgpack_pack_uint64(&w->pk, v);
}

void
ipc_w_bool(struct ipc_w *w, const char *key, int v)
{
	ipc_w_key(w, key);
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
}

/* ---- reading --------------------------------------------------------- */

const msgpack_object *
ipc_get(const msgpack_object *map, const char *key)
{
	size_t	 klen = strlen(key);
	uint32_t i;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR &&
		    k->via.str.size == klen &&
		    memcmp(k->via.str.ptr, key, klen) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

int
ipc_obj_str(const msgpack_object *o, const char **s, size_t *len)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return -1;
	*s = o->via.str.ptr;
	*len = o->via.str.size;
	return 0;
}

int
ipc_obj_uint(const msgpack_object *o, uint64_t *v)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

int
ipc_get_str(const msgpack_object *map, const char *key, const char **s,
    size_t *len)
{
	return ipc_obj_str(ipc_get(map, key), s, len);
}

int
ipc_get_strz(const msgpack_object *map, const char *key, char *dst,
    size_t dstlen)
{
	const char	*s;
	size_t		 len;

	if (ipc_get_str(map, key, &s, &len) == -1 || len >= dstlen ||
	    memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int
ipc_get_bin(const msgpack_object *map, const char *key, const void **p,
    size_t *len)
{
	const msgpack_object *o = ipc_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BIN)
		return -1;
	*p = o->via.bin.ptr;
	*len = o->via.bin.size;
	return 0;
}

int
ipc_get_int(const msgpack_object *map, const char *key, int64_t *v)
{
	const msgpack_object *o = ipc_get(map, key);

	if (o == NULL)
		return -1;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return 0;
	}
	return -1;
}

int
ipc_get_uint(const msgpack_object *map, const char *key, uint64_t *v)
{
	return ipc_obj_uint(ipc_get(map, key), v);
}

int
ipc_get_bool(const msgpack_object *map, const char *key, int *v)
{
	const msgpack_object *o = ipc_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*v = o->via.boolean;
	return 0;
}

const msgpack_object_array *
ipc_get_array(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = ipc_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY)
		return NULL;
	return &o->via.array;
}

const msgpack_object *
ipc_get_map(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = ipc_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	return o;
}

/* The big-endian unsigned integer of k bytes at p. */
static size_t
ipc_be(const uint8_t *p, size_t k)
{
	size_t	 v = 0;

	while (k-- > 0)
		v = v << 8 | *p++;
	return v;
}

/*
 * Checks the framing of one msgpack object before msgpack-c sees it (see
 * ipc.h).
 * msgpack-c allocates the entries of an array or map before it reads
 * them, so a 5-byte header that claims 4G entries costs a 128 GB
 * allocation.  Every entry takes at least one byte, so the entries still
 * expected can never outnumber the bytes left: a count beyond that is
 * refused here, which bounds what msgpack-c allocates by the message
 * size.  Returns 0 (trailing bytes are left to the caller), or -1 (a
 * reserved type byte, a length past the end, truncated).
 */
int
ipc_framing_ok(const uint8_t *p, size_t len)
{
	size_t	 i = 0, pending = 1, n, skip, k;
	uint8_t	 t;

	while (i < len) {
		if (pending == 0)
			return 0;	/* trailing data: the caller says so */
		pending--;
		t = p[i++];
		n = skip = k = 0;
		if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 ||
		    t == 0xc3)
			continue;
		if ((t & 0xf0) == 0x80)
			n = 2 * (size_t)(t & 0x0f);
		else if ((t & 0xf0) == 0x90)
			n = t & 0x0f;
		else if ((t & 0xe0) == 0xa0)
			skip = t & 0x1f;
		else {
			switch (t) {
			case 0xc4: case 0xd9: k = 1; break;	/* bin8, str8 */
			case 0xc5: case 0xda: k = 2; break;
			case 0xc6: case 0xdb: k = 4; break;
			case 0xc7: k = 1; skip = 1; break;	/* ext: + type */
			case 0xc8: k = 2; skip = 1; break;
			case 0xc9: k = 4; skip = 1; break;
			case 0xca: skip = 4; break;		/* float */
			case 0xcb: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;	/* ints */
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xd4: skip = 2; break;		/* fixext */
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: case 0xdd: case 0xde: case 0xdf:
				k = (t & 1) ? 4 : 2;	/* array, map */
				if (len - i < k)
					return -1;
				n = ipc_be(p + i, k) * (t >= 0xde ? 2 : 1);
				i += k;
				k = 0;
				break;
			default:
				return -1;	/* 0xc1, never used */
			}
			if (k != 0) {	/* a length field, then that many bytes */
				if (len - i < k)
					return -1;
				skip += ipc_be(p + i, k);
				i += k;
			}
		}
		if (skip > len - i)
			return -1;
		i += skip;
		pending += n;
		if (pending > len - i)
			return -1;
	}
	return pending == 0 ? 0 : -1;
}

int
ipc_r_parse(struct ipc_r *r, const void *data, size_t len)
{
	size_t		 off = 0;
	uint64_t	 v;
	const char	*s;
	size_t		 slen;

	memset(r, 0, sizeof(*r));
	msgpack_unpacked_init(&r->u);
	r->op = IPC_OP_UNKNOWN;
	if (len == 0 || (r->copy = malloc(len)) == NULL) {
		snprintf(r->error, sizeof(r->error), len ? "out of memory" :
		    "empty message");
		return -1;
	}
	memcpy(r->copy, data, len);
	r->copylen = len;
	if (ipc_framing_ok((const uint8_t *)r->copy, len) == -1 ||
	    msgpack_unpack_next(&r->u, r->copy, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS) {
		snprintf(r->error, sizeof(r->error), "not msgpack");
		return -1;
	}
	if (off != len) {
		snprintf(r->error, sizeof(r->error), "trailing data");
		return -1;
	}
	if (r->u.data.type != MSGPACK_OBJECT_MAP) {
		snprintf(r->error, sizeof(r->error), "not a map");
		return -1;
	}
	r->root = &r->u.data;
	/* the id first, so that later failures can still be answered */
	if (ipc_get_uint(r->root, "id", &r->id) == -1) {
		snprintf(r->error, sizeof(r->error), "missing id");
		return -1;
	}
	if (ipc_get_uint(r->root, "v", &v) == -1 || v != IPC_VERSION) {
		snprintf(r->error, sizeof(r->error), "bad version");
		return -1;
	}
	if (ipc_get_str(r->root, "op", &s, &slen) == -1) {
		snprintf(r->error, sizeof(r->error), "missing op");
		return -1;
	}
	if ((r->op = ipc_op_lookup(s, slen)) == IPC_OP_UNKNOWN) {
		snprintf(r->error, sizeof(r->error), "unknown op");
		return -1;
	}
	if (ipc_get(r->root, "ok") != NULL) {
		if (ipc_get_bool(r->root, "ok", &r->ok) == -1) {
			snprintf(r->error, sizeof(r->error), "bad ok");
			return -1;
		}
		r->is_reply = 1;
		if (!r->ok && ipc_get_strz(r->root, "error", r->error,
		    sizeof(r->error)) == -1)
			snprintf(r->error, sizeof(r->error), "failed");
	}
	return 0;
}

void
ipc_r_free(struct ipc_r *r)
{
	msgpack_unpacked_destroy(&r->u);
	msgpack_unpacked_init(&r->u);
	r->root = NULL;
	if (r->copy != NULL)
		explicit_bzero(r->copy, r->copylen);
	free(r->copy);
	r->copy = NULL;
	r->copylen = 0;
}

/* ---- transport ------------------------------------------------------- */

zsock_t *
ipc_bind(int type, const char *endpoint)
{
	zsock_t	*s;

	if ((s = zsock_new(type)) == NULL) {
		log_warnx("ipc: cannot create socket for %s", endpoint);
		return NULL;
	}
	zsock_set_linger(s, 0);
	zsock_set_sndhwm(s, 10000);
	zsock_set_rcvhwm(s, 10000);
	zsock_set_maxmsgsize(s, 16 * 1024 * 1024);
	if (zsock_bind(s, "%s", endpoint) == -1) {
		log_warn("ipc: bind %s", endpoint);
		zsock_destroy(&s);
		return NULL;
	}
	return s;
}

int
ipc_router_recv(zsock_t *router, zframe_t **identity, zframe_t **msg)
{
	zmsg_t	*m;

	*identity = *msg = NULL;
	if ((m = zmsg_recv(router)) == NULL)
		return -1;
	if (zmsg_size(m) != 2) {
		zmsg_destroy(&m);
		return -1;
	}
	*identity = zmsg_pop(m);
	*msg = zmsg_pop(m);
	zmsg_destroy(&m);
	return 0;
}

static int
ipc_send_parts(zsock_t *s, zframe_t *first, const struct ipc_w *w)
{
	void	*h = zsock_resolve(s);

	if (first != NULL && zmq_send(h, zframe_data(first),
	    zframe_size(first), ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
		return -1;
	if (zmq_send(h, w->sb.data, w->sb.size, ZMQ_DONTWAIT) == -1)
		return -1;
	return 0;
}

int
ipc_router_send(zsock_t *router, zframe_t *identity, const struct ipc_w *w)
{
	return ipc_send_parts(router, identity, w);
}

int
ipc_pub_send(zsock_t *pub, const struct ipc_w *w)
{
	return ipc_send_parts(pub, NULL, w);
}

zsock_t *
ipc_sub(const char *endpoint)
{
	zsock_t	*s;

	if ((s = zsock_new(ZMQ_SUB)) == NULL)
		return NULL;
	zsock_set_linger(s, 0);
	zsock_set_rcvhwm(s, 10000);
	zsock_set_maxmsgsize(s, 16 * 1024 * 1024);
	zsock_set_subscribe(s, "");
	if (zsock_connect(s, "%s", endpoint) == -1) {
		log_warnx("ipc: connect %s failed", endpoint);
		zsock_destroy(&s);
		return NULL;
	}
	return s;
}

struct ipc_client {
	zsock_t		*dealer;
	uint64_t	 next_id;
	char		 endpoint[256];
};

static zsock_t *
ipc_client_socket(const char *endpoint)
{
	zsock_t	*s;

	if ((s = zsock_new(ZMQ_DEALER)) == NULL)
		return NULL;
	zsock_set_linger(s, 0);
	zsock_set_immediate(s, 1);
	zsock_set_maxmsgsize(s, 16 * 1024 * 1024);
	if (zsock_connect(s, "%s", endpoint) == -1) {
		zsock_destroy(&s);
		return NULL;
	}
	return s;
}

struct ipc_client *
ipc_client_new(const char *endpoint)
{
	struct ipc_client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (strlen(endpoint) >= sizeof(c->endpoint) ||
	    (c->dealer = ipc_client_socket(endpoint)) == NULL) {
		free(c);
		return NULL;
	}
	strcpy(c->endpoint, endpoint);
	/* ids from a random start, so that replies meant for an earlier
	 * incarnation of this process are not taken for ours */
	c->next_id = ((uint64_t)randof(1 << 30) << 20) + 1;
	return c;
}

void
ipc_client_destroy(struct ipc_client **cp)
{
	if (*cp == NULL)
		return;
	zsock_destroy(&(*cp)->dealer);
	free(*cp);
	*cp = NULL;
}

uint64_t
ipc_client_next_id(struct ipc_client *c)
{
	return c->next_id++;
}

int
ipc_client_call(struct ipc_client *c, const struct ipc_w *w, uint64_t id,
    int timeout_ms, struct ipc_r *r)
{
	const struct ipc_w	*ws[1] = { w };

	return ipc_client_call_many(c, ws, &id, 1, timeout_ms, r);
}

/* The client's socket, (re)created if needed; NULL if it cannot be. */
static void *
ipc_client_handle(struct ipc_client *c)
{
	if (c->dealer == NULL &&
	    (c->dealer = ipc_client_socket(c->endpoint)) == NULL)
		return NULL;
	return zsock_resolve(c->dealer);
}

/*
 * Sends w[0..n) without waiting for replies.  With ZMQ_IMMEDIATE a send
 * fails with EAGAIN until the connection is up (just created, or the peer
 * is restarting): it is retried until the deadline rather than failing a
 * request that would succeed 1 ms later.  Returns how many went out (in
 * order); r[i].error says why the others did not.
 */
static size_t
ipc_client_send_n(struct ipc_client *c, const struct ipc_w *const *w,
    size_t n, int64_t deadline, struct ipc_r *r)
{
	void	*h;
	size_t	 i, sent;

	if ((h = ipc_client_handle(c)) == NULL) {
		for (i = 0; i < n; i++)
			snprintf(r[i].error, sizeof(r[i].error),
			    "no socket for %.200s", c->endpoint);
		return 0;
	}
	for (sent = 0; sent < n; sent++)
		while (zmq_send(h, w[sent]->sb.data, w[sent]->sb.size,
		    ZMQ_DONTWAIT) == -1) {
			if ((zmq_errno() != EAGAIN && zmq_errno() != EINTR) ||
			    zclock_mono() >= deadline) {
				for (i = sent; i < n; i++)
					snprintf(r[i].error, sizeof(r[i].error),
					    "peer unavailable: %s",
					    zmq_strerror(zmq_errno()));
				return sent;
			}
			zclock_sleep(2);
		}
	return sent;
}

static void
ipc_msg_wipe_close(zmq_msg_t *m)
{
	explicit_bzero(zmq_msg_data(m), zmq_msg_size(m));
	zmq_msg_close(m);
}

/*
 * Collects the replies to id[0..n) into r[0..n) until the deadline;
 * replies to anything else are dropped.  Returns how many arrived.
 */
static size_t
ipc_client_wait_n(struct ipc_client *c, const uint64_t *id, size_t n,
    int64_t deadline, struct ipc_r *r)
{
	void	*h;
	size_t	 i, got = 0;

	if ((h = ipc_client_handle(c)) == NULL)
		return 0;
	while (got < n) {
		int64_t		 left = deadline - zclock_mono();
		zmq_pollitem_t	 pi = { h, 0, ZMQ_POLLIN, 0 };
		zmq_msg_t	 m;
		struct ipc_r	 t;
		int		 k;

		/* left 0: what is already there (ipc_client_poll) */
		if (left < 0)
			break;
		k = zmq_poll(&pi, 1, (long)left);
		if (k == -1 && zmq_errno() == EINTR)
			continue;
		if (k <= 0)
			break;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, h, ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&m);
			continue;
		}
		/* a multipart reply is not ours: drain its parts */
		if (zmq_msg_more(&m)) {
			ipc_msg_wipe_close(&m);
			continue;
		}
		k = ipc_r_parse(&t, zmq_msg_data(&m), zmq_msg_size(&m));
		/* parsed into t's own copy; a reply may carry keys (keyd's
		 * crypto lines) */
		ipc_msg_wipe_close(&m);
		for (i = 0; k == 0 && t.is_reply && i < n; i++)
			if (t.id == id[i] && r[i].root == NULL)
				break;
		if (k == -1 || !t.is_reply || i == n) {
			ipc_r_free(&t);
			continue;	/* stale or malformed: drop */
		}
		ipc_r_free(&r[i]);
		r[i] = t;
		r[i].root = &r[i].u.data;
		got++;
	}
	return got;
}

/* After a wait that timed out: a late reply would sit in the queue; a new
 * socket drops it and re-establishes the connection to a restarted peer. */
static void
ipc_client_reset(struct ipc_client *c)
{
	zsock_destroy(&c->dealer);
	c->dealer = ipc_client_socket(c->endpoint);
	if (c->dealer == NULL)
		log_warnx("ipc: cannot recreate client for %s", c->endpoint);
}

static void
ipc_client_r_init(struct ipc_r *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		msgpack_unpacked_init(&r[i].u);
	}
}

/* Replies still missing at the deadline say so. */
static void
ipc_client_r_timeout(struct ipc_r *r, size_t n, int timeout_ms)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (r[i].root == NULL && r[i].error[0] == '\0')
			snprintf(r[i].error, sizeof(r[i].error),
			    "timeout after %d ms", timeout_ms);
}

/*
 * All requests go out before the first reply is read: the peer's ROUTER
 * hands them to its loop in order, so n requests cost one round trip of
 * thread hand-offs instead of n.
 */
int
ipc_client_call_many(struct ipc_client *c, const struct ipc_w *const *w,
    const uint64_t *id, size_t n, int timeout_ms, struct ipc_r *r)
{
	int64_t	 deadline = zclock_mono() + timeout_ms;
	size_t	 sent, got;

	ipc_client_r_init(r, n);
	if ((sent = ipc_client_send_n(c, w, n, deadline, r)) == 0)
		return -1;
	got = ipc_client_wait_n(c, id, sent, deadline, r);
	if (got == n)
		return 0;
	ipc_client_r_timeout(r, n, timeout_ms);
	if (got < sent)
		ipc_client_reset(c);
	return -1;
}

int
ipc_client_send(struct ipc_client *c, const struct ipc_w *w, int timeout_ms,
    char *err, size_t errlen)
{
	const struct ipc_w	*ws[1] = { w };
	struct ipc_r		 r;

	ipc_client_r_init(&r, 1);
	if (ipc_client_send_n(c, ws, 1, zclock_mono() + timeout_ms,
	    &r) == 1)
		return 0;
	snprintf(err, errlen, "%s", r.error);
	return -1;
}

int
ipc_client_poll(struct ipc_client *c, uint64_t id, struct ipc_r *r)
{
	ipc_client_r_init(r, 1);
	if (ipc_client_wait_n(c, &id, 1, zclock_mono(), r) == 1)
		return 0;
	snprintf(r->error, sizeof(r->error), "no reply yet");
	return -1;
}

int
ipc_client_wait(struct ipc_client *c, const uint64_t *id, size_t n,
    int timeout_ms, struct ipc_r *r)
{
	size_t	 got;

	ipc_client_r_init(r, n);
	got = ipc_client_wait_n(c, id, n, zclock_mono() + timeout_ms, r);
	if (got == n)
		return 0;
	ipc_client_r_timeout(r, n, timeout_ms);
	ipc_client_reset(c);
	return -1;
}
