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
	msgpack_pack_map(&pk, 11);
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
	ipc_pack_str(&pk, "parties");
	msgpack_pack_array(&pk, c->nparty);
	for (i = 0; i < c->nparty; i++)
		record_party(&pk, &c->party[i]);
}

static void
get_str(const msgpack_object *o, const char *k, char *dst, size_t len)
{
	if (ipc_get_strz(o, k, dst, len) == -1)
		dst[0] = '\0';
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
	get_str(o, "tag", p->tag, sizeof(p->tag));
	p->untagged = (unsigned)get_uint(o, "untagged", 0);
	get_str(o, "label", p->label, sizeof(p->label));
	get_str(o, "via_branch", p->via_branch, sizeof(p->via_branch));
	get_str(o, "leg", p->leg, sizeof(p->leg));
	p->peer = ipc_get_int(o, "peer", &peer) == 0 && peer >= 0 &&
	    peer < CALL_MAX_PARTIES ? (int)peer : -1;
	p->created = get_uint(o, "created", 0);
	p->have_sdp = get_uint(o, "have_sdp", 0) != 0;
	p->gone = get_uint(o, "gone", 0) != 0;
	get_str(o, "laddr", p->laddr, sizeof(p->laddr));
	p->lfamily = get_uint(o, "lfamily", 4) == 6 ? 6 : 4;
	get_str(o, "dir_from", p->direction[0], sizeof(p->direction[0]));
	get_str(o, "dir_to", p->direction[1], sizeof(p->direction[1]));
	if ((ma = ipc_get_array(o, "media")) == NULL)
		return 0;
	if (ma->size > SDP_MAX_MEDIA || party_set_nmedia(p, ma->size) == -1)
		return -1;
	for (i = 0; i < ma->size; i++) {
		const msgpack_object	*mo = &ma->ptr[i];
		struct media		*m = &p->media[i];

		if (mo->type != MSGPACK_OBJECT_MAP)
			return -1;
		get_str(mo, "type", m->type, sizeof(m->type));
		get_str(mo, "proto", m->proto, sizeof(m->proto));
		get_str(mo, "codec", m->codec, sizeof(m->codec));
		get_str(mo, "addr", m->addr, sizeof(m->addr));
		m->family = get_uint(mo, "family", 4) == 6 ? 6 : 4;
		m->rtp = (unsigned)get_uint(mo, "rtp", 0) & 0xffff;
		m->rtcp = (unsigned)get_uint(mo, "rtcp", 0) & 0xffff;
		m->local_rtp = (unsigned)get_uint(mo, "local_rtp", 0) & 0xffff;
		m->local_rtcp = (unsigned)get_uint(mo, "local_rtcp", 0) & 0xffff;
		m->dir = (int)(get_uint(mo, "dir", 0) & 7);
		m->srtp = get_uint(mo, "srtp", 0) != 0;
		get_str(mo, "suite", m->suite, sizeof(m->suite));
		m->tag = (unsigned)(get_uint(mo, "tag", 0) & 0xffffffffU);
		m->sdes_params = (unsigned)get_uint(mo, "sdes_params", 0) &
		    SDES_P_ALL;
	}
	return 0;
}

int
record_decode(const void *data, size_t len, struct call *c)
{
	msgpack_unpacked		 u;
	const msgpack_object		*o;
	const msgpack_object_array	*pa;
	size_t				 off = 0, i;
	int				 rc = -1;

	msgpack_unpacked_init(&u);
	if (ipc_framing_ok(data, len) == -1 ||
	    msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len || u.data.type != MSGPACK_OBJECT_MAP)
		goto done;
	o = &u.data;
	if (ipc_get_strz(o, "call", c->id, sizeof(c->id)) == -1 ||
	    c->id[0] == '\0')
		goto done;
	c->created = get_uint(o, "created", 0);
	c->created_us = get_uint(o, "created_us", 0);
	c->last_signal = get_uint(o, "last_signal", c->created);
	c->next_untagged = (unsigned)get_uint(o, "next_untagged", 1);
	c->next_leg = (unsigned)get_uint(o, "next_leg", 1);
	c->srtp = get_uint(o, "srtp", 0) != 0;
	/* a delete was pending: its delay is not kept, reap it at once */
	c->delete_at_ms = get_uint(o, "deleting", 0) != 0 ? 1 : 0;
	if ((pa = ipc_get_array(o, "parties")) != NULL) {
		if (pa->size > CALL_MAX_PARTIES)
			goto done;
		for (i = 0; i < pa->size; i++) {
			c->nparty = i + 1;
			if (record_decode_party(&pa->ptr[i], &c->party[i]) == -1)
				goto done;
		}
	}
	for (i = 0; i < c->nparty; i++)
		if (c->party[i].peer >= (int)c->nparty)
			c->party[i].peer = -1;
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	return rc;
}
