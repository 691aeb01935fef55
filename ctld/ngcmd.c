/*
 * ngcmd: the command table (ngcmd.h) turned into names, dispatch and
 * counters, and the commands that need no call: ping, list, statistics.
 */
#include <stdio.h>
#include <string.h>

#include "libcommon/log.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/ngcmd.h"

#define NG_CMD_NAME(e, n, s, h)	n,
static const char *const ng_cmd_names[] = {
	NG_COMMANDS(NG_CMD_NAME) "unknown"
};
#define NG_CMD_STAT(e, n, s, h)	s,
static const char *const ng_cmd_stats[] = {
	NG_COMMANDS(NG_CMD_STAT) "unknown"
};
#define NG_CMD_HANDLER(e, n, s, h)	h,
static const ng_handler ng_handlers[] = { NG_COMMANDS(NG_CMD_HANDLER) };
#define NG_RES_NAME(e, n, l)	n,
static const char *const ng_res_names[] = { NG_RESULTS(NG_RES_NAME) };
#define NG_RES_LABEL(e, n, l)	l,
static const char *const ng_res_labels[] = { NG_RESULTS(NG_RES_LABEL) };
#define CTLD_DROP_NAME(e, s)	s,
static const char *const ng_drop_names[] = { CTLD_NG_DROPS(CTLD_DROP_NAME) };
static const char *const ipc_drop_names[] = { CTLD_IPC_DROPS(CTLD_DROP_NAME) };

const char *
ngcmd_name(enum ng_cmd c)
{
	return c <= NG_CMD_COUNT ? ng_cmd_names[c] : "unknown";
}

const char *
ngcmd_stat_name(enum ng_cmd c)
{
	return c <= NG_CMD_COUNT ? ng_cmd_stats[c] : "unknown";
}

const char *
ngcmd_result_name(enum ng_result r)
{
	return r < NG_RES_COUNT ? ng_res_names[r] : "error";
}

const char *
ngcmd_result_label(enum ng_result r)
{
	return r < NG_RES_COUNT ? ng_res_labels[r] : "error";
}

const char *
ctld_ng_drop_name(enum ctld_ng_drop d)
{
	return d < CTLD_NG_DROP_COUNT ? ng_drop_names[d] : "unknown";
}

const char *
ctld_ipc_drop_name(enum ctld_ipc_drop d)
{
	return d < CTLD_IPC_DROP_COUNT ? ipc_drop_names[d] : "unknown";
}

enum ng_cmd
ngcmd_lookup(const char *s, size_t len)
{
	int	 i;

	for (i = 0; i < NG_CMD_COUNT; i++)
		if (strlen(ng_cmd_names[i]) == len &&
		    memcmp(ng_cmd_names[i], s, len) == 0)
			return (enum ng_cmd)i;
	return NG_CMD_UNKNOWN;
}

void
ctld_count_proxy(struct ctld *c, const char *src, enum ng_cmd cmd, int error)
{
	struct ctld_proxy	*p = NULL;
	int			 i;

	if (src == NULL || src[0] == '\0')
		src = "zmq";
	for (i = 0; i < c->nproxies; i++)
		if (strcmp(c->proxies[i].addr, src) == 0) {
			p = &c->proxies[i];
			break;
		}
	if (p == NULL) {
		if (c->nproxies == CTLD_MAX_PROXIES)
			p = &c->proxies[CTLD_MAX_PROXIES - 1];	/* "other" */
		else {
			p = &c->proxies[c->nproxies++];
			snprintf(p->addr, sizeof(p->addr), "%s", src);
		}
	}
	if (cmd < NG_CMD_COUNT)
		p->count[cmd]++;
	if (error)
		p->errors++;
}

struct ngval *
ngcmd_error_reply(struct ngarena *a, const char *reason)
{
	struct ngval	*r;

	if ((r = ngval_dict(a)) == NULL ||
	    ngval_put_str(a, r, "result", "error") == -1 ||
	    ngval_put_str(a, r, "error-reason", reason) == -1)
		return NULL;
	return r;
}

enum ng_result
ngcmd_error(struct ng_req *req, const char *reason)
{
	req->errmsg = reason;
	return NG_RES_ERROR;
}

enum ng_cmd
ngcmd_dispatch(struct ctld *c, struct ng_req *req)
{
	const char	*s;
	size_t		 len;
	enum ng_cmd	 cmd = NG_CMD_UNKNOWN;
	enum ng_result	 res;
	struct ngval	*r;

	if (ngval_get(req->dict, "command") == NULL)
		res = ngcmd_error(req, "Dictionary contains no key \"command\"");
	else if (ngval_get_str(req->dict, "command", &s, &len) == -1 ||
	    (cmd = ngcmd_lookup(s, len)) == NG_CMD_UNKNOWN)
		res = ngcmd_error(req, "Unrecognized command");
	else
		res = ng_handlers[cmd](c, req);

	c->ng_requests[cmd][res]++;
	ctld_count_proxy(c, req->src, cmd, res == NG_RES_ERROR);
	switch (res) {
	case NG_RES_ERROR:
		if ((r = ngcmd_error_reply(req->arena, req->errmsg != NULL ?
		    req->errmsg : "Internal error")) != NULL)
			req->reply = r;
		log_debug("ng: %s: error: %s", ngcmd_name(cmd),
		    req->errmsg ? req->errmsg : "?");
		break;
	case NG_RES_LOAD_LIMIT:
		if ((r = ngval_dict(req->arena)) != NULL &&
		    ngval_put_str(req->arena, r, "result", "load limit") == 0 &&
		    ngval_put_str(req->arena, r, "message", req->errmsg != NULL ?
		    req->errmsg : "Parallel session limit reached") == 0)
			req->reply = r;
		break;
	default:
		ngval_put_str(req->arena, req->reply, "result",
		    ngcmd_result_name(res));
		break;
	}
	return cmd;
}

enum ng_result
cmd_ping(struct ctld *c, struct ng_req *req)
{
	(void)c;
	(void)req;
	return NG_RES_PONG;
}

enum ng_result
cmd_list(struct ctld *c, struct ng_req *req)
{
	struct ngval	*l;
	struct call	*call;
	int64_t		 limit = 32;

	if (ngval_get(req->dict, "limit") != NULL &&
	    ngval_get_int(req->dict, "limit", &limit) == -1)
		limit = 32;
	if (limit < 0)
		return ngcmd_error(req, "invalid limit, must be >= 0");
	if ((l = ngval_put_list(req->arena, req->reply, "calls")) == NULL)
		return ngcmd_error(req, "Out of memory");
	for (call = calls_first(c->calls); call != NULL && limit > 0;
	    call = call->next, limit--)
		if (ngval_append(l, ngval_strz(req->arena, call->id)) == -1)
			return ngcmd_error(req, "Out of memory");
	return NG_RES_OK;
}
