/*
 * call: calls by call-id (hash table), legs by ctld's leg id, media with
 * an RTP/RTCP port pair each, the SRTP transforms of each media, and the
 * relayd ROUTER op handlers (docs/ipc.md).
 *
 * Invariants:
 *  - every stream of a call is registered with the call's worker
 *    (hash of the call-id), in the io slot 2 * pair + rtcp;
 *  - stream->peer points into the peer leg's media of the same index, or
 *    is NULL; call_relink() recomputes it after any change, under the
 *    worker's lock, so a worker never sees a pointer to a freed stream;
 *  - a media's SRTP transforms are created, rekeyed and destroyed under
 *    the worker's lock (or after the media is unpolled), so the worker
 *    never meets a half-swapped one; keys are wiped when they go;
 *  - a request either fully applies or changes nothing (leg_alloc frees
 *    what it allocated when it runs out of ports; leg_update validates
 *    every field before applying any).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "relayd/call.h"
#include "relayd/latch.h"
#include "relayd/persist.h"

#define CALL_IPCDROP_NAME(e, s)	s,
const char *const call_ipcdrop_names[CALL_IPCDROP_COUNT] = {
	CALL_IPCDROPS(CALL_IPCDROP_NAME)
};
#define RELAY_DROP_NAME(e, s)	s,
const char *const relay_drop_names[RELAY_DROP_COUNT] = {
	RELAY_DROPS(RELAY_DROP_NAME)
};

/* The RFC 4568 name of the suite in force (libcommon/sdes's table). */
static const char *
call_suite_name(const struct relay_srtp *x)
{
	int	 i;

	if (x->x == NULL)
		return "";
	for (i = 0; i < SDES_NSUITES; i++)
		if (sdes_suite_info((enum sdes_suite)i)->profile ==
		    x->key.profile)
			return sdes_suite_name((enum sdes_suite)i);
	return "";
}

