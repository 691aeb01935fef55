/*
 * ipc: the ZeroMQ + msgpack contract between rtpsec daemons (docs/ipc.md).
 *
 * Every message is one msgpack map holding "v" (IPC_VERSION), "op" (a name
 * from IPC_OPS), "id" (request/reply correlation) and the op's fields.
 * Replies repeat "op" and "id" and add "ok" (bool) and, on failure, "error"
 * (a human-readable reason).  Requests go from a DEALER (struct ipc_client)
 * to a ROUTER; counters and events go out on each daemon's PUB socket.
 *
 * Reading is strict: one map, no trailing bytes, the header fields present
 * with the right types; ipc_get_*() check the type of every field they
 * return.  A message that fails is dropped and counted by the receiver,
 * never fatal: peers restart independently.
 *
 * The ZeroMQ context must be created after any fork, and czmq must not own
 * the signals (daemon_start() calls zsys_handler_set(NULL)).
 */
#ifndef RTPSEC_IPC_H
#define RTPSEC_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>
#include <msgpack.h>

#define IPC_VERSION	1

/*
 * X(ENUM, "name"): every op, once.  Fields of each op are in docs/ipc.md
 * and next to its encoder/decoder.
 */
#define IPC_OPS(X)							\
	X(PING, "ping")		/* any ROUTER: liveness, daemon info */	\
	X(LEG_ALLOC, "leg_alloc")	/* ctld -> relayd: ports for a leg */	\
	X(LEG_UPDATE, "leg_update")	/* ctld -> relayd: endpoints, peer */	\
	X(CALL_DELETE, "call_delete")	/* ctld -> relayd: free a call/leg */	\
	X(CALL_QUERY, "call_query")	/* ctld -> relayd: per-stream stats */	\
	X(CALL_LIST, "call_list")	/* ctld -> relayd: calls it holds */	\
	X(SRTP_SET, "srtp_set")	/* ctld/keyd -> relayd: SRTP keys */	\
	X(SDES_OFFER, "sdes_offer")	/* ctld -> keyd: our a=crypto lines */	\
	X(SDES_SELECT, "sdes_select")	/* ctld -> keyd: the line peer chose */ \
	X(SDES_ANSWER, "sdes_answer")	/* ctld -> keyd: our answer's line */	\
	X(SDES_REMOTE, "sdes_remote")	/* ctld -> keyd: the peer's key */	\
	X(SDES_FORGET, "sdes_forget")	/* ctld -> keyd: wipe a call's keys */	\
	X(SRTP_UNWRAP, "srtp_unwrap")	/* relayd -> keyd: a stored key */ \
	X(NODE_ADOPT, "node_adopt")	/* ctld -> relayd: a dead node's calls */ \
	X(NG, "ng")		/* client -> ctld: an ng command */	\
	X(STATS, "stats")	/* PUB: cumulative counters */		\
	X(EVENT, "event")	/* PUB: call events (timeout, ...) */

#define IPC_OP_ENUM(e, s)	IPC_OP_##e,
enum ipc_op {
	IPC_OPS(IPC_OP_ENUM)
	IPC_OP_COUNT,
	IPC_OP_UNKNOWN = IPC_OP_COUNT
};

const char	*ipc_op_name(enum ipc_op);
enum ipc_op	 ipc_op_lookup(const char *, size_t);

/* ---- writing --------------------------------------------------------- */

struct ipc_w {
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;	/* for nested arrays/maps: msgpack_pack_*() */
};

void	ipc_w_init(struct ipc_w *);
void	ipc_w_free(struct ipc_w *);	/* wipes the bytes before freeing */
/* For a message that will hold keys: from now on, growing the buffer
 * wipes the old memory before freeing it (buf_secret()'s counterpart),
 * so ipc_w_free() reaches every byte it ever held. */
void	ipc_w_secret(struct ipc_w *);
/* A request or PUB message: a map of nfields + 3 entries (v, op, id). */
void	ipc_w_begin(struct ipc_w *, enum ipc_op, uint64_t id, size_t nfields);
/* A reply: nfields + 4 entries (v, op, id, ok), + 1 with an error. */
void	ipc_w_reply(struct ipc_w *, enum ipc_op, uint64_t id, int ok,
	    const char *error, size_t nfields);
/* One key and its value. */
void	ipc_w_str(struct ipc_w *, const char *key, const char *);
void	ipc_w_strn(struct ipc_w *, const char *key, const char *, size_t);
void	ipc_w_bin(struct ipc_w *, const char *key, const void *, size_t);
void	ipc_w_int(struct ipc_w *, const char *key, int64_t);
void	ipc_w_uint(struct ipc_w *, const char *key, uint64_t);
void	ipc_w_bool(struct ipc_w *, const char *key, int);
/* Only the key: the caller packs the value with msgpack_pack_*(&w->pk). */
void	ipc_w_key(struct ipc_w *, const char *key);
/* A bare string value (inside arrays/maps the caller builds). */
void	ipc_pack_str(msgpack_packer *, const char *);
void	ipc_pack_strn(msgpack_packer *, const char *, size_t);

/* ---- reading --------------------------------------------------------- */

struct ipc_r {
	msgpack_unpacked	 u;
	const msgpack_object	*root;	/* the map */
	enum ipc_op		 op;
	uint64_t		 id;
	int			 is_reply;	/* has "ok" */
	int			 ok;
	char			 error[256];	/* reply's error, or why parse failed */
	char			*copy;		/* owned copy of the message: the
						   parsed strings point into it, so
						   r outlives the transport buffer;
						   wiped when freed (it may hold
						   keys) */
	size_t			 copylen;
};

