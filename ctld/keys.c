/*
 * keys: requests from ctld to keyd, see keys.h and docs/ipc.md.  Each
 * encoder sits next to the decoder of its reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/sdes.h"
#include "ctld/keys.h"

struct keys {
	struct ipc_client	*client;
	int			 timeout_ms;
	int			 down;	/* the last request got no reply */
	uint64_t		 down_ms;	/* monotonic, when it failed */
};

/* How long a keyd that did not answer is taken for down: best-effort
 * requests (sdes_forget) are skipped meanwhile rather than each waiting
 * out the deadline. */
#define KEYS_DOWN_MS	2000

struct keys *
keys_new(const char *endpoint, int timeout_ms)
{
	struct keys	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->client = ipc_client_new(endpoint)) == NULL) {
		free(k);
		return NULL;
	}
	k->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
	return k;
}

void
keys_destroy(struct keys **kp)
{
	if (*kp == NULL)
		return;
	ipc_client_destroy(&(*kp)->client);
	free(*kp);
	*kp = NULL;
}

void
keys_set_timeout(struct keys *k, int timeout_ms)
{
	if (timeout_ms > 0)
		k->timeout_ms = timeout_ms;
}

int
keys_down(const struct keys *k)
{
	return k->down && daemon_now_ms() - k->down_ms < KEYS_DOWN_MS;
}

/*
 * Sends w[0..n) in one round trip (keyd serves them in order; they are
 * freed, wiped) and checks every reply's ok: 0 with rr[0..n) parsed, else
 * -1 with the first failure in err.  keyd is down when a reply did not
 * come.  rr[0..n) are freed by the caller either way.
 */
#define KEYS_BATCH	2	/* requests in one round trip */

static int
keys_call(struct keys *k, struct ipc_w *w, const uint64_t *id, size_t n,
    struct ipc_r *rr, char *err, size_t errlen)
{
	const struct ipc_w	*ws[KEYS_BATCH];
	size_t			 i;

	if (n > KEYS_BATCH) {
		snprintf(err, errlen, "too many keyd requests at once");
		return -1;
	}
	for (i = 0; i < n; i++)
		ws[i] = &w[i];
	(void)ipc_client_call_many(k->client, ws, id, n, k->timeout_ms, rr);
	k->down = 0;
	for (i = 0; i < n; i++) {
		ipc_w_free(&w[i]);
		if (rr[i].root == NULL)
			k->down = 1;
	}
	if (k->down)
		k->down_ms = daemon_now_ms();
	for (i = 0; i < n; i++) {
		if (rr[i].root == NULL) {
			snprintf(err, errlen, "keyd unavailable%s%s",
			    rr[i].error[0] != '\0' ? ": " : "", rr[i].error);
			return -1;
		}
		if (!rr[i].ok) {
			snprintf(err, errlen, "keyd: %s",
			    rr[i].error[0] != '\0' ? rr[i].error : "failed");
			return -1;
		}
	}
	return 0;
}

static void
keys_begin(struct ipc_w *w, enum ipc_op op, uint64_t id, size_t nfields,
    const char *call, const char *leg, unsigned media)
{
	ipc_w_init(w);
	ipc_w_begin(w, op, id, nfields);
	ipc_w_str(w, "call", call);
	ipc_w_str(w, "leg", leg);
	ipc_w_uint(w, "media", media);
}

/* The session parameters as keyd's bools (3 fields). */
static void
keys_params(struct ipc_w *w, unsigned params)
{
	ipc_w_bool(w, "unencrypted_srtp",
	    (params & SDES_P_UNENCRYPTED_SRTP) != 0);
	ipc_w_bool(w, "unencrypted_srtcp",
	    (params & SDES_P_UNENCRYPTED_SRTCP) != 0);
	ipc_w_bool(w, "unauthenticated_srtp",
	    (params & SDES_P_UNAUTHENTICATED_SRTP) != 0);
}

/* The relay node holding the call, for keyd's pushes (1 field; none for
 * NULL or "": keyd's first node, as for ctld). */
static size_t
keys_nnode(const char *node)
{
	return node != NULL && *node != '\0';
}

static void
keys_node(struct ipc_w *w, const char *node)
{
	if (keys_nnode(node))
		ipc_w_str(w, "node", node);
}

