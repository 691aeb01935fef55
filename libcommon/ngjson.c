/*
 * ngjson: the JSON framing of the ng protocol, through json-c.
 *
 * rtpengine accepts a JSON object where bencode would carry a dictionary
 * (the cookie, a space, then "{...}").  json-c does the parsing, with the
 * input length given explicitly and nesting bounded; the json-c tree is
 * then copied into the caller's arena (strings included) and freed, so
 * the ngval tree does not depend on json-c objects.
 */
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "libcommon/ngjson.h"

#define NGJSON_MAX_DEPTH	32

static struct ngval *
ngjson_from(struct ngarena *a, struct json_object *o, const char **err)
{
	struct ngval	*v, *c;
	const char	*s;
	size_t		 i, n;

	switch (json_object_get_type(o)) {
	case json_type_null:
		return ngval_str(a, "", 0);
	case json_type_boolean:
		return ngval_int(a, json_object_get_boolean(o) ? 1 : 0);
	case json_type_int:
		return ngval_int(a, json_object_get_int64(o));
	case json_type_double:
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		n = strlen(s);
		if ((s = ngarena_strdup(a, s, n)) == NULL)
			return NULL;
		return ngval_str(a, s, n);
	case json_type_string:
		s = json_object_get_string(o);
		n = (size_t)json_object_get_string_len(o);
		if ((s = ngarena_strdup(a, s, n)) == NULL)
			return NULL;
		return ngval_str(a, s, n);
	case json_type_array:
		if ((v = ngval_list(a)) == NULL)
			return NULL;
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			c = ngjson_from(a, json_object_array_get_idx(o, i), err);
			if (ngval_append(v, c) == -1)
				return NULL;
		}
		return v;
	case json_type_object:
		if ((v = ngval_dict(a)) == NULL)
			return NULL;
		json_object_object_foreach(o, key, val) {
			c = ngjson_from(a, val, err);
			if (ngval_put(a, v, key, c) == -1)
				return NULL;
		}
		return v;
	}
	*err = "unsupported JSON type";
	return NULL;
}

struct ngval *
ngjson_decode(struct ngarena *a, const char *p, size_t len, const char **err)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	struct ngval		*v = NULL;
	size_t			 end;

	*err = NULL;
	if (p == NULL || len == 0 || len > INT32_MAX) {
		*err = "empty input";
		return NULL;
	}
	if ((tok = json_tokener_new_ex(NGJSON_MAX_DEPTH)) == NULL) {
		*err = "out of memory";
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, p, (int)len);
	if (o == NULL) {
		*err = json_tokener_get_error(tok) == json_tokener_continue ?
		    "truncated JSON" :
		    json_tokener_error_desc(json_tokener_get_error(tok));
		goto done;
	}
	/* Only whitespace may follow the value. */
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", p[end]) == NULL || p[end] == '\0') {
			*err = "trailing bytes after JSON";
			goto done;
		}
	v = ngjson_from(a, o, err);
	if (v == NULL && *err == NULL)
		*err = "out of memory";
done:
	json_object_put(o);
	json_tokener_free(tok);
	return v;
}

static struct json_object *
ngjson_to(const struct ngval *v)
{
	struct json_object	*o, *c;
	const struct ngval	*m;
	char			 key[256];
	size_t			 kl;

	switch (v->type) {
	case NGV_INT:
		return json_object_new_int64(v->i);
	case NGV_STR:
		return json_object_new_string_len(v->s, (int)v->len);
	case NGV_LIST:
		if ((o = json_object_new_array()) == NULL)
			return NULL;
		for (m = v->child; m != NULL; m = m->next) {
			if ((c = ngjson_to(m)) == NULL ||
			    json_object_array_add(o, c) != 0) {
				json_object_put(c);
				json_object_put(o);
				return NULL;
			}
		}
		return o;
	case NGV_DICT:
		if ((o = json_object_new_object()) == NULL)
			return NULL;
		for (m = v->child; m != NULL; m = m->next) {
			kl = m->keylen < sizeof(key) - 1 ? m->keylen :
			    sizeof(key) - 1;
			memcpy(key, m->key != NULL ? m->key : "", kl);
			key[kl] = '\0';
			if ((c = ngjson_to(m)) == NULL ||
			    json_object_object_add(o, key, c) != 0) {
				json_object_put(c);
				json_object_put(o);
				return NULL;
			}
		}
		return o;
	}
	return NULL;
}

int
ngjson_encode(struct buf *out, const struct ngval *v)
{
	struct json_object	*o;
	const char		*s;
	size_t			 len;

	if (v == NULL || v->len > INT32_MAX || (o = ngjson_to(v)) == NULL)
		return -1;
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s != NULL)
		buf_add(out, s, len);
	json_object_put(o);
	return s == NULL || out->oom ? -1 : 0;
}
