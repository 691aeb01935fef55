/*
 * persist: see persist.h.
 *
 * The record (`data`, msgpack):
 *   { v: 1, call: str, created: uint,
 *     legs: [ { id: str, peer: str ("" none), addr: str (bound address),
 *       media: [ { i: uint (1-based), port: uint (RTP; RTCP = +1),
 *         adv: [ [addr, port] x2 ]   (RTP, RTCP; "" / 0 unset),
 *         lat: [ [addr, port] | nil x2 ],
 *         k: [ nil | { w: bin (keyd's wrapped key),
 *                      r: [ [ssrc, roc, seq] ... ] } x2 ]  (in, out;
 *            {} without w: SRTP keyd never wrapped, not restorable)
 *       } ] } ] }
 * Readers skip unknown keys and default missing ones (docs/redis.md), so
 * a record of another version restores.
 *
 * Restoring a call is all or nothing: every port pair it held must bind
 * again and every SRTP direction must unwrap, else the call is dropped
 * (and its record deleted) rather than relayed in a weaker state; ctld
 * then sees relayd no longer holds it.  The transforms are in force
 * before a restored socket is polled, so no packet goes through in the
 * clear.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "libcommon/sdes.h"
#include "libcommon/store.h"
#include "relayd/persist.h"
#include "relayd/ports.h"

static const char *const persist_dirs[2] = { "in", "out" };

int
persist_init(struct relayd *r)
{
	const struct config	*cfg = r->cfg;

	if ((r->store = store_new_ns(cfg->redis, "relay", cfg->node_id,
	    cfg->call_ttl)) == NULL) {
		log_warnx("persist: bad redis address %s", cfg->redis);
		return -1;
	}
	if ((r->keyd = ipc_client_new(cfg->keyd_ctl)) == NULL) {
		log_warnx("persist: cannot reach keyd at %s", cfg->keyd_ctl);
		store_destroy(&r->store);
		return -1;
	}
	r->store_epoch = store_epoch(r->store);
	return 0;
}

void
persist_fini(struct relayd *r)
{
	store_destroy(&r->store);
	ipc_client_destroy(&r->keyd);
}

void
persist_mark(struct relayd *r, struct call *c)
{
	if (r->store == NULL || c->dirty)
		return;
	c->dirty = 1;
	c->dnext = r->dirty;
	r->dirty = c;
}

static void
persist_unmark(struct relayd *r, struct call *c)
{
	struct call	**pp;

	if (!c->dirty)
		return;
	for (pp = &r->dirty; *pp != NULL; pp = &(*pp)->dnext)
		if (*pp == c) {
			*pp = c->dnext;
			break;
		}
	c->dnext = NULL;
	c->dirty = 0;
}

void
persist_forget(struct relayd *r, struct call *c)
{
	if (r->store == NULL)
		return;
	persist_unmark(r, c);
	(void)store_call_del(r->store, c->id);
}

/* ---- encoding -------------------------------------------------------- */

static void
persist_pack_addr(msgpack_packer *pk, const struct relay_addr *a)
{
	char		 s[INET6_ADDRSTRLEN] = "";
	unsigned	 port = 0;

	if (a->len != 0 && a->ss.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->ss.sin.sin_addr, s, sizeof(s));
		port = ntohs(a->ss.sin.sin_port);
	} else if (a->len != 0 && a->ss.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->ss.sin6.sin6_addr, s, sizeof(s));
		port = ntohs(a->ss.sin6.sin6_port);
	}
	msgpack_pack_array(pk, 2);
	ipc_pack_str(pk, s);
	msgpack_pack_unsigned_int(pk, port);
}