static uint32_t
call_hash(const char *s)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static struct call *
call_find(struct relayd *r, const char *id)
{
	struct call	*c;

	for (c = r->tab[call_hash(id) % CALL_BUCKETS]; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static struct leg *
call_leg(struct call *c, const char *id)
{
	struct leg	*l;

	for (l = c->legs; l; l = l->next)
		if (strcmp(l->id, id) == 0)
			return l;
	return NULL;
}

/* Under the worker's lock. */
static void
call_relink(struct call *c)
{
	struct leg	*l, *p;
	unsigned	 i, k;

	for (l = c->legs; l; l = l->next) {
		p = l->peer != NULL ? call_leg(c, l->peer) : NULL;
		for (i = 0; i < l->nmedia; i++)
			for (k = 0; k < 2; k++)
				l->media[i]->s[k].peer = (p && i < p->nmedia) ?
				    &p->media[i]->s[k] : NULL;
	}
}

/* Same key bytes (lengths already equal), without an early exit. */
static int
call_key_eq(const struct srtpx_key *a, const struct srtpx_key *b)
{
	uint8_t	 diff = 0;
	size_t	 i;

	for (i = 0; i < a->len; i++)
		diff |= a->key[i] ^ b->key[i];
	return diff == 0;
}

/*
 * A media on a pair of pool: any free one, or the one of RTP port want (a
 * restored call keeps its ports).  srtp (may be NULL) is moved in before
 * the sockets are polled, so a restored SRTP media never relays a packet
 * unprotected.
 */
static struct media *
call_media_new(struct relayd *r, struct call *c, unsigned index,
    struct ports *pool, uint16_t want, struct relay_srtp *srtp)
{
	struct media	*m;
	int		 fds[2], k, tries;
	uint16_t	 port = want;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	for (tries = 0; tries < 2; tries++) {
		m->pair = want != 0 ? ports_claim(pool, want, fds) :
		    ports_alloc(pool, fds, &port);
		if (m->pair != -1)
			break;
		/* freed ports may still be open in a worker (io_close):
		 * once they are closed, try again */
		io_close_wait_all(r->io);
	}
	/* restoring after a kill: the dead relayd's io_uring rings are torn
	 * down by the kernel after the process is gone, and hold its
	 * sockets, so its ports may stay bound for some milliseconds */
	while (m->pair == -1 && want != 0 && daemon_now_ms() < r->claim_until_ms) {
		usleep(5000);
		m->pair = ports_claim(pool, want, fds);
	}
	if (m->pair == -1) {
		free(m);
		return NULL;
	}
	m->pool = pool;
	m->index = index;
	if (srtp != NULL) {
		memcpy(m->srtp, srtp, sizeof(m->srtp));
		memset(srtp, 0, 2 * sizeof(*srtp));
	}
	io_lock(r->io, c->worker);
	for (k = 0; k < 2; k++) {
		m->s[k].media = m;
		m->s[k].fd = fds[k];
		m->s[k].port = port + k;
		m->s[k].rtcp = k;
		m->s[k].slot = 2 * (ports_slot_base(pool) + m->pair) + k;
		m->s[k].gen = ++r->gen;
		if (io_add(r->io, c->worker, &m->s[k]) == -1)
			log_warnx("[%s] cannot poll port %u", c->id,
			    port + k);
	}
	io_unlock(r->io, c->worker);
	return m;
}

/* Drops one SRTP direction of m (back to plain RTP) and wipes its key.
 * Under the worker's lock while m is polled. */
static void
call_srtp_clear(struct relay_srtp *x)
{
	srtpx_destroy(&x->x);
	explicit_bzero(&x->key, sizeof(x->key));
	free(x->wrapped);
	x->wrapped = NULL;
	x->wrapped_len = 0;
}

/* Caller holds no lock; the media must already be unlinked from its leg
 * and the call relinked. */
static void
call_media_free(struct relayd *r, int worker, struct media *m)
{
	int	 k;

	for (k = 0; k < 2; k++) {
		io_close(r->io, worker, m->s[k].fd);
		call_srtp_clear(&m->srtp[k]);
	}
	ports_free(m->pool, m->pair);
	free(m);
}

static void
call_media_unpoll(struct relayd *r, struct call *c, struct media *m)
{
	io_del(r->io, c->worker, &m->s[0]);
	io_del(r->io, c->worker, &m->s[1]);
}

static void
call_leg_free(struct relayd *r, struct call *c, struct leg *l)
{
	struct leg	**pp;
	unsigned	 i;

	io_lock(r->io, c->worker);
	for (i = 0; i < l->nmedia; i++)
		call_media_unpoll(r, c, l->media[i]);
	for (pp = &c->legs; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	call_relink(c);
	io_unlock(r->io, c->worker);
	for (i = 0; i < l->nmedia; i++)
		call_media_free(r, c->worker, l->media[i]);
	free(l->peer);
	free(l);
}

static void
call_free(struct relayd *r, struct call *c)
{
	struct call	**pp;

	while (c->legs)
		call_leg_free(r, c, c->legs);
	for (pp = &r->tab[call_hash(c->id) % CALL_BUCKETS]; *pp;
	    pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	r->ncalls--;
	free(c);
}

int
call_init(struct relayd *r, const struct config *cfg, char *err,
    size_t errlen)
{
	int		 n = cfg->workers;
	unsigned	 adopt = (CALL_ADOPT_PORT_MAX - CALL_ADOPT_PORT_MIN + 1) / 2;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->started = daemon_wall_s();
	if (n <= 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > 64)
		n = 64;
	if ((r->ports = ports_new(cfg->interface, cfg->port_min,
	    cfg->port_max, err, errlen)) == NULL)
		return -1;
	r->pools[0] = r->ports;
	r->npools = 1;
	/* slots for the pools an adoption may add: pointers, 8 bytes each */
	r->nslots = 2 * (ports_npairs(r->ports) + (CALL_POOLS - 1) * adopt);
	if ((r->io = io_new(n, r->nslots,
	    io_engine_parse(cfg->io_engine))) == NULL) {
		snprintf(err, errlen, "cannot start the packet workers");
		ports_destroy(&r->ports);
		return -1;
	}
	return 0;
}

void
call_fini(struct relayd *r)
{
	unsigned	 b;

	io_destroy(&r->io);	/* workers stopped: no lock needed below */
	for (b = 0; b < CALL_BUCKETS; b++)
		while (r->tab[b]) {
			struct call *c = r->tab[b];
			struct leg *l;
			unsigned i;

			while ((l = c->legs) != NULL) {
				c->legs = l->next;
				for (i = 0; i < l->nmedia; i++)
					call_media_free(r, c->worker,
					    l->media[i]);
				free(l->peer);
				free(l);
			}
			r->tab[b] = c->next;
			free(c);
		}
	r->ncalls = 0;
	for (b = 0; b < r->npools; b++)
		ports_destroy(&r->pools[b]);
	r->ports = NULL;
}

struct ports *
call_pool(struct relayd *r, const char *addr, uint16_t port)
{
	char		 err[128];
	unsigned	 i, base;
	struct ports	*p;

	/* port 0 (a leg without media): any allocator on addr, this
	 * node's first; never a new one on this node's own address */
	for (i = 0; i < r->npools; i++)
		if (strcmp(ports_addr(r->pools[i]), addr) == 0 &&
		    (port == 0 || ports_has(r->pools[i], port)))
			return r->pools[i];
	if (r->npools == CALL_POOLS) {
		log_warnx("cannot take over ports on %s: already %d addresses",
		    addr, CALL_POOLS);
		return NULL;
	}
	if ((p = ports_new(addr, CALL_ADOPT_PORT_MIN, CALL_ADOPT_PORT_MAX,
	    err, sizeof(err))) == NULL) {
		log_warnx("cannot take over ports on %s: %s", addr, err);
		return NULL;
	}
	base = ports_npairs(r->ports) + (r->npools - 1) * ports_npairs(p);
	ports_set_slot_base(p, base);
	r->pools[r->npools++] = p;
	log_info("media ports on %s taken over", addr);
	return p;
}

struct call *
call_lookup(struct relayd *r, const char *id)
{
	return call_find(r, id);
}

struct call *
call_create(struct relayd *r, const char *id)
{
	struct call	*c;
	unsigned	 b;

	if ((c = calloc(1, sizeof(*c) + strlen(id) + 1)) == NULL)
		return NULL;
	memcpy(c->id, id, strlen(id) + 1);
	c->created = daemon_wall_s();
	c->worker = call_hash(id) % io_nworkers(r->io);
	b = call_hash(id) % CALL_BUCKETS;
	c->next = r->tab[b];
	r->tab[b] = c;
	r->ncalls++;
	return c;
}

struct leg *
call_leg_lookup(struct call *c, const char *id)
{
	return call_leg(c, id);
}

struct leg *
call_leg_create(struct relayd *r, struct call *c, const char *id,
    struct ports *pool)
{
	struct leg	*l;

	if ((l = calloc(1, sizeof(*l) + strlen(id) + 1)) == NULL)
		return NULL;
	memcpy(l->id, id, strlen(id) + 1);
	l->pool = pool;
	io_lock(r->io, c->worker);
	l->next = c->legs;
	c->legs = l;
	io_unlock(r->io, c->worker);
	return l;
}

struct media *
call_media_create(struct relayd *r, struct call *c, struct leg *l,
    uint16_t port, struct relay_srtp *srtp)
{
	struct media	*m;

	if (l->nmedia == RELAY_MAX_MEDIA ||
	    (m = call_media_new(r, c, l->nmedia + 1, l->pool, port,
	    srtp)) == NULL)
		return NULL;
	io_lock(r->io, c->worker);
	l->media[l->nmedia++] = m;
	call_relink(c);
	io_unlock(r->io, c->worker);
	return m;
}

void
call_remove(struct relayd *r, struct call *c)
{
	call_free(r, c);
}

/* ---- address helpers ------------------------------------------------- */

static int
call_addr_parse(const char *s, uint64_t port, struct relay_addr *a)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (port > 65535)
		return -1;
	if (port == 0 || *s == '\0')
		return 0;	/* no endpoint (e.g. port 0 in SDP) */
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		a->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		a->len = sizeof(*sin6);
	} else
		return -1;
	return 0;
}

static void
call_pack_addr(msgpack_packer *pk, const struct relay_addr *a)
{
	char		 s[INET6_ADDRSTRLEN] = "";
	unsigned	 port = 0;

	if (a->len != 0 && a->ss.sa.sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&a->ss;
		inet_ntop(AF_INET, &sin->sin_addr, s, sizeof(s));
		port = ntohs(sin->sin_port);
	} else if (a->len != 0 && a->ss.sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&a->ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, s, sizeof(s));
		port = ntohs(sin6->sin6_port);
	}
	msgpack_pack_map(pk, 2);
	ipc_pack_str(pk, "addr");
	ipc_pack_str(pk, s);
	ipc_pack_str(pk, "port");
	msgpack_pack_unsigned_int(pk, port);
}

static void
call_pack_stream(msgpack_packer *pk, const struct stream *s)
{
	uint64_t	 errors = 0, d[RELAY_DROP_COUNT];
	int		 i, has_ssrc = RELAY_LOAD(s->has_ssrc);

	for (i = 0; i < RELAY_DROP_COUNT; i++)
		errors += (d[i] = RELAY_LOAD(s->drops[i]));
	msgpack_pack_map(pk, 13 + (has_ssrc ? 1 : 0));
	ipc_pack_str(pk, "rtcp");
	s->rtcp ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	ipc_pack_str(pk, "local_port");
	msgpack_pack_unsigned_int(pk, s->port);
	ipc_pack_str(pk, "latched");
	s->is_latched ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	ipc_pack_str(pk, "endpoint");
	call_pack_addr(pk, s->is_latched ? &s->latched : &s->adv);
	ipc_pack_str(pk, "advertised");
	call_pack_addr(pk, &s->adv);
	ipc_pack_str(pk, "last_packet");
	msgpack_pack_uint64(pk, RELAY_LOAD(s->last_packet));
	ipc_pack_str(pk, "packets");
	msgpack_pack_uint64(pk, RELAY_LOAD(s->packets));
	ipc_pack_str(pk, "bytes");
	msgpack_pack_uint64(pk, RELAY_LOAD(s->bytes));
	ipc_pack_str(pk, "errors");
	msgpack_pack_uint64(pk, errors);
	ipc_pack_str(pk, "srtp_decrypted");
	msgpack_pack_uint64(pk, RELAY_LOAD(s->srtp_decrypted));
	ipc_pack_str(pk, "srtp_encrypted");
	msgpack_pack_uint64(pk, RELAY_LOAD(s->srtp_encrypted));
	ipc_pack_str(pk, "relatched");
	msgpack_pack_uint64(pk, RELAY_LOAD(s->relatched));
	ipc_pack_str(pk, "drops");
	msgpack_pack_map(pk, RELAY_DROP_COUNT);
	for (i = 0; i < RELAY_DROP_COUNT; i++) {
		ipc_pack_str(pk, relay_drop_names[i]);
		msgpack_pack_uint64(pk, d[i]);
	}
	if (has_ssrc) {
		ipc_pack_str(pk, "ssrc");
		msgpack_pack_uint32(pk, RELAY_LOAD(s->ssrc));
	}
}

/* Adds the SRTP counters of leg l (or of every leg of c when l is NULL)
 * to *dec and *enc, which it zeroes first. */
static void
call_srtp_sum(struct leg *l, struct call *c, uint64_t *dec, uint64_t *enc)
{
	unsigned	 i, k;

	*dec = *enc = 0;
	for (l = l != NULL ? l : c->legs; l != NULL; l = c != NULL ?
	    l->next : NULL)
		for (i = 0; i < l->nmedia; i++)
			for (k = 0; k < 2; k++) {
				*dec += RELAY_LOAD(
				    l->media[i]->s[k].srtp_decrypted);
				*enc += RELAY_LOAD(
				    l->media[i]->s[k].srtp_encrypted);
			}
}

/* The "legs" value of call_query and call_delete; one leg if only != NULL.
 * Under the call's worker lock (latched addresses). */
static void
call_pack_legs(msgpack_packer *pk, struct call *c, struct leg *only)
{
	struct leg	*l;
	unsigned	 n = 0, i;
	uint64_t	 dec, enc;

	for (l = c->legs; l; l = l->next)
		if (only == NULL || l == only)
			n++;
	msgpack_pack_array(pk, n);
	for (l = c->legs; l; l = l->next) {
		if (only != NULL && l != only)
			continue;
		call_srtp_sum(l, NULL, &dec, &enc);
		msgpack_pack_map(pk, 5);
		ipc_pack_str(pk, "leg");
		ipc_pack_str(pk, l->id);
		ipc_pack_str(pk, "peer");
		ipc_pack_str(pk, l->peer != NULL ? l->peer : "");
		ipc_pack_str(pk, "srtp_decrypted");
		msgpack_pack_uint64(pk, dec);
		ipc_pack_str(pk, "srtp_encrypted");
		msgpack_pack_uint64(pk, enc);
		ipc_pack_str(pk, "media");
		msgpack_pack_array(pk, l->nmedia);
		for (i = 0; i < l->nmedia; i++) {
			msgpack_pack_map(pk, 4);
			ipc_pack_str(pk, "index");
			msgpack_pack_unsigned_int(pk, l->media[i]->index);
			ipc_pack_str(pk, "srtp_in");
			ipc_pack_str(pk, call_suite_name(
			    &l->media[i]->srtp[RELAY_SRTP_IN]));
			ipc_pack_str(pk, "srtp_out");
			ipc_pack_str(pk, call_suite_name(
			    &l->media[i]->srtp[RELAY_SRTP_OUT]));
			ipc_pack_str(pk, "streams");
			msgpack_pack_array(pk, 2);
			call_pack_stream(pk, &l->media[i]->s[0]);
			call_pack_stream(pk, &l->media[i]->s[1]);
		}
	}
}

/* ---- handlers -------------------------------------------------------- */

static int
call_refuse(struct relayd *r, const struct ipc_r *q, struct ipc_w *w,
    enum call_ipcdrop why, const char *error)
{
	r->ipc_dropped[why]++;
	ipc_w_reply(w, q->op, q->id, 0, error, 0);
	return -1;
}

static int
call_get_ids(const struct ipc_r *q, char *cid, size_t cidlen, char *leg,
    size_t leglen)
{
	if (ipc_get_strz(q->root, "call", cid, cidlen) == -1 || *cid == '\0')
		return -1;
	if (leg != NULL && (ipc_get_strz(q->root, "leg", leg, leglen) == -1 ||
	    *leg == '\0'))
		return -1;
	return 0;
}

static void
call_op_ping(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	ipc_w_reply(w, q->op, q->id, 1, NULL, 4);
	ipc_w_str(w, "daemon", "relayd");
	ipc_w_str(w, "node", r->cfg->node_id);
	ipc_w_uint(w, "pid", (uint64_t)getpid());
	ipc_w_uint(w, "uptime", daemon_wall_s() - r->started);
}

static void
call_op_leg_alloc(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	char		 cid[256], lid[RELAY_IDLEN];
	struct call	*c;
	struct leg	*l;
	uint64_t	 n;
	unsigned	 i, had;
	int		 newcall = 0, newleg = 0;

	if (call_get_ids(q, cid, sizeof(cid), lid, sizeof(lid)) == -1 ||
	    ipc_get_uint(q->root, "media", &n) == -1 || n > RELAY_MAX_MEDIA) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD,
		    "bad call, leg or media");
		return;
	}
	if ((c = call_find(r, cid)) == NULL) {
		if ((c = call_create(r, cid)) == NULL)
			goto oom;
		newcall = 1;
	}
	if ((l = call_leg(c, lid)) == NULL) {
		if ((l = call_leg_create(r, c, lid, r->ports)) == NULL)
			goto fail;
		newleg = 1;
	}
	had = l->nmedia;
	for (i = had; i < n; i++) {
		struct media *m = call_media_new(r, c, i + 1, l->pool, 0,
		    NULL);

		if (m == NULL) {
			/* undo this request's media */
			io_lock(r->io, c->worker);
			while (l->nmedia > had) {
				l->nmedia--;
				call_media_unpoll(r, c, l->media[l->nmedia]);
			}
			call_relink(c);
			io_unlock(r->io, c->worker);
			while (i > had)
				call_media_free(r, c->worker, l->media[--i]);
			goto fail;
		}
		io_lock(r->io, c->worker);
		l->media[l->nmedia++] = m;
		call_relink(c);
		io_unlock(r->io, c->worker);
	}
	ipc_w_reply(w, q->op, q->id, 1, NULL, 3);
	/* an adopted leg keeps the address of the node it came from */
	ipc_w_str(w, "addr", l->pool != r->ports ? ports_addr(l->pool) :
	    r->cfg->advertised[0] ? r->cfg->advertised : r->cfg->interface);
	ipc_w_uint(w, "family", ports_family(l->pool) == AF_INET6 ? 6 : 4);
	ipc_w_key(w, "ports");
	msgpack_pack_array(&w->pk, l->nmedia);
	for (i = 0; i < l->nmedia; i++) {
		msgpack_pack_array(&w->pk, 2);
		msgpack_pack_unsigned_int(&w->pk, l->media[i]->s[0].port);
		msgpack_pack_unsigned_int(&w->pk, l->media[i]->s[1].port);
	}
	if (newcall)
		log_info("[%s] new call", cid);
	if (newcall || newleg || l->nmedia != had)
		persist_mark(r, c);
	return;
 fail:
	if (newleg)
		call_leg_free(r, c, l);
	if (newcall)
		call_free(r, c);
	log_warnx("[%s] leg %s: ran out of ports", cid, lid);
	ipc_w_reply(w, q->op, q->id, 0, "Ran out of ports", 0);
	return;
 oom:
	ipc_w_reply(w, q->op, q->id, 0, "Ran out of ports", 0);
}

