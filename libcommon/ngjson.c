/*
 * ngjson: the JSON framing of the ng protocol, through json-c.
 *
 * rtpengine accepts a JSON object where bencode would carry a dictionary
 * (the cookie, a space, then "{...}").  json-c does the parsing, with the
 * input length given explicitly and nesting bounded; the json-c tree is
 * then copied into the caller's arena (strings included) and freed, so
 * the ngval tree does not depend on json-c objects.
 *
 * Limits of going through json-c: object keys are C strings (a key with
 * "\u0000" is cut there), a repeated key keeps its last value, and a
 * number json-c had to clamp (errno ERANGE) is refused rather than
 * silently changed.  NaN and Infinity, which json-c accepts even in
 * strict mode, are not JSON and are refused.  json-c's strict mode still
 * takes 'single-quoted' strings and raw control characters inside
 * strings; both are harmless here and are left to it.  On output a dict's
 * repeated key keeps its first value, the one ngval_get() sees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "libcommon/ngjson.h"

/* Nested arrays and objects, as BENCODE_MAX_DEPTH.  json-c's own bound
 * (which counts a scalar in the innermost container as a level, but not
 * an empty innermost container) is one more; ngjson_from() enforces this
 * one exactly. */
#define NGJSON_MAX_DEPTH	32

static struct ngval *
ngjson_from(struct ngarena *a, struct json_object *o, int depth,
    const char **err)
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
		/* above INT64_MAX json-c keeps a uint64_t */
		if (json_object_get_int64(o) == INT64_MAX &&
		    json_object_get_uint64(o) > INT64_MAX) {
			*err = "integer out of range";
			return NULL;
		}
		return ngval_int(a, json_object_get_int64(o));
	case json_type_double:
		/* the number's own text, as json-c keeps it from the input */
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (s == NULL)
			return NULL;
		if ((s[0] < '0' || s[0] > '9') &&
		    (s[0] != '-' || s[1] < '0' || s[1] > '9')) {
			*err = "NaN or Infinity is not JSON";
			return NULL;
		}
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
		if (depth >= NGJSON_MAX_DEPTH) {
			*err = "nested too deep";
			return NULL;
		}
		if ((v = ngval_list(a)) == NULL)
			return NULL;
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			c = ngjson_from(a, json_object_array_get_idx(o, i),
			    depth + 1, err);
			if (ngval_append(v, c) == -1)
				return NULL;
		}
		return v;
	case json_type_object:
		if (depth >= NGJSON_MAX_DEPTH) {
			*err = "nested too deep";
			return NULL;
		}
		if ((v = ngval_dict(a)) == NULL)
			return NULL;
		json_object_object_foreach(o, key, val) {
			c = ngjson_from(a, val, depth + 1, err);
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
	if (p == NULL || len == 0) {
		*err = "empty input";
		return NULL;
	}
	if (len > INT32_MAX) {
		*err = "input too large";
		return NULL;
	}
	if ((tok = json_tokener_new_ex(NGJSON_MAX_DEPTH + 1)) == NULL) {
		*err = "out of memory";
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	errno = 0;
	o = json_tokener_parse_ex(tok, p, (int)len);
	end = json_tokener_get_parse_end(tok);
	/* a bare number at the very end is complete only when told so */
	if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue &&
	    end == len)
		o = json_tokener_parse_ex(tok, "", 1);
	if (o != NULL && errno == ERANGE) {
		*err = "number out of range";
		goto done;
	}
	if (o == NULL) {
		*err = json_tokener_get_error(tok) == json_tokener_continue ?
		    "truncated JSON" :
		    json_tokener_error_desc(json_tokener_get_error(tok));
		goto done;
	}
	/* Only whitespace may follow the value. */
	for (; end < len; end++)
		if (strchr(" \t\r\n", p[end]) == NULL || p[end] == '\0') {
			*err = "trailing bytes after JSON";
			goto done;
		}
	v = ngjson_from(a, o, 0, err);
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
	char			*key;

	switch (v->type) {
	case NGV_INT:
		return json_object_new_int64(v->i);
	case NGV_STR:
		if (v->len > INT32_MAX)
			return NULL;
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
			/* a C string for json-c; cut at a NUL, as it would */
			key = strndup(m->key != NULL ? m->key : "",
			    m->key != NULL ? m->keylen : 0);
			if (key == NULL) {
				json_object_put(o);
				return NULL;
			}
			if (json_object_object_get_ex(o, key, NULL)) {
				free(key);	/* the first one wins */
				continue;
			}
			c = ngjson_to(m);
			if (c == NULL || json_object_object_add(o, key, c) != 0) {
				free(key);
				json_object_put(c);
				json_object_put(o);
				return NULL;
			}
			free(key);
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

	if (v == NULL || (o = ngjson_to(v)) == NULL)
		return -1;
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s != NULL)
		buf_add(out, s, len);
	json_object_put(o);
	return s == NULL || out->oom ? -1 : 0;
}