static void
persist_pack_srtp(msgpack_packer *pk, const struct relay_srtp *x)
{
	struct srtpx_roc	 roc[SRTPX_MAX_SSRC];
	size_t			 n, i;

	if (x->x == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	if (x->wrapped == NULL) {
		/* SRTP whose key keyd did not wrap: not restorable, and nil
		 * would restore it as plain RTP, relaying in the clear what
		 * the peer sent encrypted (and the other way round); an
		 * empty map makes the restore drop the call instead */
		msgpack_pack_map(pk, 0);
		return;
	}
	n = srtpx_state(x->x, roc);
	msgpack_pack_map(pk, 2);
	ipc_pack_str(pk, "w");
	msgpack_pack_bin(pk, x->wrapped_len);
	msgpack_pack_bin_body(pk, x->wrapped, x->wrapped_len);
	ipc_pack_str(pk, "r");
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint32(pk, roc[i].ssrc);
		msgpack_pack_uint32(pk, roc[i].roc);
		msgpack_pack_uint16(pk, roc[i].seq);
		msgpack_pack_uint32(pk, roc[i].rtcp);
	}
}

/* Under the call's worker lock (latched addresses, SRTP state). */
static void
persist_encode(struct relayd *r, msgpack_sbuffer *sb, struct call *c)
{
	msgpack_packer	 pk;
	struct leg	*l;
	unsigned	 n = 0, i, k;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	ipc_pack_str(&pk, "v");
	msgpack_pack_unsigned_int(&pk, PERSIST_VERSION);
	ipc_pack_str(&pk, "call");
	ipc_pack_str(&pk, c->id);
	ipc_pack_str(&pk, "node");
	ipc_pack_str(&pk, r->cfg->node_id);
	ipc_pack_str(&pk, "created");
	msgpack_pack_uint64(&pk, c->created);
	ipc_pack_str(&pk, "legs");
	for (l = c->legs; l != NULL; l = l->next)
		n++;
	msgpack_pack_array(&pk, n);
	for (l = c->legs; l != NULL; l = l->next) {
		msgpack_pack_map(&pk, 4);
		ipc_pack_str(&pk, "id");
		ipc_pack_str(&pk, l->id);
		ipc_pack_str(&pk, "peer");
		ipc_pack_str(&pk, l->peer != NULL ? l->peer : "");
		ipc_pack_str(&pk, "addr");
		ipc_pack_str(&pk, ports_addr(l->pool));
		ipc_pack_str(&pk, "media");
		msgpack_pack_array(&pk, l->nmedia);
		for (i = 0; i < l->nmedia; i++) {
			const struct media *m = l->media[i];

			msgpack_pack_map(&pk, 5);
			ipc_pack_str(&pk, "i");
			msgpack_pack_unsigned_int(&pk, m->index);
			ipc_pack_str(&pk, "port");
			msgpack_pack_unsigned_int(&pk, m->s[0].port);
			ipc_pack_str(&pk, "adv");
			msgpack_pack_array(&pk, 2);
			for (k = 0; k < 2; k++)
				persist_pack_addr(&pk, &m->s[k].adv);
			ipc_pack_str(&pk, "lat");
			msgpack_pack_array(&pk, 2);
			for (k = 0; k < 2; k++)
				if (m->s[k].is_latched)
					persist_pack_addr(&pk,
					    &m->s[k].latched);
				else
					msgpack_pack_nil(&pk);
			ipc_pack_str(&pk, "k");
			msgpack_pack_array(&pk, 2);
			for (k = 0; k < 2; k++)
				persist_pack_srtp(&pk, &m->srtp[k]);
		}
	}
}