static void
call_op_leg_update(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	char				 cid[256], lid[RELAY_IDLEN];
	char				 peer[RELAY_IDLEN] = "";
	char				 addr[INET6_ADDRSTRLEN + 8];
	const msgpack_object_array	*ma;
	struct relay_addr		 a[RELAY_MAX_MEDIA][2];
	int				 set[RELAY_MAX_MEDIA] = { 0 };
	struct call			*c;
	struct leg			*l;
	uint64_t			 idx, port[2];
	uint32_t			 i, k;
	int				 has_peer;

	if (call_get_ids(q, cid, sizeof(cid), lid, sizeof(lid)) == -1) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD, "bad call or leg");
		return;
	}
	has_peer = ipc_get(q->root, "peer") != NULL;
	if (has_peer && ipc_get_strz(q->root, "peer", peer,
	    sizeof(peer)) == -1) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD, "bad peer");
		return;
	}
	if ((c = call_find(r, cid)) == NULL) {
		ipc_w_reply(w, q->op, q->id, 0, "unknown call", 0);
		return;
	}
	if ((l = call_leg(c, lid)) == NULL) {
		ipc_w_reply(w, q->op, q->id, 0, "unknown leg", 0);
		return;
	}
	if (has_peer && peer[0] && call_leg(c, peer) == NULL) {
		ipc_w_reply(w, q->op, q->id, 0, "unknown peer leg", 0);
		return;
	}
	ma = ipc_get(q->root, "media") ? ipc_get_array(q->root, "media") :
	    NULL;
	if (ipc_get(q->root, "media") != NULL && ma == NULL) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD, "bad media");
		return;
	}
	for (i = 0; ma != NULL && i < ma->size; i++) {
		const msgpack_object *o = &ma->ptr[i];

		if (o->type != MSGPACK_OBJECT_MAP ||
		    ipc_get_uint(o, "index", &idx) == -1 ||
		    ipc_get_strz(o, "addr", addr, sizeof(addr)) == -1 ||
		    ipc_get_uint(o, "rtp", &port[0]) == -1 ||
		    ipc_get_uint(o, "rtcp", &port[1]) == -1) {
			call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD,
			    "bad media");
			return;
		}
		if (idx < 1 || idx > l->nmedia) {
			ipc_w_reply(w, q->op, q->id, 0, "bad media index", 0);
			return;
		}
		for (k = 0; k < 2; k++)
			if (call_addr_parse(addr, port[k],
			    &a[idx - 1][k]) == -1) {
				call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD,
				    "bad media address");
				return;
			}
		set[idx - 1] = 1;
	}
	if (has_peer && (l->peer == NULL || strcmp(l->peer, peer) != 0)) {
		char *np = NULL;

		if (peer[0] != '\0' && (np = strdup(peer)) == NULL) {
			ipc_w_reply(w, q->op, q->id, 0, "out of memory", 0);
			return;
		}
		io_lock(r->io, c->worker);
		free(l->peer);
		l->peer = np;
		io_unlock(r->io, c->worker);
	}
	io_lock(r->io, c->worker);
	for (i = 0; i < l->nmedia; i++) {
		if (!set[i])
			continue;
		for (k = 0; k < 2; k++) {
			struct stream *s = &l->media[i]->s[k];

			if (s->adv.len == a[i][k].len &&
			    memcmp(&s->adv, &a[i][k], sizeof(s->adv)) == 0)
				continue;
			s->adv = a[i][k];
			latch_reset(s);
		}
	}
	call_relink(c);
	io_unlock(r->io, c->worker);
	persist_mark(r, c);
	ipc_w_reply(w, q->op, q->id, 1, NULL, 0);
}

