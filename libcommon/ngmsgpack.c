/*
 * ngmsgpack: ng commands and replies as msgpack, for ctld's ZeroMQ API.
 *
 * The msgpack object comes from ipc_r_parse (already bounded by the
 * message size); here it is only mapped onto ngval, with nesting bounded
 * and map keys required to be strings.  Strings are copied into the arena
 * so the tree outlives the ZeroMQ message.
 */
#include <string.h>

#include "libcommon/ngmsgpack.h"

#define NGMSGPACK_MAX_DEPTH	32	/* nested arrays and maps */

static struct ngval *
from(struct ngarena *a, const msgpack_object *o, int depth, const char **err)
{
	const msgpack_object_kv	*kv;
	struct ngval		*v, *c;
	const char		*s;
	char			*k;
	uint32_t		 i, n;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return ngval_str(a, "", 0);
	case MSGPACK_OBJECT_BOOLEAN:
		return ngval_int(a, o->via.boolean ? 1 : 0);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX) {
			*err = "integer out of range";
			return NULL;
		}
		return ngval_int(a, (int64_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return ngval_int(a, o->via.i64);
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		s = o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr :
		    o->via.bin.ptr;
		n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size :
		    o->via.bin.size;
		if ((k = ngarena_strdup(a, s, n)) == NULL)
			break;
		return ngval_str(a, k, n);
	case MSGPACK_OBJECT_ARRAY:
		if (depth >= NGMSGPACK_MAX_DEPTH) {
			*err = "nested too deep";
			return NULL;
		}
		if ((v = ngval_list(a)) == NULL)
			break;
		for (i = 0; i < o->via.array.size; i++) {
			c = from(a, &o->via.array.ptr[i], depth + 1, err);
			if (c == NULL)
				return NULL;
			ngval_append(v, c);
		}
		return v;
	case MSGPACK_OBJECT_MAP:
		if (depth >= NGMSGPACK_MAX_DEPTH) {
			*err = "nested too deep";
			return NULL;
		}
		if ((v = ngval_dict(a)) == NULL)
			break;
		for (i = 0; i < o->via.map.size; i++) {
			kv = &o->via.map.ptr[i];
			if (kv->key.type != MSGPACK_OBJECT_STR) {
				*err = "map key is not a string";
				return NULL;
			}
			if ((c = from(a, &kv->val, depth + 1, err)) == NULL)
				return NULL;
			if ((k = ngarena_strdup(a, kv->key.via.str.ptr,
			    kv->key.via.str.size)) == NULL) {
				*err = "out of memory";
				return NULL;
			}
			c->key = k;
			c->keylen = kv->key.via.str.size;
			ngval_append(v, c);
		}
		return v;
	default:
		*err = "unsupported msgpack type (float or ext)";
		return NULL;
	}
	*err = "out of memory";
	return NULL;
}

struct ngval *
ngmsgpack_from(struct ngarena *a, const msgpack_object *o, const char **err)
{
	struct ngval	*v;

	*err = NULL;
	if ((v = from(a, o, 0, err)) == NULL && *err == NULL)
		*err = "out of memory";
	return v;
}

void
ngmsgpack_pack(msgpack_packer *pk, const struct ngval *v)
{
	const struct ngval	*c;

	switch (v->type) {
	case NGV_INT:
		msgpack_pack_int64(pk, v->i);
		break;
	case NGV_STR:
		msgpack_pack_str(pk, v->len);
		msgpack_pack_str_body(pk, v->s, v->len);
		break;
	case NGV_LIST:
		msgpack_pack_array(pk, v->count);
		for (c = v->child; c != NULL; c = c->next)
			ngmsgpack_pack(pk, c);
		break;
	case NGV_DICT:
		msgpack_pack_map(pk, v->count);
		for (c = v->child; c != NULL; c = c->next) {
			if (c->key != NULL) {
				msgpack_pack_str(pk, c->keylen);
				msgpack_pack_str_body(pk, c->key, c->keylen);
			} else
				msgpack_pack_str(pk, 0);
			ngmsgpack_pack(pk, c);
		}
		break;
	}
}
