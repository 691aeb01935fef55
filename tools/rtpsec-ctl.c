/*
 * rtpsec-ctl: the control CLI (rtpsec-ctl(8)), rtpsec's rtpengine-ctl.
 *
 * It speaks the ZeroMQ API: an ng command goes to ctld's ROUTER as the
 * ipc op `ng` (field `cmd`, the ng dict packed by ngmsgpack), and the ng
 * reply comes back in the reply's `reply` map (docs/ipc.md).  `ping` and
 * `health` use the ipc `ping` op every ROUTER answers.
 *
 * Endpoints come from the configuration (-f), ipc:// names resolved
 * against run_dir as the daemons resolve them after their chdir.
 *
 * Exit status: 0 success, 1 an ng error or a daemon that does not answer,
 * 2 usage or configuration error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/buf.h"
#include "libcommon/config.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/ngjson.h"
#include "libcommon/ngmsgpack.h"
#include "libcommon/ngval.h"

#define CTL_TIMEOUT_MS	2000
#define CTL_EPLEN	(CONFIG_STRLEN * 2 + 16)

#define CTL_OK		0
#define CTL_FAIL	1
#define CTL_USAGE	2

struct ctl {
	struct config	 cfg;
	const char	*endpoint;	/* -s, or NULL */
	const char	*daemon;	/* -d: ctld, relayd or keyd */
	int		 json;		/* -j */
	int		 timeout_ms;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: rtpsec-ctl [-j] [-d daemon] [-f file] [-s endpoint] "
	    "[-t ms] command\n"
	    "commands:\n"
	    "  list totals         ng statistics, summarised\n"
	    "  list sessions       call-ids, one per line\n"
	    "  show CALLID         tags, media, streams, endpoints, counters\n"
	    "  terminate CALLID    delete the call\n"
	    "  ping                ping ctld (or -d relayd|keyd)\n"
	    "  health              ping relayd, keyd and ctld\n");
	exit(CTL_USAGE);
}

/*
 * An ipc:// endpoint that names a relative path is relative to run_dir:
 * the daemons bind it after chdir(run_dir).  Anything else is used as is.
 */
static void
ctl_resolve(const struct config *cfg, const char *ep, char *out,
    size_t outlen)
{
	const char	*path;

	if (strncmp(ep, "ipc://", 6) == 0) {
		path = ep + 6;
		if (*path != '/' && *path != '@') {
			snprintf(out, outlen, "ipc://%s/%s", cfg->run_dir,
			    path);
			return;
		}
	}
	snprintf(out, outlen, "%s", ep);
}

static const char *
ctl_daemon_endpoint(const struct ctl *c, const char *daemon)
{
	if (strcmp(daemon, "relayd") == 0)
		return c->cfg.relayd_ctl;
	if (strcmp(daemon, "keyd") == 0)
		return c->cfg.keyd_ctl;
	if (strcmp(daemon, "ctld") == 0)
		return c->cfg.ctld_ctl;
	return NULL;
}

/*
 * ipc_client_call() with the whole timeout: a new DEALER (ZMQ_IMMEDIATE)
 * has no connection for the first milliseconds, and a send then fails at
 * once with "peer unavailable"; retry that until the deadline.
 */
static int
ctl_call(struct ipc_client *cl, const struct ipc_w *w, uint64_t id,
    int timeout_ms, struct ipc_r *r)
{
	int64_t	 deadline = zclock_mono() + timeout_ms, left;

	for (;;) {
		left = deadline - zclock_mono();
		if (ipc_client_call(cl, w, id, left > 0 ? (int)left : 1,
		    r) == 0)
			return 0;
		if (strncmp(r->error, "peer unavailable", 16) != 0 ||
		    zclock_mono() + 10 >= deadline)
			return -1;
		ipc_r_free(r);
		zclock_sleep(10);
	}
}

/* ---- ping ------------------------------------------------------------- */