/*
 * srtp_set: one SRTP direction of one media of a leg (docs/ipc.md).  The
 * new transform is built before the lock (srtp_create is the expensive
 * part); a rekey must read the old session's rollover counters, so it
 * runs under the lock, between two batches of the worker.  The key bytes
 * are wiped from every local buffer before return, whatever the outcome.
 */
static void
call_op_srtp_set(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	char			 cid[256], lid[RELAY_IDLEN], dir[8];
	char			 suite[64], err[128];
	struct srtpx_key	 k;
	struct relay_srtp	*x;
	struct srtpx		*nx = NULL;
	struct call		*c;
	struct leg		*l;
	const void		*key, *wrapped = NULL;
	size_t			 keylen, wrappedlen = 0;
	uint8_t			*wcopy = NULL;
	uint64_t		 idx;
	int			 has_suite, has_key, d, rc, si;
	int			 ue = 0, uec = 0, ua = 0;
	const char		*error = NULL;

	memset(&k, 0, sizeof(k));
	has_suite = ipc_get(q->root, "profile") != NULL;
	has_key = ipc_get(q->root, "key") != NULL;
	if (call_get_ids(q, cid, sizeof(cid), lid, sizeof(lid)) == -1 ||
	    ipc_get_uint(q->root, "media", &idx) == -1 ||
	    ipc_get_strz(q->root, "dir", dir, sizeof(dir)) == -1 ||
	    (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) ||
	    has_suite != has_key ||
	    (has_suite && (ipc_get_strz(q->root, "profile", suite,
	    sizeof(suite)) == -1 ||
	    ipc_get_bin(q->root, "key", &key, &keylen) == -1)) ||
	    (ipc_get(q->root, "unencrypted_srtp") != NULL &&
	    ipc_get_bool(q->root, "unencrypted_srtp", &ue) == -1) ||
	    (ipc_get(q->root, "unencrypted_srtcp") != NULL &&
	    ipc_get_bool(q->root, "unencrypted_srtcp", &uec) == -1) ||
	    (ipc_get(q->root, "unauthenticated_srtp") != NULL &&
	    ipc_get_bool(q->root, "unauthenticated_srtp", &ua) == -1) ||
	    (ipc_get(q->root, "wrapped") != NULL && (!has_suite ||
	    ipc_get_bin(q->root, "wrapped", &wrapped, &wrappedlen) == -1 ||
	    wrappedlen == 0 || wrappedlen > 1024))) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD,
		    "bad call, leg, media, dir, profile, key or session "
		    "parameter");
		return;
	}
	d = strcmp(dir, "in") == 0 ? RELAY_SRTP_IN : RELAY_SRTP_OUT;
	if (has_suite) {
		if ((si = sdes_suite_by_name(suite, strlen(suite))) == -1 ||
		    srtpx_key_len(sdes_suite_info((enum sdes_suite)si)->
		    profile) == 0) {
			ipc_w_reply(w, q->op, q->id, 0, "unsupported suite", 0);
			return;
		}
		k.profile = sdes_suite_info((enum sdes_suite)si)->profile;
		if (keylen != srtpx_key_len(k.profile) ||
		    keylen > sizeof(k.key)) {
			ipc_w_reply(w, q->op, q->id, 0, "bad key length", 0);
			return;
		}
		memcpy(k.key, key, keylen);
		k.len = keylen;
		k.unencrypted_srtp = ue != 0;
		k.unencrypted_srtcp = uec != 0;
		k.unauthenticated_srtp = ua != 0;
	}
	if ((c = call_find(r, cid)) == NULL)
		error = "unknown call";
	else if ((l = call_leg(c, lid)) == NULL)
		error = "unknown leg";
	else if (idx < 1 || idx > l->nmedia)
		error = "bad media index";
	if (error != NULL) {
		ipc_w_reply(w, q->op, q->id, 0, error, 0);
		goto done;
	}
	x = &l->media[idx - 1]->srtp[d];
	if (wrapped != NULL) {
		if ((wcopy = malloc(wrappedlen)) == NULL) {
			ipc_w_reply(w, q->op, q->id, 0, "out of memory", 0);
			goto done;
		}
		memcpy(wcopy, wrapped, wrappedlen);
	}
	/* x->key is control-thread only: compare without the lock */
	if (has_suite && x->x != NULL && x->key.profile == k.profile &&
	    x->key.len == k.len && call_key_eq(&x->key, &k) &&
	    x->key.unencrypted_srtp == k.unencrypted_srtp &&
	    x->key.unencrypted_srtcp == k.unencrypted_srtcp &&
	    x->key.unauthenticated_srtp == k.unauthenticated_srtp) {
		if (wcopy != NULL && (x->wrapped == NULL ||
		    x->wrapped_len != wrappedlen)) {
			free(x->wrapped);
			x->wrapped = wcopy;
			x->wrapped_len = wrappedlen;
			wcopy = NULL;
			persist_mark(r, c);
		}
		ipc_w_reply(w, q->op, q->id, 1, NULL, 0);	/* no-op */
		goto done;
	}
	if (has_suite && x->x == NULL &&
	    (nx = srtpx_new(&k, d == RELAY_SRTP_IN, err, sizeof(err))) ==
	    NULL) {
		log_warnx("[%s] leg %s media %u %s: %s", cid, lid,
		    (unsigned)idx, dir, err);
		ipc_w_reply(w, q->op, q->id, 0, "unsupported suite", 0);
		goto done;
	}
	rc = 0;
	io_lock(r->io, c->worker);
	if (!has_suite)
		call_srtp_clear(x);
	else if (nx != NULL) {
		x->x = nx;
		x->key = k;
	} else if ((rc = srtpx_rekey(x->x, &k, err, sizeof(err))) == 0)
		x->key = k;
	if (rc == 0 && has_suite) {
		free(x->wrapped);
		x->wrapped = wcopy;
		x->wrapped_len = wcopy != NULL ? wrappedlen : 0;
		wcopy = NULL;
	}
	io_unlock(r->io, c->worker);
	persist_mark(r, c);
	if (rc == -1) {
		log_warnx("[%s] leg %s media %u %s: rekey: %s", cid, lid,
		    (unsigned)idx, dir, err);
		ipc_w_reply(w, q->op, q->id, 0, "unsupported suite", 0);
		goto done;
	}
	log_info("[%s] leg %s media %u %s: %s%s%s%s%s", cid, lid,
	    (unsigned)idx, dir, !has_suite ? "plain RTP" : suite,
	    k.unencrypted_srtp ? " UNENCRYPTED_SRTP" : "",
	    k.unencrypted_srtcp ? " UNENCRYPTED_SRTCP" : "",
	    k.unauthenticated_srtp ? " UNAUTHENTICATED_SRTP" : "",
	    nx == NULL && has_suite ? " (rekeyed)" : "");
	ipc_w_reply(w, q->op, q->id, 1, NULL, 0);
 done:
	free(wcopy);
	explicit_bzero(&k, sizeof(k));
}

