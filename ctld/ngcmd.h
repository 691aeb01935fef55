/*
 * ngcmd: the ng commands ctld answers, declared once.
 *
 * NG_COMMANDS below is the only place a command is spelled: it yields the
 * enum, the names matched against the request's "command" (exact,
 * case-sensitive, as rtpengine does), the short names rtpengine uses in
 * `statistics` (controlstatistics "<stat>count"), the dispatch table and
 * the per-command, per-result counters that become
 * rtpsec_ng_requests_total{command=,result=}.
 *
 * A handler fills the reply dict (it may add "sdp", "warning", ...) and
 * returns the result; ngcmd_dispatch() adds "result" (and "error-reason"
 * when the handler left one with ngcmd_error()).
 */
#ifndef CTLD_NGCMD_H
#define CTLD_NGCMD_H

#include <stdint.h>

#include "libcommon/ngval.h"

struct ctld;

/* X(ENUM, "command", "stat name", handler) */
#define NG_COMMANDS(X)							\
	X(PING, "ping", "ping", cmd_ping)				\
	X(OFFER, "offer", "offer", cmd_offer)				\
	X(ANSWER, "answer", "answer", cmd_answer)			\
	X(DELETE, "delete", "delete", cmd_delete)			\
	X(QUERY, "query", "query", cmd_query)				\
	X(LIST, "list", "list", cmd_list)				\
	X(STATISTICS, "statistics", "stats", cmd_statistics)

#define NG_CMD_ENUM(e, n, s, h)	NG_CMD_##e,
enum ng_cmd {
	NG_COMMANDS(NG_CMD_ENUM)
	NG_CMD_COUNT,
	NG_CMD_UNKNOWN = NG_CMD_COUNT	/* undecodable or unrecognized */
};

/* X(ENUM, "result value", "metric label") */
#define NG_RESULTS(X)							\
	X(OK, "ok", "ok")						\
	X(PONG, "pong", "pong")						\
	X(ERROR, "error", "error")					\
	X(LOAD_LIMIT, "load limit", "load_limit")

#define NG_RES_ENUM(e, n, l)	NG_RES_##e,
enum ng_result {
	NG_RESULTS(NG_RES_ENUM)
	NG_RES_COUNT
};

/* What a handler gets besides the request. */
struct ng_req {
	struct ngarena		*arena;	/* the request's and reply's arena */
	const struct ngval	*dict;	/* the decoded request */
	struct ngval		*reply;	/* the reply dict, without "result" */
	const char		*errmsg;	/* set by ngcmd_error() */
	const char		*src;	/* source address ("" for the ZMQ API) */
};

typedef enum ng_result	(*ng_handler)(struct ctld *, struct ng_req *);

#define NG_CMD_PROTO(e, n, s, h)					\
	enum ng_result h(struct ctld *, struct ng_req *);
NG_COMMANDS(NG_CMD_PROTO)

const char	*ngcmd_name(enum ng_cmd);	/* "unknown" for NG_CMD_UNKNOWN */
const char	*ngcmd_stat_name(enum ng_cmd);
const char	*ngcmd_result_name(enum ng_result);	/* reply's "result" */
const char	*ngcmd_result_label(enum ng_result);	/* metric label */
enum ng_cmd	 ngcmd_lookup(const char *, size_t);

/*
 * Runs the request's command and completes req->reply with "result" (and
 * "error-reason").  Counts the request in c's counters.  Returns the
 * command (NG_CMD_UNKNOWN for a missing or unrecognized one).
 */
enum ng_cmd	 ngcmd_dispatch(struct ctld *, struct ng_req *);
/* Fills in an error reply's reason; returns NG_RES_ERROR. */
enum ng_result	 ngcmd_error(struct ng_req *, const char *reason);
/* Builds a complete error reply dict {result: error, error-reason: r}. */
struct ngval	*ngcmd_error_reply(struct ngarena *, const char *reason);

#endif