/* Pings one ROUTER and prints one line.  0 if it answered, else -1. */
static int
ctl_ping_one(const struct ctl *c, const char *daemon, const char *ep)
{
	struct ipc_client	*cl;
	struct ipc_w		 w;
	struct ipc_r		 r;
	char			 endpoint[CTL_EPLEN], name[64], node[CONFIG_STRLEN];
	uint64_t		 id, pid = 0, uptime = 0;
	int			 rc = -1;

	ctl_resolve(&c->cfg, ep, endpoint, sizeof(endpoint));
	if ((cl = ipc_client_new(endpoint)) == NULL) {
		printf("%-7s down  (cannot connect to %s)\n", daemon, endpoint);
		return -1;
	}
	ipc_w_init(&w);
	id = ipc_client_next_id(cl);
	ipc_w_begin(&w, IPC_OP_PING, id, 0);
	if (ctl_call(cl, &w, id, c->timeout_ms, &r) == -1) {
		if (strncmp(r.error, "peer unavailable", 16) == 0)
			printf("%-7s down  (no connection to %s)\n", daemon,
			    endpoint);
		else
			printf("%-7s down  (%s: %s)\n", daemon, endpoint,
			    r.error);
	} else if (!r.ok)
		printf("%-7s down  (%s: %s)\n", daemon, endpoint, r.error);
	else {
		if (ipc_get_strz(r.root, "daemon", name, sizeof(name)) == -1)
			snprintf(name, sizeof(name), "?");
		if (ipc_get_strz(r.root, "node", node, sizeof(node)) == -1)
			snprintf(node, sizeof(node), "?");
		(void)ipc_get_uint(r.root, "pid", &pid);
		(void)ipc_get_uint(r.root, "uptime", &uptime);
		printf("%-7s up    (daemon %s, node %s, pid %llu, uptime %llus)\n",
		    daemon, name, node, (unsigned long long)pid,
		    (unsigned long long)uptime);
		rc = 0;
	}
	ipc_r_free(&r);
	ipc_w_free(&w);
	ipc_client_destroy(&cl);
	return rc;
}

static int
ctl_ping(const struct ctl *c)
{
	const char	*daemon = c->daemon ? c->daemon : "ctld";
	const char	*ep;

	if ((ep = c->endpoint) == NULL &&
	    (ep = ctl_daemon_endpoint(c, daemon)) == NULL)
		usage();
	return ctl_ping_one(c, daemon, ep) == 0 ? CTL_OK : CTL_FAIL;
}

static int
ctl_health(const struct ctl *c)
{
	static const char *const daemons[] = { "relayd", "keyd", "ctld" };
	size_t	 i;
	int	 rc = CTL_OK;

	for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
		if (ctl_ping_one(c, daemons[i],
		    ctl_daemon_endpoint(c, daemons[i])) == -1)
			rc = CTL_FAIL;
	return rc;
}

/* ---- ng over the ZeroMQ API -------------------------------------------- */

/*
 * Sends cmd to ctld and decodes the ng reply into the arena.  Returns the
 * reply, or NULL (reason printed) when ctld did not produce one.
 */