static void
call_op_delete(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	char		 cid[256], lid[RELAY_IDLEN] = "";
	struct call	*c;
	struct leg	*l = NULL;

	if (call_get_ids(q, cid, sizeof(cid), NULL, 0) == -1 ||
	    (ipc_get(q->root, "leg") != NULL &&
	    ipc_get_strz(q->root, "leg", lid, sizeof(lid)) == -1)) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD, "bad call or leg");
		return;
	}
	if ((c = call_find(r, cid)) == NULL) {
		ipc_w_reply(w, q->op, q->id, 0, "unknown call", 0);
		return;
	}
	if (lid[0] && (l = call_leg(c, lid)) == NULL) {
		ipc_w_reply(w, q->op, q->id, 0, "unknown leg", 0);
		return;
	}
	ipc_w_reply(w, q->op, q->id, 1, NULL, 1);
	ipc_w_key(w, "legs");
	io_lock(r->io, c->worker);
	call_pack_legs(&w->pk, c, l);
	io_unlock(r->io, c->worker);
	if (l != NULL) {
		call_leg_free(r, c, l);
		persist_mark(r, c);
		log_info("[%s] leg %s deleted", cid, lid);
	} else {
		persist_forget(r, c);
		call_free(r, c);
		log_info("[%s] deleted", cid);
	}
}