/* Appends the reply's crypto lines (at least one) to out. */
static int
keys_lines(const struct ipc_r *rr, struct buf *out, char *err, size_t errlen)
{
	const msgpack_object_array	*a;
	const char			*s;
	size_t				 i, len;

	if ((a = ipc_get_array(rr->root, "crypto")) == NULL || a->size == 0) {
		snprintf(err, errlen, "malformed keyd reply");
		return -1;
	}
	buf_secret(out);
	for (i = 0; i < a->size; i++) {
		if (ipc_obj_str(&a->ptr[i], &s, &len) == -1 || len < 12 ||
		    strncmp(s, "a=crypto:", 9) != 0 ||
		    memcmp(s + len - 2, "\r\n", 2) != 0 ||
		    memchr(s, '\n', len - 1) != NULL) {
			snprintf(err, errlen, "malformed keyd reply");
			return -1;
		}
		if (buf_add(out, s, len) == -1 || out->oom) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
keys_sdes_offer(struct keys *k, const char *call, const char *leg,
    unsigned media, const char *const *names, size_t n, int pad,
    unsigned params, struct buf *out, char *err, size_t errlen)
{
	struct ipc_w	 w;
	struct ipc_r	 rr;
	uint64_t	 id = ipc_client_next_id(k->client);
	size_t		 i;
	int		 rc = -1;

	keys_begin(&w, IPC_OP_SDES_OFFER, id, 7 + (n > 0), call, leg, media);
	ipc_w_bool(&w, "pad", pad);
	keys_params(&w, params);
	if (n > 0) {
		ipc_w_key(&w, "suites");
		msgpack_pack_array(&w.pk, n);
		for (i = 0; i < n; i++)
			ipc_pack_str(&w.pk, names[i]);
	}
	if (keys_call(k, &w, &id, 1, &rr, err, errlen) == 0)
		rc = keys_lines(&rr, out, err, errlen);
	ipc_r_free(&rr);
	return rc;
}

static void
keys_w_select(struct ipc_w *w, uint64_t id, const char *node,
    const char *call, const char *leg, unsigned media, uint32_t tag,
    const char *suite, unsigned params)
{
	keys_begin(w, IPC_OP_SDES_SELECT, id, 8 + keys_nnode(node), call, leg,
	    media);
	ipc_w_uint(w, "tag", tag);
	ipc_w_str(w, "suite", suite);
	keys_params(w, params);
	keys_node(w, node);
}

static void
keys_w_answer(struct ipc_w *w, uint64_t id, const char *node,
    const char *call, const char *leg, unsigned media, const char *suite,
    uint32_t tag, int pad, unsigned params)
{
	keys_begin(w, IPC_OP_SDES_ANSWER, id, 9 + keys_nnode(node), call, leg,
	    media);
	ipc_w_bool(w, "pad", pad);
	keys_params(w, params);
	ipc_w_str(w, "suite", suite);
	ipc_w_uint(w, "tag", tag);
	keys_node(w, node);
}

static void
keys_w_remote(struct ipc_w *w, uint64_t id, const char *node,
    const char *call, const char *leg, unsigned media, const char *line,
    size_t len)
{
	ipc_w_init(w);
	ipc_w_secret(w);
	ipc_w_begin(w, IPC_OP_SDES_REMOTE, id, 4 + keys_nnode(node));
	ipc_w_str(w, "call", call);
	ipc_w_str(w, "leg", leg);
	ipc_w_uint(w, "media", media);
	ipc_w_strn(w, "line", line, len);
	keys_node(w, node);
}

int
keys_sdes_answer(struct keys *k, const char *node, const char *call,
    const char *leg, unsigned media, const char *suite, uint32_t tag,
    int pad, unsigned params, struct buf *out, char *err, size_t errlen)
{
	struct ipc_w	 w;
	struct ipc_r	 rr;
	uint64_t	 id = ipc_client_next_id(k->client);
	int		 rc = -1;

	keys_w_answer(&w, id, node, call, leg, media, suite, tag, pad,
	    params);
	if (keys_call(k, &w, &id, 1, &rr, err, errlen) == 0)
		rc = out == NULL ? 0 : keys_lines(&rr, out, err, errlen);
	ipc_r_free(&rr);
	return rc;
}

int
keys_sdes_remote_answer(struct keys *k, const char *node, const char *call,
    const char *leg, unsigned media, const char *line, size_t len,
    const char *suite, uint32_t tag, int pad, unsigned params,
    struct buf *out, char *err, size_t errlen)
{
	struct ipc_w	 w[2];
	struct ipc_r	 rr[2];
	uint64_t	 id[2];
	int		 rc;

	id[0] = ipc_client_next_id(k->client);
	id[1] = ipc_client_next_id(k->client);
	keys_w_remote(&w[0], id[0], node, call, leg, media, line, len);
	keys_w_answer(&w[1], id[1], node, call, leg, media, suite, tag, pad,
	    params);
	rc = keys_call(k, w, id, 2, rr, err, errlen);
	if (rc == 0 && out != NULL)
		rc = keys_lines(&rr[1], out, err, errlen);
	ipc_r_free(&rr[0]);
	ipc_r_free(&rr[1]);
	return rc;
}

int
keys_sdes_select_remote(struct keys *k, const char *node, const char *call,
    const char *leg, unsigned media, uint32_t tag, const char *suite,
    unsigned params, const char *line, size_t len, char *err, size_t errlen)
{
	struct ipc_w	 w[2];
	struct ipc_r	 rr[2];
	uint64_t	 id[2];
	int		 rc;

	id[0] = ipc_client_next_id(k->client);
	id[1] = ipc_client_next_id(k->client);
	keys_w_select(&w[0], id[0], node, call, leg, media, tag, suite,
	    params);
	keys_w_remote(&w[1], id[1], node, call, leg, media, line, len);
	rc = keys_call(k, w, id, 2, rr, err, errlen);
	ipc_r_free(&rr[0]);
	ipc_r_free(&rr[1]);
	return rc;
}

int
keys_sdes_forget(struct keys *k, const char *call, const char *leg,
    char *err, size_t errlen)
{
	struct ipc_w	 w;
	struct ipc_r	 rr;
	uint64_t	 id = ipc_client_next_id(k->client);
	int		 rc;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_SDES_FORGET, id, 1 + (leg != NULL));
	ipc_w_str(&w, "call", call);
	if (leg != NULL)
		ipc_w_str(&w, "leg", leg);
	rc = keys_call(k, &w, &id, 1, &rr, err, errlen);
	ipc_r_free(&rr);
	return rc;
}
