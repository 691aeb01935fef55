/*
 * ng: framing, decoding and reply caching of ng messages; see ng.h.
 * Everything here works on explicit lengths: a datagram is not a string.
 */
#include <stdio.h>
#include <string.h>

#include "libcommon/bencode.h"
#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "libcommon/ngjson.h"
#include "libcommon/store.h"
#include "ctld/ctld.h"
#include "ctld/ng.h"
#include "ctld/ngcache.h"
#include "ctld/ngpersist.h"
#include "ctld/session.h"

int
ng_split(const char *data, size_t len, const char **cookie, size_t *clen,
    const char **payload, size_t *plen)
{
	const char	*sp;

	/* the cookie is echoed and cached: a longer one is no ng client's */
	if ((sp = memchr(data, ' ', len < NG_COOKIE_MAX ? len :
	    NG_COOKIE_MAX)) == NULL || sp == data)
		return -1;
	*cookie = data;
	*clen = (size_t)(sp - data);
	*payload = sp + 1;
	*plen = len - *clen - 1;
	return 0;
}

int
ng_encode(struct buf *out, const struct ngval *v, int json)
{
	return json ? ngjson_encode(out, v) : bencode_encode(out, v);
}

/* The encoded error reply for a message that never reached a command. */
static enum ng_cmd
ng_fail(struct ctld *c, struct ngarena *a, const char *reason, int json,
    const char *src, struct buf *out)
{
	struct ngval	*r;

	c->ng_requests[NG_CMD_UNKNOWN][NG_RES_ERROR]++;
	ctld_count_proxy(c, src, NG_CMD_UNKNOWN, 1);
	if ((r = ngcmd_error_reply(a, reason)) != NULL)
		ng_encode(out, r, json);
	return NG_CMD_UNKNOWN;
}

enum ng_cmd
ng_run(struct ctld *c, const char *payload, size_t plen, const char *src,
    struct buf *out)
{
	struct ngarena	*a;
	struct ngval	*root;
	struct ng_req	 req;
	const char	*err = NULL;
	enum ng_cmd	 cmd;
	int		 json;

	if ((a = ngarena_new()) == NULL) {
		buf_addstr(out, "d6:result5:error12:error-reason13:Out of memorye");
		return NG_CMD_UNKNOWN;
	}
	json = plen > 0 && payload[0] == '{';
	if (plen == 0) {
		cmd = ng_fail(c, a, "Invalid data (no payload)", 0, src, out);
		goto done;
	}
	if (payload[0] == 'd')
		root = bencode_decode(a, payload, plen, &err);
	else if (json)
		root = ngjson_decode(a, payload, plen, &err);
	else {
		cmd = ng_fail(c, a, "Invalid NG data format", 0, src, out);
		goto done;
	}
	if (root == NULL || root->type != NGV_DICT) {
		log_debug("ng: undecodable %s from %s: %s",
		    json ? "JSON" : "bencode", src, err ? err : "not a dict");
		cmd = ng_fail(c, a, json ? "Could not decode JSON dictionary" :
		    "Could not decode bencode dictionary", json, src, out);
		goto done;
	}
	memset(&req, 0, sizeof(req));
	req.arena = a;
	req.dict = root;
	req.src = src;
	if ((req.reply = ngval_dict(a)) == NULL) {
		cmd = ng_fail(c, a, "Out of memory", json, src, out);
		goto done;
	}
	cmd = ngcmd_dispatch(c, &req);
	if (ng_encode(out, req.reply, json) == -1)
		log_warnx("ng: cannot encode the reply to %s", src);
 done:
	ngarena_destroy(&a);
	return cmd;
}

/* Replaces a reply that does not fit with an error reply. */
static void
ng_too_large(struct buf *out, size_t start, const char *cookie, size_t clen,
    int json, size_t len)
{
	out->len = start;
	buf_add(out, cookie, clen);
	buf_addc(out, ' ');
	if (json)
		buf_addstr(out, "{\"result\":\"error\",\"error-reason\":"
		    "\"Reply too large for UDP, use TCP\"}");
	else
		buf_addstr(out, "d6:result5:error12:error-reason32:"
		    "Reply too large for UDP, use TCPe");
	log_warnx("ng: a %zu-byte reply does not fit, sent an error", len);
}