static struct ngval *
ctl_ng(const struct ctl *c, struct ngarena *a, const struct ngval *cmd)
{
	struct ipc_client	*cl;
	struct ipc_w		 w;
	struct ipc_r		 r;
	const msgpack_object	*m;
	struct ngval		*reply = NULL;
	const char		*err = NULL;
	char			 endpoint[CTL_EPLEN];
	uint64_t		 id;

	ctl_resolve(&c->cfg, c->endpoint ? c->endpoint : c->cfg.ctld_ctl,
	    endpoint, sizeof(endpoint));
	if ((cl = ipc_client_new(endpoint)) == NULL) {
		fprintf(stderr, "rtpsec-ctl: cannot connect to %s\n",
		    endpoint);
		return NULL;
	}
	ipc_w_init(&w);
	id = ipc_client_next_id(cl);
	ipc_w_begin(&w, IPC_OP_NG, id, 1);
	ipc_w_key(&w, "cmd");
	ngmsgpack_pack(&w.pk, cmd);
	if (ctl_call(cl, &w, id, c->timeout_ms, &r) == -1)
		fprintf(stderr, "rtpsec-ctl: ctld (%s): %s\n", endpoint,
		    strncmp(r.error, "peer unavailable", 16) == 0 ?
		    "not running (no connection)" : r.error);
	else if (!r.ok)
		fprintf(stderr, "rtpsec-ctl: ctld refused: %s\n", r.error);
	else if ((m = ipc_get_map(r.root, "reply")) == NULL)
		fprintf(stderr, "rtpsec-ctl: ctld's reply has no ng reply\n");
	else if ((reply = ngmsgpack_from(a, m, &err)) == NULL ||
	    reply->type != NGV_DICT) {
		fprintf(stderr, "rtpsec-ctl: bad ng reply: %s\n",
		    err ? err : "not a dict");
		reply = NULL;
	}
	ipc_r_free(&r);
	ipc_w_free(&w);
	ipc_client_destroy(&cl);
	return reply;
}

/* 0 if the reply's result is not "error" (printing the reason if it is). */
static int
ctl_ng_result(const struct ngval *reply)
{
	const char	*s;
	size_t		 len;

	if (ngval_get_str(reply, "result", &s, &len) == 0 &&
	    len == 5 && memcmp(s, "error", 5) == 0) {
		if (ngval_get_str(reply, "error-reason", &s, &len) == -1) {
			s = "unknown error";
			len = strlen(s);
		}
		fprintf(stderr, "rtpsec-ctl: %.*s\n", (int)len, s);
		return -1;
	}
	if (ngval_get_str(reply, "warning", &s, &len) == 0)
		fprintf(stderr, "rtpsec-ctl: warning: %.*s\n", (int)len, s);
	return 0;
}

static int
ctl_print_json(const struct ngval *reply)
{
	struct buf	 b;

	buf_init(&b);
	if (ngjson_encode(&b, reply) == -1 || b.oom) {
		buf_free(&b);
		fprintf(stderr, "rtpsec-ctl: cannot encode the reply\n");
		return -1;
	}
	printf("%s\n", b.p ? b.p : "");
	buf_free(&b);
	return 0;
}

/* ---- printing ng values ------------------------------------------------- */

static void
ctl_put(const struct ngval *v)
{
	if (v->type == NGV_INT)
		printf("%lld", (long long)v->i);
	else if (v->type == NGV_STR)
		printf("%.*s", (int)v->len, v->s);
}

static int
ctl_scalar(const struct ngval *v)
{
	return v->type == NGV_INT || v->type == NGV_STR;
}

static int
ctl_all_scalar(const struct ngval *list)
{
	const struct ngval	*m;

	for (m = list->child; m != NULL; m = m->next)
		if (!ctl_scalar(m))
			return 0;
	return 1;
}

/* A readable, indented rendering of any ng value (used by list totals). */
static void
ctl_tree(const struct ngval *v, int depth)
{
	const struct ngval	*m, *e;
	int			 first;

	for (m = v->child; m != NULL; m = m->next) {
		printf("%*s", depth * 2, "");
		if (v->type == NGV_DICT)
			printf("%-*.*s ", 44 - depth * 2, (int)m->keylen,
			    m->key);
		else
			printf("- ");
		if (ctl_scalar(m)) {
			ctl_put(m);
			printf("\n");
		} else if (m->type == NGV_LIST && ctl_all_scalar(m)) {
			first = 1;
			for (e = m->child; e != NULL; e = e->next) {
				printf("%s", first ? "" : ", ");
				ctl_put(e);
				first = 0;
			}
			printf("\n");
		} else {
			printf("\n");
			ctl_tree(m, depth + 1);
		}
	}
}