static void
call_op_query(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	char		 cid[256];
	struct call	*c;
	uint64_t	 dec, enc;

	if (call_get_ids(q, cid, sizeof(cid), NULL, 0) == -1) {
		call_refuse(r, q, w, CALL_IPCDROP_BAD_FIELD, "bad call");
		return;
	}
	if ((c = call_find(r, cid)) == NULL) {
		ipc_w_reply(w, q->op, q->id, 0, "unknown call", 0);
		return;
	}
	call_srtp_sum(NULL, c, &dec, &enc);
	ipc_w_reply(w, q->op, q->id, 1, NULL, 4);
	ipc_w_uint(w, "created", c->created);
	ipc_w_uint(w, "srtp_decrypted", dec);
	ipc_w_uint(w, "srtp_encrypted", enc);
	ipc_w_key(w, "legs");
	io_lock(r->io, c->worker);
	call_pack_legs(&w->pk, c, NULL);
	io_unlock(r->io, c->worker);
}

static void
call_op_list(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	struct call	*c;
	unsigned	 b;

	if (r->restore_pending) {
		/* the calls in Redis are not back yet: an incomplete list
		 * would read as calls lost */
		ipc_w_reply(w, q->op, q->id, 0, "restoring", 0);
		return;
	}
	ipc_w_reply(w, q->op, q->id, 1, NULL, 1);
	ipc_w_key(w, "calls");
	msgpack_pack_array(&w->pk, r->ncalls);
	for (b = 0; b < CALL_BUCKETS; b++)
		for (c = r->tab[b]; c; c = c->next)
			ipc_pack_str(&w->pk, c->id);
}

