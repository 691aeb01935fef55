/*
 * record: msgpack encoding of a call for Redis; see record.h and
 * docs/redis.md, which lists every field.  Encoder and decoder sit side
 * by side; both must change together.
 */
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipc.h"
#include "libcommon/sdes.h"
#include "ctld/record.h"

static void
kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	ipc_pack_str(pk, k);
	ipc_pack_str(pk, v);
}

static void
kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
	ipc_pack_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void
kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
	ipc_pack_str(pk, k);
	msgpack_pack_int64(pk, v);
}

static void
record_media(msgpack_packer *pk, const struct media *m)
{
	msgpack_pack_map(pk, 14);
	kv_str(pk, "type", m->type);
	kv_str(pk, "proto", m->proto);
	kv_str(pk, "codec", m->codec);
	kv_str(pk, "addr", m->addr);
	kv_uint(pk, "family", (uint64_t)m->family);
	kv_uint(pk, "rtp", m->rtp);
	kv_uint(pk, "rtcp", m->rtcp);
	kv_uint(pk, "local_rtp", m->local_rtp);
	kv_uint(pk, "local_rtcp", m->local_rtcp);
	kv_uint(pk, "dir", (uint64_t)m->dir);
	/* SDES: which side speaks SRTP, the suite and tag; never a key */
	kv_uint(pk, "srtp", (uint64_t)(m->srtp != 0));
	kv_str(pk, "suite", m->suite);
	kv_uint(pk, "tag", m->tag);
	kv_uint(pk, "sdes_params", m->sdes_params);
}

static void
record_party(msgpack_packer *pk, const struct party *p)
{
	size_t	 i;

	msgpack_pack_map(pk, 14);
	kv_str(pk, "tag", p->tag);
	kv_uint(pk, "untagged", p->untagged);
	kv_str(pk, "label", p->label);
	kv_str(pk, "via_branch", p->via_branch);
	kv_str(pk, "leg", p->leg);
	kv_int(pk, "peer", p->peer);
	kv_uint(pk, "created", p->created);
	kv_uint(pk, "have_sdp", (uint64_t)p->have_sdp);
	kv_uint(pk, "gone", (uint64_t)p->gone);
	kv_str(pk, "laddr", p->laddr);
	kv_uint(pk, "lfamily", (uint64_t)p->lfamily);
	kv_str(pk, "dir_from", p->direction[0]);
	kv_str(pk, "dir_to", p->direction[1]);
	ipc_pack_str(pk, "media");
	msgpack_pack_array(pk, p->nmedia);
	for (i = 0; i < p->nmedia; i++)
		record_media(pk, &p->media[i]);
}

void
record_encode(msgpack_sbuffer *sb, const struct call *c, const char *node)
{
	msgpack_packer	 pk;
	size_t		 i;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 12);
	kv_uint(&pk, "v", RECORD_VERSION);
	kv_str(&pk, "call", c->id);
	kv_str(&pk, "node", node);
	kv_uint(&pk, "created", c->created);
	kv_uint(&pk, "created_us", c->created_us);
	kv_uint(&pk, "last_signal", c->last_signal);
	kv_uint(&pk, "deleting", c->delete_at_ms != 0);
	kv_uint(&pk, "next_untagged", c->next_untagged);
	kv_uint(&pk, "next_leg", c->next_leg);
	kv_uint(&pk, "srtp", (uint64_t)(c->srtp != 0));
	kv_str(&pk, "relay_node", c->relay_node);
	ipc_pack_str(&pk, "parties");
	msgpack_pack_array(&pk, c->nparty);
	for (i = 0; i < c->nparty; i++)
		record_party(&pk, &c->party[i]);
}

/* A string field of at most size - 1 bytes (the bounds ctld checks at
 * the ng parser), or "".  -1 only when memory runs out. */
static int
get_str(const msgpack_object *o, const char *k, const char **f, size_t size)
{
	const char	*s;
	size_t		 len;

	if (ipc_get_str(o, k, &s, &len) == -1 || !call_str_fits(s, len, size))
		len = 0;
	return call_str_set(f, s, len);
}

static uint64_t
get_uint(const msgpack_object *o, const char *k, uint64_t def)
{
	uint64_t	 v;

	return ipc_get_uint(o, k, &v) == 0 ? v : def;
}