static void
persist_write(struct relayd *r, struct call *c, uint64_t now_ms)
{
	msgpack_sbuffer	 sb;

	msgpack_sbuffer_init(&sb);
	io_lock(r->io, c->worker);
	persist_encode(r, &sb, c);
	io_unlock(r->io, c->worker);
	(void)store_call_put(r->store, c->id, c->created, daemon_wall_s(),
	    sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	c->saved_ms = now_ms;
}

void
persist_flush(struct relayd *r)
{
	struct call	*c;
	uint64_t	 now = daemon_now_ms();
	int		 n = 0;

	/* the call marked last first (the one a reply is about to confirm);
	 * past PERSIST_INFLIGHT writes without an answer, the rest waits
	 * for a later turn, so a burst (all calls again after an outage)
	 * keeps pace with Redis */
	while ((c = r->dirty) != NULL) {
		if (n++ > 0 && store_inflight(r->store) >= PERSIST_INFLIGHT)
			break;
		r->dirty = c->dnext;
		c->dnext = NULL;
		c->dirty = 0;
		persist_write(r, c, now);
	}
}

/* 1 if a worker latched a stream of c or moved an SSRC's seq on. */
static int
persist_worker_changed(struct call *c)
{
	struct leg	*l;
	unsigned	 i, k;
	int		 changed = 0;

	for (l = c->legs; l != NULL; l = l->next)
		for (i = 0; i < l->nmedia; i++)
			for (k = 0; k < 2; k++) {
				struct media *m = l->media[i];

				/* a plain load first: no locked write to the
				 * workers' cache lines while nothing changed */
				if (__atomic_load_n(&m->s[k].latch_dirty,
				    __ATOMIC_RELAXED) &&
				    __atomic_exchange_n(&m->s[k].latch_dirty,
				    0, __ATOMIC_RELAXED))
					changed = 1;
				if (m->srtp[k].x != NULL &&
				    srtpx_dirty(m->srtp[k].x))
					changed = 1;
			}
	return changed;
}

void
persist_tick(struct relayd *r, uint64_t now_ms)
{
	struct call	*c;
	uint64_t	 ep, period;
	unsigned	 b;
	int		 all;

	if (r->store == NULL)
		return;
	store_tick(r->store, now_ms);
	if (r->restore_pending && now_ms - r->restore_try_ms >= 1000) {
		r->restore_try_ms = now_ms;
		(void)persist_restore(r);
	}
	ep = store_epoch(r->store);
	/* Redis came back: it may have lost everything (no persistence) */
	all = ep != r->store_epoch;
	if (all && r->ncalls > 0)
		log_info("persist: Redis reconnected, writing %u calls again",
		    r->ncalls);
	r->store_epoch = ep;
	period = (uint64_t)(r->cfg->call_ttl > 0 ? r->cfg->call_ttl :
	    86400) * 1000 / 3;
	for (b = 0; b < CALL_BUCKETS; b++)
		for (c = r->tab[b]; c != NULL; c = c->next)
			if (persist_worker_changed(c) || all ||
			    now_ms - c->saved_ms >= period)
				persist_mark(r, c);
	persist_flush(r);
}

/* ---- restoring ------------------------------------------------------- */

static int
persist_addr(const msgpack_object *o, struct relay_addr *a)
{
	const char	*s;
	char		 buf[INET6_ADDRSTRLEN];
	size_t		 len;
	uint64_t	 port;

	memset(a, 0, sizeof(*a));
	if (o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
	    ipc_obj_str(&o->via.array.ptr[0], &s, &len) == -1 ||
	    ipc_obj_uint(&o->via.array.ptr[1], &port) == -1 ||
	    len >= sizeof(buf) || port > 65535)
		return -1;
	if (len == 0 || port == 0)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a->ss.sin.sin_addr) == 1) {
		a->ss.sin.sin_family = AF_INET;
		a->ss.sin.sin_port = htons((uint16_t)port);
		a->len = sizeof(a->ss.sin);
	} else if (inet_pton(AF_INET6, buf, &a->ss.sin6.sin6_addr) == 1) {
		a->ss.sin6.sin6_family = AF_INET6;
		a->ss.sin6.sin6_port = htons((uint16_t)port);
		a->len = sizeof(a->ss.sin6);
	} else
		return -1;
	return 0;
}

/*
 * The record, parsed and checked before anything is bound or asked of
 * keyd (persist_parse; the fuzz harness's entry).  k points into the
 * unpacked record, which must outlive it.
 */