typedef void (*call_handler)(struct relayd *, const struct ipc_r *,
    struct ipc_w *);

static const call_handler call_handlers[IPC_OP_COUNT] = {
	[IPC_OP_PING] = call_op_ping,
	[IPC_OP_LEG_ALLOC] = call_op_leg_alloc,
	[IPC_OP_LEG_UPDATE] = call_op_leg_update,
	[IPC_OP_CALL_DELETE] = call_op_delete,
	[IPC_OP_CALL_QUERY] = call_op_query,
	[IPC_OP_CALL_LIST] = call_op_list,
	[IPC_OP_SRTP_SET] = call_op_srtp_set,
	[IPC_OP_NODE_ADOPT] = persist_op_adopt,
};

void
call_handle(struct relayd *r, const struct ipc_r *q, struct ipc_w *w)
{
	if (q->is_reply || q->op >= IPC_OP_COUNT ||
	    call_handlers[q->op] == NULL) {
		r->ipc_dropped[CALL_IPCDROP_UNKNOWN_OP]++;
		ipc_w_reply(w, q->op >= IPC_OP_COUNT ? IPC_OP_PING : q->op,
		    q->id, 0, "unsupported op", 0);
		return;
	}
	call_handlers[q->op](r, q, w);
}

int
call_sweep(struct relayd *r, uint64_t now, void (*cb)(void *, const char *),
    void *arg)
{
	struct call	*c, *next;
	struct leg	*l;
	uint64_t	 last, t;
	unsigned	 b, i, k;
	int		 n = 0;

	if (r->cfg->media_timeout <= 0)
		return 0;
	for (b = 0; b < CALL_BUCKETS; b++)
		for (c = r->tab[b]; c; c = next) {
			next = c->next;
			/* a restored call's packet times were lost with the
			 * old process: silence counts from the restore */
			last = c->created > c->restored ? c->created :
			    c->restored;
			for (l = c->legs; l; l = l->next)
				for (i = 0; i < l->nmedia; i++)
					for (k = 0; k < 2; k++) {
						t = RELAY_LOAD(
						    l->media[i]->s[k].last_packet);
						if (t > last)
							last = t;
					}
			/* whole seconds: only when now is past last +
			 * timeout has the call been silent for at least
			 * media_timeout seconds */
			if (now <= last + (uint64_t)r->cfg->media_timeout)
				continue;
			log_info("[%s] media timeout", c->id);
			if (cb != NULL)
				cb(arg, c->id);
			persist_forget(r, c);
			call_free(r, c);
			r->timeouts++;
			n++;
		}
	return n;
}