/* Returns 0, or -1 with the reason in r->error.  r must be freed either way.
 * The message is copied first, so data may be released right after. */
int	ipc_r_parse(struct ipc_r *, const void *data, size_t len);
/* 0 when data starts with one well-framed msgpack object whose array and
 * map counts fit the bytes that follow (msgpack-c allocates the entries
 * before it reads them); -1 otherwise.  ipc_r_parse() calls it; so must
 * any other reader of untrusted msgpack. */
int	ipc_framing_ok(const uint8_t *data, size_t len);
/* Wipes the copy of the message (explicit_bzero) and frees it. */
void	ipc_r_free(struct ipc_r *);

/* Lookups in a map object; each returns -1 (or NULL) when the key is absent
 * or its value has another type. */
const msgpack_object	*ipc_get(const msgpack_object *map, const char *key);
int	ipc_get_str(const msgpack_object *, const char *key, const char **,
	    size_t *);
/* Copies a string into dst (NUL-terminated); -1 if absent, wrong type,
 * too long or containing a NUL byte. */
int	ipc_get_strz(const msgpack_object *, const char *key, char *dst,
	    size_t dstlen);
int	ipc_get_bin(const msgpack_object *, const char *key, const void **,
	    size_t *);
int	ipc_get_int(const msgpack_object *, const char *key, int64_t *);
int	ipc_get_uint(const msgpack_object *, const char *key, uint64_t *);
int	ipc_get_bool(const msgpack_object *, const char *key, int *);
const msgpack_object_array *ipc_get_array(const msgpack_object *,
	    const char *key);
const msgpack_object	*ipc_get_map(const msgpack_object *, const char *key);
/* Object (not map member) helpers for array elements. */
int	ipc_obj_str(const msgpack_object *, const char **, size_t *);
int	ipc_obj_uint(const msgpack_object *, uint64_t *);

/* ---- transport ------------------------------------------------------- */

/* A bound socket (ROUTER or PUB); NULL on failure (logged). */
zsock_t	*ipc_bind(int type, const char *endpoint);

/* Receives one request on a ROUTER: *identity is the sender's routing frame
 * (owned by the caller), *msg the payload.  Returns 0, or -1 when the
 * message had the wrong shape (dropped; counted by the caller). */
int	ipc_router_recv(zsock_t *, zframe_t **identity, zframe_t **msg);
/* Sends w back to identity (not consumed). 0 or -1. Never blocks. */
int	ipc_router_send(zsock_t *, zframe_t *identity, const struct ipc_w *);
/* Publishes w on a PUB socket.  Never blocks. */
int	ipc_pub_send(zsock_t *, const struct ipc_w *);

/*
 * A request client: a DEALER with ZMQ_IMMEDIATE and linger 0, so a request
 * to a daemon that is down fails at once or times out; it is never queued
 * to be delivered later.  Replies are matched by id; stale ones are dropped.
 */
struct ipc_client;

struct ipc_client *ipc_client_new(const char *endpoint);
void	ipc_client_destroy(struct ipc_client **);
uint64_t ipc_client_next_id(struct ipc_client *);
/* Sends w (begun with the id from ipc_client_next_id()) and waits up to
 * timeout_ms for its reply.  Returns 0 with *r parsed (check r->ok), or -1
 * (timeout, peer down, malformed reply: reason in r->error).  *r must be
 * freed with ipc_r_free() either way. */
int	ipc_client_call(struct ipc_client *, const struct ipc_w *, uint64_t id,
	    int timeout_ms, struct ipc_r *r);
/* Sends n requests at once (each begun with its own id) and waits up to
 * timeout_ms in all for their replies, r[i] for w[i].  Returns 0 when
 * every reply came (check each r[i].ok), or -1: a request without a reply
 * has r[i].root NULL and the reason in r[i].error.  Every r[i] must be
 * freed with ipc_r_free() either way. */
int	ipc_client_call_many(struct ipc_client *, const struct ipc_w *const *w,
	    const uint64_t *id, size_t n, int timeout_ms, struct ipc_r *r);
/* The two halves, for requests whose replies are collected later: send w
 * (retried until timeout_ms while the peer is not connected; 0, or -1
 * with err), then wait for the replies to id[0..n) (0 when all arrived;
 * else -1, the missing ones with r[i].root NULL and r[i].error set).
 * r[0..n) are the caller's to ipc_r_free either way. */
int	ipc_client_send(struct ipc_client *, const struct ipc_w *w,
	    int timeout_ms, char *err, size_t errlen);
int	ipc_client_wait(struct ipc_client *, const uint64_t *id, size_t n,
	    int timeout_ms, struct ipc_r *r);

/* Takes the reply to id if it has arrived, without waiting and without
 * resetting the socket (ipc_client_wait does, on a timeout): for a
 * request polled for every loop turn, such as a liveness ping.  0 with
 * *r parsed, or -1 (not yet: r->root NULL).  Older replies met on the
 * way are dropped.  *r must be freed either way. */
int	ipc_client_poll(struct ipc_client *, uint64_t id, struct ipc_r *r);

/* A SUB socket connected to endpoint, subscribed to everything. */
zsock_t	*ipc_sub(const char *endpoint);

#endif