static const char *
ctl_section_title(const struct ngval *m)
{
	static const struct {
		const char	*key;
		const char	*title;
	} titles[] = {
		{ "currentstatistics", "Statistics over currently running "
		    "sessions" },
		{ "totalstatistics", "Total statistics" },
		{ "intervalstatistics", "Interval statistics" },
		{ "mos", "MOS statistics" },
		{ "controlstatistics", "Control statistics" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strlen(titles[i].key) == m->keylen &&
		    memcmp(titles[i].key, m->key, m->keylen) == 0)
			return titles[i].title;
	return NULL;
}

static void
ctl_print_totals(const struct ngval *reply)
{
	const struct ngval	*st, *m;
	const char		*title;

	if ((st = ngval_get(reply, "statistics")) == NULL ||
	    st->type != NGV_DICT) {
		ctl_tree(reply, 0);
		return;
	}
	for (m = st->child; m != NULL; m = m->next) {
		if ((title = ctl_section_title(m)) != NULL)
			printf("%s:\n\n", title);
		else
			printf("%.*s:\n\n", (int)m->keylen, m->key);
		if (ctl_scalar(m)) {
			printf("  ");
			ctl_put(m);
			printf("\n");
		} else
			ctl_tree(m, 1);
		printf("\n");
	}
}

static void
ctl_print_time(const char *label, const struct ngval *d, const char *key)
{
	char		 tbuf[64];
	int64_t		 t;
	time_t		 tt;
	struct tm	 tm;

	if (ngval_get_int(d, key, &t) == -1)
		return;
	tt = (time_t)t;
	if (t > 0 && gmtime_r(&tt, &tm) != NULL &&
	    strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S UTC", &tm) > 0)
		printf("%s%s", label, tbuf);
	else
		printf("%s%lld", label, (long long)t);
}

static void
ctl_print_str(const char *label, const struct ngval *d, const char *key)
{
	const char	*s;
	size_t		 len;

	if (ngval_get_str(d, key, &s, &len) == 0)
		printf("%s%.*s", label, (int)len, s);
}

static void
ctl_print_addr(const char *label, const struct ngval *ep)
{
	const char	*s;
	size_t		 len;
	int64_t		 port;

	if (ep == NULL || ep->type != NGV_DICT)
		return;
	if (ngval_get_str(ep, "address", &s, &len) == -1 || len == 0)
		return;
	if (ngval_get_int(ep, "port", &port) == -1)
		port = 0;
	printf("%s%.*s:%lld", label, (int)len, s, (long long)port);
}

static void
ctl_print_flags(const char *label, const struct ngval *d)
{
	const struct ngval	*f, *e;

	if ((f = ngval_get(d, "flags")) == NULL || f->type != NGV_LIST ||
	    f->count == 0)
		return;
	printf("%s", label);
	for (e = f->child; e != NULL; e = e->next) {
		ctl_put(e);
		printf("%s", e->next ? "," : "");
	}
}

static void
ctl_print_stream(const struct ngval *s)
{
	const struct ngval	*st, *f;
	int64_t			 n;

	f = ngval_get(s, "flags");
	printf("      %s", f != NULL && ngval_has(f, "RTCP") ? "RTCP" : "RTP ");
	ctl_print_str("  local ", s, "local address");
	if (ngval_get_int(s, "local port", &n) == 0)
		printf(":%lld", (long long)n);
	ctl_print_addr("  endpoint ", ngval_get(s, "endpoint"));
	ctl_print_addr("  advertised ", ngval_get(s, "advertised endpoint"));
	ctl_print_flags("  flags ", s);
	printf("\n       ");
	if ((st = ngval_get(s, "stats")) != NULL && st->type == NGV_DICT) {
		if (ngval_get_int(st, "packets", &n) == 0)
			printf(" packets %lld", (long long)n);
		if (ngval_get_int(st, "bytes", &n) == 0)
			printf("  bytes %lld", (long long)n);
		if (ngval_get_int(st, "errors", &n) == 0)
			printf("  errors %lld", (long long)n);
		if (ngval_get_int(st, "SRTP decrypted", &n) == 0)
			printf("  SRTP decrypted %lld", (long long)n);
		if (ngval_get_int(st, "SRTP encrypted", &n) == 0)
			printf(" encrypted %lld", (long long)n);
		if (ngval_get_int(st, "SRTP auth failures", &n) == 0)
			printf(" auth failures %lld", (long long)n);
		if (ngval_get_int(st, "SRTP replay drops", &n) == 0)
			printf(" replay drops %lld", (long long)n);
	}
	ctl_print_str("  suite ", s, "crypto suite");
	if (ngval_get_int(s, "last packet", &n) == 0) {
		if (n == 0)
			printf("  last packet never");
		else
			ctl_print_time("  last packet ", s, "last packet");
	}
	if (ngval_get_int(s, "SSRC", &n) == 0)
		printf("  SSRC %lld", (long long)n);
	printf("\n");
}

static void
ctl_print_tag(const struct ngval *t)
{
	const struct ngval	*l, *m, *s, *e;

	printf("  tag ");
	if (t->key != NULL)
		printf("%.*s", (int)t->keylen, t->key);
	ctl_print_str(" (", t, "label");
	if (ngval_get(t, "label") != NULL)
		printf(")");
	ctl_print_str("  via-branch ", t, "via-branch");
	ctl_print_time("  created ", t, "created");
	printf("\n");
	if ((l = ngval_get(t, "subscribers")) != NULL && l->type == NGV_LIST &&
	    l->count > 0) {
		printf("    sends to:");
		for (e = l->child; e != NULL; e = e->next)
			ctl_print_str(" ", e, "tag");
		printf("\n");
	}
	if ((l = ngval_get(t, "medias")) == NULL || l->type != NGV_LIST)
		return;
	for (m = l->child; m != NULL; m = m->next) {
		int64_t	 idx = 0;

		(void)ngval_get_int(m, "index", &idx);
		printf("    media %lld:", (long long)idx);
		ctl_print_str(" ", m, "type");
		ctl_print_str(" ", m, "protocol");
		ctl_print_str(" ", m, "codec");
		ctl_print_flags("  flags ", m);
		printf("\n");
		if ((s = ngval_get(m, "streams")) == NULL ||
		    s->type != NGV_LIST)
			continue;
		for (e = s->child; e != NULL; e = e->next)
			if (e->type == NGV_DICT)
				ctl_print_stream(e);
	}
}

static void
ctl_print_call(const char *callid, const struct ngval *reply)
{
	const struct ngval	*tags, *t, *tot, *k;
	int64_t			 n;

	printf("call %s\n", callid);
	ctl_print_time("  created ", reply, "created");
	ctl_print_time("  last signal ", reply, "last signal");
	printf("\n");
	if ((tags = ngval_get(reply, "tags")) != NULL &&
	    tags->type == NGV_DICT)
		for (t = tags->child; t != NULL; t = t->next)
			if (t->type == NGV_DICT)
				ctl_print_tag(t);
	if ((tot = ngval_get(reply, "totals")) != NULL &&
	    tot->type == NGV_DICT) {
		printf("  totals");
		for (k = tot->child; k != NULL; k = k->next) {
			if (k->type != NGV_DICT)
				continue;
			printf("  %.*s", (int)k->keylen, k->key);
			if (ngval_get_int(k, "packets", &n) == 0)
				printf(" packets %lld", (long long)n);
			if (ngval_get_int(k, "bytes", &n) == 0)
				printf(" bytes %lld", (long long)n);
			if (ngval_get_int(k, "errors", &n) == 0)
				printf(" errors %lld", (long long)n);
			if (ngval_get_int(k, "decrypted", &n) == 0)
				printf(" decrypted %lld", (long long)n);
			if (ngval_get_int(k, "encrypted", &n) == 0)
				printf(" encrypted %lld", (long long)n);
			if (ngval_get_int(k, "auth failures", &n) == 0)
				printf(" auth failures %lld", (long long)n);
			if (ngval_get_int(k, "replay drops", &n) == 0)
				printf(" replay drops %lld", (long long)n);
		}
		printf("\n");
	}
}

/* ---- commands ------------------------------------------------------------- */

static int
ctl_command(const struct ctl *c, int argc, char **argv)
{
	struct ngarena	*a;
	struct ngval	*cmd, *reply, *calls, *e, *flags;
	const char	*what, *callid = NULL;
	int		 rc = CTL_FAIL;

	if (argc == 2 && strcmp(argv[0], "list") == 0 &&
	    strcmp(argv[1], "totals") == 0)
		what = "statistics";
	else if (argc == 2 && strcmp(argv[0], "list") == 0 &&
	    strcmp(argv[1], "sessions") == 0)
		what = "list";
	else if (argc == 2 && strcmp(argv[0], "show") == 0)
		what = "query", callid = argv[1];
	else if (argc == 2 && strcmp(argv[0], "terminate") == 0)
		what = "delete", callid = argv[1];
	else
		usage();

	if ((a = ngarena_new()) == NULL ||
	    (cmd = ngval_dict(a)) == NULL ||
	    ngval_put_str(a, cmd, "command", what) == -1 ||
	    (callid != NULL &&
	    ngval_put_str(a, cmd, "call-id", callid) == -1) ||
	    (strcmp(what, "delete") == 0 &&
	    /* fatal: an unknown call is an error (exit 1), not "ok" */
	    (ngval_put_int(a, cmd, "delete-delay", 0) == -1 ||
	    (flags = ngval_put_list(a, cmd, "flags")) == NULL ||
	    ngval_append(flags, ngval_strz(a, "fatal")) == -1))) {
		fprintf(stderr, "rtpsec-ctl: out of memory\n");
		ngarena_destroy(&a);
		return CTL_FAIL;
	}
	if ((reply = ctl_ng(c, a, cmd)) == NULL)
		goto done;
	if (c->json) {
		if (ctl_print_json(reply) == 0 && ctl_ng_result(reply) == 0)
			rc = CTL_OK;
		goto done;
	}
	if (ctl_ng_result(reply) == -1)
		goto done;
	rc = CTL_OK;
	if (strcmp(what, "statistics") == 0)
		ctl_print_totals(reply);
	else if (strcmp(what, "list") == 0) {
		if ((calls = ngval_get(reply, "calls")) != NULL &&
		    calls->type == NGV_LIST)
			for (e = calls->child; e != NULL; e = e->next)
				if (e->type == NGV_STR)
					printf("%.*s\n", (int)e->len, e->s);
	} else if (strcmp(what, "query") == 0)
		ctl_print_call(callid, reply);
	else
		printf("terminated %s\n", callid);
done:
	ngarena_destroy(&a);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ctl	 c;
	const char	*path = NULL;
	char		 err[512];
	int		 ch, rc;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = CTL_TIMEOUT_MS;
	while ((ch = getopt(argc, argv, "d:f:hjs:t:")) != -1) {
		switch (ch) {
		case 'd':
			c.daemon = optarg;
			break;
		case 'f':
			path = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 's':
			c.endpoint = optarg;
			break;
		case 't':
			c.timeout_ms = atoi(optarg);
			if (c.timeout_ms < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (c.daemon != NULL && ctl_daemon_endpoint(&c, c.daemon) == NULL)
		usage();

	log_init("rtpsec-ctl", 0, 0);
	if (config_load(&c.cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "rtpsec-ctl: configuration: %s\n", err);
		return CTL_USAGE;
	}
	/* czmq must not take SIGINT from us: ^C ends the CLI at once */
	zsys_handler_set(NULL);
	zsys_set_logstream(NULL);

	if (argc == 1 && strcmp(argv[0], "ping") == 0)
		rc = ctl_ping(&c);
	else if (argc == 1 && strcmp(argv[0], "health") == 0)
		rc = ctl_health(&c);
	else
		rc = ctl_command(&c, argc, argv);
	fflush(stdout);
	zsys_shutdown();
	return rc;
}