/*
 * 1 when the message may be an offer, answer or delete: the commands a
 * retransmission must not run twice.  A cheap look at the bytes, before
 * decoding; a false positive only costs a Redis lookup.
 */
static int
ng_may_change(const char *p, size_t len)
{
	static const char *const pat[] = { "5:offer", "6:answer", "6:delete",
	    "\"offer\"", "\"answer\"", "\"delete\"" };
	size_t	 i;

	for (i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
		if (memmem(p, len, pat[i], strlen(pat[i])) != NULL)
			return 1;
	return 0;
}

/*
 * A reply the previous ctld sent (or was about to send) for this cookie,
 * from Redis (ngpersist.h): looked up only while the memory cache may be
 * missing it, the first reply_cache_s after start.  1 when found (out
 * then holds "COOKIE SP REPLY").
 */
static int
ng_persisted(struct ctld *c, const char *cookie, size_t clen,
    const char *payload, size_t plen, struct buf *out)
{
	size_t	 start = out->len;
	int	 window;

	if (c->ngp == NULL)
		return 0;
	window = c->cfg->reply_cache_s > 0 ? c->cfg->reply_cache_s : 60;
	if (daemon_now_ms() - c->started_ms >= (uint64_t)window * 1000 ||
	    !ng_may_change(payload, plen))
		return 0;
	buf_add(out, cookie, clen);
	buf_addc(out, ' ');
	if (ngpersist_get(c->ngp, cookie, clen, out) != 1 || out->oom) {
		out->oom = 0;
		out->len = start;
		return 0;
	}
	log_info("ng: cookie %.*s was answered before the restart, replaying",
	    (int)(clen > 64 ? 64 : clen), cookie);
	if (c->cache != NULL)
		ngcache_put(c->cache, cookie, clen, out->p + start + clen + 1,
		    out->len - start - clen - 1);
	return 1;
}

int
ng_handle(struct ctld *c, const char *data, size_t len, const char *src,
    struct buf *out, size_t maxlen)
{
	const char	*cookie, *payload, *cached;
	size_t		 clen, plen, rlen, start = out->len;
	enum ng_cmd	 cmd;

	if (ng_split(data, len, &cookie, &clen, &payload, &plen) == -1) {
		if (++c->ng_dropped[CTLD_NG_DROP_NO_COOKIE] <= 10 ||
		    c->ng_dropped[CTLD_NG_DROP_NO_COOKIE] % 1000 == 0)
			log_warnx("ng: message from %s without a cookie, "
			    "ignored (%llu so far)", src, (unsigned long long)
			    c->ng_dropped[CTLD_NG_DROP_NO_COOKIE]);
		return -1;
	}
	if (c->cache != NULL &&
	    (cached = ngcache_get(c->cache, cookie, clen, &rlen)) != NULL) {
		log_debug("ng: cookie %.*s from %s is a duplicate, replaying",
		    (int)(clen > 64 ? 64 : clen), cookie, src);
		buf_add(out, cookie, clen);
		buf_addc(out, ' ');
		buf_add(out, cached, rlen);
		return out->oom ? -1 : 0;
	}
	if (ng_persisted(c, cookie, clen, payload, plen, out))
		return 0;
	buf_add(out, cookie, clen);
	buf_addc(out, ' ');
	cmd = ng_run(c, payload, plen, src, out);
	if (out->oom) {
		out->oom = 0;
		out->len = start;
		buf_add(out, cookie, clen);
		buf_addstr(out, " d6:result5:error12:error-reason13:"
		    "Out of memorye");
	}
	if (out->len - start > maxlen)
		ng_too_large(out, start, cookie, clen,
		    plen > 0 && payload[0] == '{', out->len - start);
	if (c->cache != NULL)
		ngcache_put(c->cache, cookie, clen, out->p + start + clen + 1,
		    out->len - start - clen - 1);
	/*
	 * Redis gets the call's record, then the reply, before the reply
	 * goes out (both only sent, never waited for): a ctld killed once
	 * the proxy has its reply restarts with both, and a retransmission
	 * finds the reply instead of running the command again.
	 *
	 * Only when the record went out too: with Redis down (or records
	 * still queued for it) the record waits in memory, and a reply
	 * kept without it would answer a retransmission, after a restart,
	 * for a call Redis never got; the command then runs again instead.
	 * (The reply has its own connection: the two cannot share one
	 * MULTI, and the record is sent first.)
	 */
	session_flush(c);
	if (c->ngp != NULL && (cmd == NG_CMD_OFFER || cmd == NG_CMD_ANSWER ||
	    cmd == NG_CMD_DELETE) && (c->store == NULL ||
	    (store_connected(c->store) && store_pending(c->store) == 0)))
		(void)ngpersist_put(c->ngp, cookie, clen,
		    out->p + start + clen + 1, out->len - start - clen - 1);
	return out->oom ? -1 : 0;
}

/* End of one bencode value at p (exclusive), 0 if incomplete, -1 bad. */
static ssize_t
ng_bencode_skip(const char *d, size_t len, size_t p, int depth)
{
	size_t	 n;

	if (p >= len)
		return 0;
	if (depth > 64)
		return -1;
	switch (d[p]) {
	case 'i':
		for (p++; p < len && d[p] != 'e'; p++)
			if (d[p] != '-' && (d[p] < '0' || d[p] > '9'))
				return -1;
		return p < len ? (ssize_t)p + 1 : 0;
	case 'l':
	case 'd':
		p++;
		for (;;) {
			ssize_t	 e;

			if (p >= len)
				return 0;
			if (d[p] == 'e')
				return (ssize_t)p + 1;
			if ((e = ng_bencode_skip(d, len, p, depth + 1)) <= 0)
				return e;
			p = (size_t)e;
		}
	default:
		if (d[p] < '0' || d[p] > '9')
			return -1;
		for (n = 0; p < len && d[p] >= '0' && d[p] <= '9'; p++) {
			n = n * 10 + (size_t)(d[p] - '0');
			if (n > NG_TCP_MAX)
				return -1;
		}
		if (p >= len)
			return 0;
		if (d[p] != ':')
			return -1;
		p++;
		if (len - p < n)
			return 0;
		return (ssize_t)(p + n);
	}
}

/* End of one JSON object starting at p, 0 if incomplete, -1 bad. */
static ssize_t
ng_json_skip(const char *d, size_t len, size_t p)
{
	int	 depth = 0, instr = 0, esc = 0;

	for (; p < len; p++) {
		char	 ch = d[p];

		if (instr) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				instr = 0;
			continue;
		}
		if (ch == '"')
			instr = 1;
		else if (ch == '{' || ch == '[') {
			if (++depth > 64)
				return -1;
		} else if (ch == '}' || ch == ']') {
			if (--depth == 0)
				return (ssize_t)p + 1;
			if (depth < 0)
				return -1;
		}
	}
	return 0;
}

ssize_t
ng_tcp_msglen(const char *d, size_t len)
{
	size_t	 p = 0, sp;
	ssize_t	 e;

	while (p < len && (d[p] == '\r' || d[p] == '\n' || d[p] == ' ' ||
	    d[p] == '\t'))
		p++;
	for (sp = p; sp < len && d[sp] != ' '; sp++)
		if (sp - p >= NG_COOKIE_MAX || d[sp] == '\n' || d[sp] == '\r')
			return -1;
	if (sp >= len)
		return 0;
	if (sp == p)
		return -1;
	p = sp + 1;
	if (p >= len)
		return 0;
	if (d[p] == 'd')
		e = ng_bencode_skip(d, len, p, 0);
	else if (d[p] == '{')
		e = ng_json_skip(d, len, p);
	else
		return -1;
	if (e == 0 && len > NG_TCP_MAX)
		return -1;
	return e;
}