int
persist_parse(const msgpack_object *root, struct persist_rec *pr, char *err,
    size_t errlen)
{
	const msgpack_object_array	*legs, *ma, *adv, *lat, *ka;
	uint64_t			 u, port, idx;
	size_t				 i, j, k, x;

	memset(pr, 0, sizeof(*pr));
	if (root->type != MSGPACK_OBJECT_MAP ||
	    (legs = ipc_get_array(root, "legs")) == NULL) {
		snprintf(err, errlen, "record without legs");
		return -1;
	}
	if (legs->size > PERSIST_MAXLEGS) {
		snprintf(err, errlen, "too many legs");
		return -1;
	}
	if (ipc_get_uint(root, "created", &u) == 0)
		pr->created = u;
	for (i = 0; i < legs->size; i++) {
		const msgpack_object	*lo = &legs->ptr[i];
		struct persist_rleg	*l = &pr->legs[i];

		if (lo->type != MSGPACK_OBJECT_MAP ||
		    ipc_get_strz(lo, "id", l->id, sizeof(l->id)) == -1 ||
		    l->id[0] == '\0' ||
		    ipc_get_strz(lo, "addr", l->addr, sizeof(l->addr)) == -1 ||
		    (ma = ipc_get_array(lo, "media")) == NULL ||
		    ma->size > RELAY_MAX_MEDIA ||
		    (ipc_get(lo, "peer") != NULL && ipc_get_strz(lo, "peer",
		    l->peer, sizeof(l->peer)) == -1))
			goto bad;
		for (x = 0; x < i; x++)
			if (strcmp(pr->legs[x].id, l->id) == 0)
				goto bad;
		for (j = 0; j < ma->size; j++) {
			const msgpack_object	*mo = &ma->ptr[j];
			struct persist_rmedia	*m = &l->media[j];

			/* media are stored in order: index j + 1 */
			if (mo->type != MSGPACK_OBJECT_MAP ||
			    ipc_get_uint(mo, "port", &port) == -1 ||
			    port == 0 || port > 65534 || port % 2 != 0 ||
			    (ipc_get_uint(mo, "i", &idx) == 0 && idx != j + 1))
				goto bad;
			m->port = (uint16_t)port;
			adv = ipc_get_array(mo, "adv");
			lat = ipc_get_array(mo, "lat");
			ka = ipc_get_array(mo, "k");
			for (k = 0; k < 2; k++) {
				if (adv != NULL && (adv->size != 2 ||
				    persist_addr(&adv->ptr[k], &m->adv[k]) == -1))
					goto bad;
				if (lat != NULL && (lat->size != 2 ||
				    persist_addr(&lat->ptr[k], &m->lat[k]) == -1))
					goto bad;
				if (ka == NULL)
					continue;
				/* the size before ka->ptr[k] */
				if (ka->size != 2)
					goto bad;
				if (ka->ptr[k].type == MSGPACK_OBJECT_NIL)
					continue;
				if (ka->ptr[k].type != MSGPACK_OBJECT_MAP)
					goto bad;
				if (ipc_get(&ka->ptr[k], "w") == NULL) {
					snprintf(err, errlen, "an SRTP key was "
					    "never wrapped by keyd");
					return -1;
				}
				if (ipc_get_bin(&ka->ptr[k], "w", &m->w[k],
				    &m->wlen[k]) == -1 || m->wlen[k] == 0)
					goto bad;
				m->k[k] = &ka->ptr[k];
				pr->nkeys++;
			}
		}
		l->nmedia = ma->size;
	}
	pr->nlegs = legs->size;
	return 0;
 bad:
	snprintf(err, errlen, "malformed record");
	return -1;
}

/* One SRTP direction to restore. */
struct persist_key {
	const msgpack_object	*k;		/* the record's { w, r } */
	const void		*w;
	size_t			 wlen;
	const char		*leg;
	unsigned		 media;		/* 1-based */
	int			 dir;
	struct relay_srtp	 srtp;		/* the result */
};