static int
record_decode_party(const msgpack_object *o, struct party *p)
{
	const msgpack_object_array	*ma;
	int64_t				 peer;
	size_t				 i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -1;
	if (get_str(o, "tag", &p->tag, CALL_TAGLEN) == -1 ||
	    get_str(o, "label", &p->label, CALL_TAGLEN) == -1 ||
	    get_str(o, "via_branch", &p->via_branch, CALL_TAGLEN) == -1 ||
	    get_str(o, "laddr", &p->laddr, SDP_ADDRLEN) == -1 ||
	    get_str(o, "dir_from", &p->direction[0], 32) == -1 ||
	    get_str(o, "dir_to", &p->direction[1], 32) == -1)
		return -1;
	p->untagged = (unsigned)get_uint(o, "untagged", 0);
	if (ipc_get_strz(o, "leg", p->leg, sizeof(p->leg)) == -1)
		p->leg[0] = '\0';
	p->peer = ipc_get_int(o, "peer", &peer) == 0 && peer >= 0 &&
	    peer < CALL_MAX_PARTIES ? (int)peer : -1;
	p->created = get_uint(o, "created", 0);
	p->have_sdp = get_uint(o, "have_sdp", 0) != 0;
	p->gone = get_uint(o, "gone", 0) != 0;
	p->lfamily = get_uint(o, "lfamily", 4) == 6 ? 6 : 4;
	if ((ma = ipc_get_array(o, "media")) == NULL)
		return 0;
	if (ma->size > SDP_MAX_MEDIA || party_set_nmedia(p, ma->size) == -1)
		return -1;
	for (i = 0; i < ma->size; i++) {
		const msgpack_object	*mo = &ma->ptr[i];
		struct media		*m = &p->media[i];

		if (mo->type != MSGPACK_OBJECT_MAP)
			return -1;
		if (get_str(mo, "type", &m->type, 16) == -1 ||
		    get_str(mo, "proto", &m->proto, 32) == -1 ||
		    get_str(mo, "codec", &m->codec, 64) == -1 ||
		    get_str(mo, "addr", &m->addr, SDP_ADDRLEN) == -1 ||
		    get_str(mo, "suite", &m->suite, 32) == -1)
			return -1;
		m->family = get_uint(mo, "family", 4) == 6 ? 6 : 4;
		m->rtp = (uint16_t)get_uint(mo, "rtp", 0);
		m->rtcp = (uint16_t)get_uint(mo, "rtcp", 0);
		m->local_rtp = (uint16_t)get_uint(mo, "local_rtp", 0);
		m->local_rtcp = (uint16_t)get_uint(mo, "local_rtcp", 0);
		m->dir = (uint8_t)(get_uint(mo, "dir", 0) & 7);
		m->srtp = get_uint(mo, "srtp", 0) != 0;
		m->tag = (unsigned)(get_uint(mo, "tag", 0) & 0xffffffffU);
		m->sdes_params = (uint16_t)(get_uint(mo, "sdes_params", 0) &
		    SDES_P_ALL);
	}
	return 0;
}

struct call *
record_decode(const void *data, size_t len)
{
	msgpack_unpacked		 u;
	const msgpack_object		*o;
	const msgpack_object_array	*pa;
	struct call			*c = NULL;
	const char			*id;
	size_t				 off = 0, i, idlen;
	int				 ok = 0;

	msgpack_unpacked_init(&u);
	if (ipc_framing_ok(data, len) == -1 ||
	    msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len || u.data.type != MSGPACK_OBJECT_MAP)
		goto done;
	o = &u.data;
	if (ipc_get_str(o, "call", &id, &idlen) == -1 ||
	    (c = call_alloc(id, idlen)) == NULL)
		goto done;
	c->created = get_uint(o, "created", 0);
	c->created_us = get_uint(o, "created_us", 0);
	c->last_signal = get_uint(o, "last_signal", c->created);
	c->next_untagged = (unsigned)get_uint(o, "next_untagged", 1);
	c->next_leg = (unsigned)get_uint(o, "next_leg", 1);
	c->srtp = get_uint(o, "srtp", 0) != 0;
	/* absent in records of version 1 (one relay node): "" is it */
	if (get_str(o, "relay_node", &c->relay_node, 64) == -1)
		goto done;
	/* a delete was pending: its delay is not kept, reap it at once */
	c->delete_at_ms = get_uint(o, "deleting", 0) != 0 ? 1 : 0;
	if ((pa = ipc_get_array(o, "parties")) != NULL) {
		if (pa->size > CALL_MAX_PARTIES)
			goto done;
		for (i = 0; i < pa->size; i++) {
			/* party_add's defaults; the record overrides them */
			unsigned	 nu = c->next_untagged, nl = c->next_leg;

			if (call_party_add(c, NULL, 0, 0) == -1)
				goto done;
			c->next_untagged = nu;
			c->next_leg = nl;
			if (record_decode_party(&pa->ptr[i], &c->party[i]) == -1)
				goto done;
		}
	}
	for (i = 0; i < c->nparty; i++)
		if (c->party[i].peer >= (int)c->nparty)
			c->party[i].peer = -1;
	ok = 1;
 done:
	msgpack_unpacked_destroy(&u);
	if (!ok)
		call_destroy(&c);
	return c;
}