static void
persist_keys_free(struct persist_key *pk, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		srtpx_destroy(&pk[i].srtp.x);
		explicit_bzero(&pk[i].srtp.key, sizeof(pk[i].srtp.key));
		free(pk[i].srtp.wrapped);
		pk[i].srtp.wrapped = NULL;
	}
}

/* The transform of one direction from keyd's srtp_unwrap reply. */
static int
persist_key_make(struct persist_key *pk, const struct ipc_r *q, char *err,
    size_t errlen)
{
	const msgpack_object_array	*ra;
	struct srtpx_roc		 roc[SRTPX_MAX_SSRC];
	struct srtpx_key		 k;
	char				 suite[64];
	const void			*key;
	size_t				 keylen, n = 0, i;
	uint64_t			 v[4];
	int				 si, ue = 0, uec = 0, ua = 0, rc = -1;

	memset(&k, 0, sizeof(k));
	if (ipc_get_strz(q->root, "profile", suite, sizeof(suite)) == -1 ||
	    ipc_get_bin(q->root, "key", &key, &keylen) == -1 ||
	    (si = sdes_suite_by_name(suite, strlen(suite))) == -1) {
		snprintf(err, errlen, "keyd's srtp_unwrap reply unusable");
		return -1;
	}
	(void)ipc_get_bool(q->root, "unencrypted_srtp", &ue);
	(void)ipc_get_bool(q->root, "unencrypted_srtcp", &uec);
	(void)ipc_get_bool(q->root, "unauthenticated_srtp", &ua);
	k.profile = sdes_suite_info((enum sdes_suite)si)->profile;
	if (keylen != srtpx_key_len(k.profile) || keylen > sizeof(k.key)) {
		snprintf(err, errlen, "unwrapped key of the wrong length");
		goto done;
	}
	memcpy(k.key, key, keylen);
	k.len = keylen;
	k.unencrypted_srtp = ue != 0;
	k.unencrypted_srtcp = uec != 0;
	k.unauthenticated_srtp = ua != 0;
	if ((ra = ipc_get_array(pk->k, "r")) != NULL)
		for (i = 0; i < ra->size && n < SRTPX_MAX_SSRC; i++) {
			const msgpack_object *e = &ra->ptr[i];

			/* [ssrc, roc, seq] or, since the SRTCP index is
			 * kept, [ssrc, roc, seq, rtcp] */
			v[3] = 0;
			if (e->type != MSGPACK_OBJECT_ARRAY ||
			    e->via.array.size < 3 ||
			    ipc_obj_uint(&e->via.array.ptr[0], &v[0]) == -1 ||
			    ipc_obj_uint(&e->via.array.ptr[1], &v[1]) == -1 ||
			    ipc_obj_uint(&e->via.array.ptr[2], &v[2]) == -1 ||
			    (e->via.array.size > 3 &&
			    ipc_obj_uint(&e->via.array.ptr[3], &v[3]) == -1) ||
			    v[0] > UINT32_MAX || v[1] > UINT32_MAX ||
			    v[2] > UINT16_MAX || v[3] > INT32_MAX)
				continue;
			roc[n].ssrc = (uint32_t)v[0];
			roc[n].roc = (uint32_t)v[1];
			roc[n].seq = (uint16_t)v[2];
			roc[n].rtcp = (uint32_t)v[3];
			n++;
		}
	if ((pk->srtp.x = srtpx_restore(&k, pk->dir == RELAY_SRTP_IN, roc, n,
	    err, errlen)) == NULL)
		goto done;
	if ((pk->srtp.wrapped = malloc(pk->wlen)) == NULL) {
		srtpx_destroy(&pk->srtp.x);
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	memcpy(pk->srtp.wrapped, pk->w, pk->wlen);
	pk->srtp.wrapped_len = pk->wlen;
	pk->srtp.key = k;
	rc = 0;
 done:
	explicit_bzero(&k, sizeof(k));
	return rc;
}

/*
 * Asks keyd to unwrap the n keys (one round trip), retrying until
 * *deadline: keyd may be restarting too.  Past it, *deadline becomes 0
 * and the calls after this one fail at once: with keyd gone, one
 * timeout per call would hold the restore (and every request queued
 * behind it) for as many timeouts as there are SRTP calls.
 */
static int
persist_unwrap(struct relayd *r, const char *cid, struct persist_key *pk,
    size_t n, uint64_t *deadline, char *err, size_t errlen)
{
	struct ipc_w		*w;
	const struct ipc_w	**wp;
	struct ipc_r		*q;
	uint64_t		*id;
	size_t			 i;
	int			 rc = -1, tmo = r->cfg->ipc_timeout_ms > 0 ?
				    r->cfg->ipc_timeout_ms : 500;

	if (*deadline == 0) {
		snprintf(err, errlen, "keyd unavailable");
		return -1;
	}
	w = calloc(n, sizeof(*w));
	wp = calloc(n, sizeof(*wp));
	q = calloc(n, sizeof(*q));
	id = calloc(n, sizeof(*id));
	if (w == NULL || wp == NULL || q == NULL || id == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		for (i = 0; i < n; i++) {
			id[i] = ipc_client_next_id(r->keyd);
			ipc_w_init(&w[i]);
			ipc_w_begin(&w[i], IPC_OP_SRTP_UNWRAP, id[i], 5);
			ipc_w_str(&w[i], "call", cid);
			ipc_w_str(&w[i], "leg", pk[i].leg);
			ipc_w_uint(&w[i], "media", pk[i].media);
			ipc_w_str(&w[i], "dir", persist_dirs[pk[i].dir]);
			ipc_w_bin(&w[i], "wrapped", pk[i].w, pk[i].wlen);
			wp[i] = &w[i];
		}
		rc = ipc_client_call_many(r->keyd, wp, id, n, tmo, q);
		for (i = 0; i < n; i++)
			ipc_w_free(&w[i]);
		if (rc == 0)
			break;
		for (i = 0; i < n; i++)
			ipc_r_free(&q[i]);
		if (daemon_now_ms() >= *deadline) {
			*deadline = 0;
			snprintf(err, errlen, "keyd unavailable");
			goto out;
		}
		log_info("[%s] keyd does not answer yet, retrying", cid);
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (!q[i].ok) {
			snprintf(err, errlen, "keyd: %.200s", q[i].error);
			rc = -1;
		} else
			rc = persist_key_make(&pk[i], &q[i], err, errlen);
	}
	for (i = 0; i < n; i++)
		ipc_r_free(&q[i]);	/* wipes the keys they carried */
 out:
	free(w);
	free(wp);
	free(q);
	free(id);
	return rc;
}

/*
 * Rebuilds one call from its record; 0, or -1 with a reason in err and
 * nothing left behind.
 */
static int
persist_restore_call(struct relayd *r, const char *cid,
    const msgpack_object *root, uint64_t *deadline, char *err, size_t errlen)
{
	struct persist_rec	*pr;
	struct persist_key	*pk = NULL;
	struct call		*c = NULL;
	struct leg		*l;
	struct media		*m;
	struct ports		*pool;
	size_t			 npk = 0, i, j, p;
	int			 d, rc = -1;

	if ((pr = malloc(sizeof(*pr))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (persist_parse(root, pr, err, errlen) == -1)
		goto out;
	if (pr->nkeys > 0 &&
	    (pk = calloc(pr->nkeys, sizeof(*pk))) == NULL)
		goto oom;
	for (i = 0; i < pr->nlegs; i++)
		for (j = 0; j < pr->legs[i].nmedia; j++)
			for (d = 0; d < 2; d++) {
				struct persist_rmedia *rm = &pr->legs[i].media[j];

				if (rm->k[d] == NULL)
					continue;
				pk[npk].k = rm->k[d];
				pk[npk].w = rm->w[d];
				pk[npk].wlen = rm->wlen[d];
				pk[npk].leg = pr->legs[i].id;
				pk[npk].media = (unsigned)j + 1;
				pk[npk].dir = d;
				npk++;
			}
	/* keys first, one keyd round trip for the whole call: nothing is
	 * bound for a call whose keys cannot be had */
	if (npk > 0 && persist_unwrap(r, cid, pk, npk, deadline, err,
	    errlen) == -1)
		goto out;
	if ((c = call_create(r, cid)) == NULL)
		goto oom;
	if (pr->created != 0)
		c->created = pr->created;
	for (i = 0; i < pr->nlegs; i++) {
		struct persist_rleg *rl = &pr->legs[i];

		if ((pool = call_pool(r, rl->addr, rl->nmedia > 0 ?
		    rl->media[0].port : 0)) == NULL) {
			snprintf(err, errlen, "cannot bind on %s", rl->addr);
			goto out;
		}
		if ((l = call_leg_create(r, c, rl->id, pool)) == NULL)
			goto oom;
		if (rl->peer[0] != '\0' && (l->peer = strdup(rl->peer)) == NULL)
			goto oom;
		for (j = 0; j < rl->nmedia; j++) {
			struct persist_rmedia	*rm = &rl->media[j];
			struct relay_srtp	 srtp[2];

			memset(srtp, 0, sizeof(srtp));
			for (p = 0; p < npk; p++)
				if (pk[p].leg == rl->id && pk[p].media == j + 1) {
					srtp[pk[p].dir] = pk[p].srtp;
					memset(&pk[p].srtp, 0,
					    sizeof(pk[p].srtp));
				}
			if ((m = call_media_create(r, c, l, rm->port,
			    srtp)) == NULL) {
				for (d = 0; d < 2; d++) {
					srtpx_destroy(&srtp[d].x);
					explicit_bzero(&srtp[d].key,
					    sizeof(srtp[d].key));
					free(srtp[d].wrapped);
				}
				snprintf(err, errlen, "port %u on %s is taken",
				    rm->port, rl->addr);
				goto out;
			}
			io_lock(r->io, c->worker);
			for (d = 0; d < 2; d++) {
				m->s[d].adv = rm->adv[d];
				if (rm->lat[d].len != 0) {
					m->s[d].latched = rm->lat[d];
					m->s[d].is_latched = 1;
				}
			}
			io_unlock(r->io, c->worker);
		}
	}
	rc = 0;
	goto out;
 oom:
	snprintf(err, errlen, "out of memory");
 out:
	if (rc == -1 && c != NULL)
		call_remove(r, c);
	if (pk != NULL) {
		persist_keys_free(pk, npk);
		free(pk);
	}
	free(pr);
	return rc;
}

struct persist_load {
	struct relayd	*r;
	const char	*node;		/* adopting from; NULL: our own */
	uint64_t	 deadline;
	int		 n;
	/* adopted call-ids, for the reply */
	char		**ids;
	size_t		 nids, capids;
};

static void
persist_adopted(struct persist_load *ld, struct relayd *r, struct call *c)
{
	(void)r;
	if (ld->nids == ld->capids) {
		size_t	 cap = ld->capids ? 2 * ld->capids : 64;
		char	**n = realloc(ld->ids, cap * sizeof(*n));

		if (n == NULL)
			return;
		ld->ids = n;
		ld->capids = cap;
	}
	if ((ld->ids[ld->nids] = strdup(c->id)) != NULL)
		ld->nids++;
}

static void
persist_load_one(void *arg, const char *id, const void *data, size_t len)
{
	struct persist_load	*ld = arg;
	struct relayd		*r = ld->r;
	msgpack_unpacked	 u;
	size_t			 off = 0;
	char			 err[256];
	struct call		*c;
	int			 rc;

	if ((c = call_lookup(r, id)) != NULL) {
		/* already held (adopted before, by a request ctld timed out
		 * on): still ours to report */
		if (ld->node != NULL)
			persist_adopted(ld, r, c);
		return;
	}
	msgpack_unpacked_init(&u);
	if (ipc_framing_ok(data, len) == -1 ||
	    msgpack_unpack_next(&u, data, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || u.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&u);
		log_warnx("[%s] unreadable relay record, skipped", id);
		r->restore_failed++;
		return;
	}
	rc = persist_restore_call(r, id, &u.data, &ld->deadline, err,
	    sizeof(err));
	msgpack_unpacked_destroy(&u);
	if (rc == -1) {
		/*
		 * The record stays (its TTL ends it): keyd or a port may be
		 * back at the next start, and another node may own it (two
		 * nodes that both think they hold a call must not delete each
		 * other's records).  Only our own set forgets a call we cannot
		 * restore for good, so that every start does not try again.
		 */
		log_warnx("[%s] cannot restore the call: %s", id, err);
		r->restore_failed++;
		if (ld->node == NULL && strcmp(err, "keyd unavailable") != 0)
			(void)store_node_unlink(r->store, r->cfg->node_id, id);
		return;
	}
	c = call_lookup(r, id);
	c->restored = daemon_wall_s();
	r->restored++;
	ld->n++;
	if (ld->node != NULL) {
		/* ours now: the record moves to this node's set */
		persist_mark(r, c);
		persist_adopted(ld, r, c);
	}
	log_info("[%s] call %s", id, ld->node != NULL ? "adopted" :
	    "restored");
}

int
persist_restore(struct relayd *r)
{
	struct persist_load	 ld;
	int			 n;

	if (r->store == NULL)
		return 0;
	memset(&ld, 0, sizeof(ld));
	ld.r = r;
	ld.deadline = daemon_now_ms() + PERSIST_KEYD_WAIT_MS;
	/* our own ports may still be held by our killed predecessor */
	r->claim_until_ms = daemon_now_ms() + PERSIST_PORT_WAIT_MS;
	n = store_calls_load(r->store, persist_load_one, &ld);
	r->claim_until_ms = 0;
	if (n == -1) {
		if (!r->restore_pending)
			log_warnx("persist: Redis unavailable: calls not "
			    "restored yet, retrying every second");
		r->restore_pending = 1;
		return -1;
	}
	if (r->restore_pending)
		log_info("persist: Redis is back, calls restored");
	r->restore_pending = 0;
	if (n > 0)
		log_info("restored %d of %d calls from Redis", ld.n, n);
	return ld.n;
}

void
persist_op_adopt(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	struct persist_load	 ld;
	char			 node[CONFIG_STRLEN];
	size_t			 i;
	int			 n;

	if (ipc_get_strz(q->root, "node", node, sizeof(node)) == -1 ||
	    node[0] == '\0') {
		r->ipc_dropped[CALL_IPCDROP_BAD_FIELD]++;
		ipc_w_reply(w, q->op, q->id, 0, "bad node", 0);
		return;
	}
	if (r->store == NULL || strcmp(node, r->cfg->node_id) == 0) {
		ipc_w_reply(w, q->op, q->id, 0, r->store == NULL ?
		    "no Redis" : "that is this node", 0);
		return;
	}
	memset(&ld, 0, sizeof(ld));
	ld.r = r;
	ld.node = node;
	ld.deadline = daemon_now_ms() + r->cfg->ipc_timeout_ms;
	if ((n = store_calls_load_node(r->store, node, persist_load_one,
	    &ld)) == -1) {
		ipc_w_reply(w, q->op, q->id, 0, "Redis unavailable", 0);
		return;
	}
	persist_flush(r);
	if (store_node_drop(r->store, node) == -1)
		log_warnx("persist: cannot drop node %s's set", node);
	log_info("adopted %zu of %d calls of node %s", ld.nids, n, node);
	ipc_w_reply(w, q->op, q->id, 1, NULL, 1);
	ipc_w_key(w, "calls");
	msgpack_pack_array(&w->pk, ld.nids);
	for (i = 0; i < ld.nids; i++) {
		ipc_pack_str(&w->pk, ld.ids[i]);
		free(ld.ids[i]);
	}
	free(ld.ids);
}
