/*
 * rtpload: load generator and benchmark for ng-driven RTP relays
 * (rtpload(1)).  This file parses flags and runs the phases:
 *
 *   1. relay RSS, then N calls set up one at a time (offer + answer),
 *      then RSS again: memory per call;
 *   2. media: 1 s warmup, then the measured window (-d), relay CPU and
 *      our own CPU sampled at its edges, 300 ms for stragglers; with
 *      --saturate, repeated at rising per-stream rates (doubling until
 *      loss >= 0.1% or the sender falls behind, then 4 bisections);
 *   3. delete every call.
 *
 * Exit status: 0 it ran (even with loss), 1 setup failed for more than
 * 1% of the calls or ng did not answer, 2 usage.
 */
#include <sys/resource.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/rtpload/rtpload.h"

#define RL_OK		0
#define RL_FAIL		1
#define RL_USAGE	2

#define RL_LOSS_OK	0.1	/* percent */
#define RL_KEEPUP	0.99	/* fraction of due packets the sender sent */
#define RL_MAX_RUNS	40
#define RL_WARMUP	1.0

struct pct {
	uint64_t	 p50, p99, max;
};

struct result {
	struct pct	 setup, del;
	unsigned	 setup_ok, setup_failed, del_failed;
	double		 rss0, rss1, rss2;
	struct rl_run	 runs[RL_MAX_RUNS];
	unsigned	 nruns;
	int		 best;		/* runs[] index reported, -1 none */
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: rtpload [-jqS] [-a addr] [-c calls] [-d seconds] "
	    "[-k sockets]\n"
	    "               [-n addr:port] [-p pid[,pid...]] [-r pps] "
	    "[--saturate]\n"
	    "               [--setup-rate n]\n");
	exit(RL_USAGE);
}

static int
parse_addr_port(const char *s, struct sockaddr_in *sin)
{
	char		 host[64];
	const char	*colon;
	char		*end;
	long		 port;

	if ((colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static double
parse_num(const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min) ||
	    !(v <= max))
		usage();
	return v;
}

static void
parse_pids(struct rl_opts *o, char *s)
{
	char	*tok;

	while ((tok = strsep(&s, ", ")) != NULL) {
		if (*tok == '\0')
			continue;
		if (o->npids == sizeof(o->pids) / sizeof(o->pids[0]))
			usage();
		o->pids[o->npids++] = (int)parse_num(tok, 1, 4194304);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct pct
percentiles(uint64_t *v, size_t n)
{
	struct pct	 p = { 0, 0, 0 };

	if (n == 0)
		return p;
	qsort(v, n, sizeof(*v), cmp_u64);
	p.p50 = v[(size_t)ceil(n * 0.50) - 1];
	p.p99 = v[(size_t)ceil(n * 0.99) - 1];
	p.max = v[n - 1];
	return p;
}

static void
raise_nofile(unsigned need)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- phases ------------------------------------------------------------- */

/*
 * Sets the calls up, counting into res (setup times only if record);
 * returns RL_OK, or RL_FAIL on an ng timeout.
 */
static int
phase_setup(struct rl *rl, struct ng_client *ng, struct result *res,
    int record)
{
	uint64_t	*us, t0 = proc_now_mono(), at;
	struct timespec	 ts;
	char		 err[256];
	unsigned	 i;
	int		 timeout;

	if ((us = calloc(rl->o.calls, sizeof(*us))) == NULL)
		return RL_FAIL;
	for (i = 0; i < rl->o.calls; i++) {
		if (rl->o.setup_rate > 0) {
			at = t0 + (uint64_t)(i * 1e9 / rl->o.setup_rate);
			ts.tv_sec = (time_t)(at / 1000000000ull);
			ts.tv_nsec = (long)(at % 1000000000ull);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
			    &ts, NULL) == EINTR)
				;
		}
		if (ng_call_setup(ng, rl, i, &us[res->setup_ok], &timeout,
		    err, sizeof(err)) == 0) {
			res->setup_ok++;
			continue;
		}
		res->setup_failed++;
		if (res->setup_failed <= 5 || timeout)
			fprintf(stderr, "rtpload: call %u: %s\n", i, err);
		if (timeout) {
			free(us);
			return RL_FAIL;
		}
		if (!rl->o.quiet && res->setup_failed == 6)
			fprintf(stderr, "rtpload: (further setup errors "
			    "not shown)\n");
	}
	if (record)
		res->setup = percentiles(us, res->setup_ok);
	free(us);
	return RL_OK;
}

/* Deletes every call the relay may hold, timing them into res->del. */
static void
phase_delete(struct rl *rl, struct ng_client *ng, struct result *res)
{
	uint64_t	*us;
	unsigned	 i, n = 0;
	char		 err[256];
	int		 timeout;

	if ((us = calloc(rl->o.calls, sizeof(*us))) == NULL)
		return;
	for (i = 0; i < rl->o.calls; i++) {
		if (!rl->call[i].offered)
			continue;
		rl->call[i].up = rl->call[i].offered = 0;
		if (ng_call_delete(ng, rl, i, &us[n], &timeout, err,
		    sizeof(err)) == 0)
			n++;
		else {
			if (++res->del_failed <= 5)
				fprintf(stderr, "rtpload: delete %u: %s\n", i,
				    err);
			if (timeout)
				break;
		}
	}
	res->del = percentiles(us, n);
	free(us);
}

#define RL_WARMUP_CALLS	20

/* RL_WARMUP_CALLS calls (or fewer) set up and deleted, not counted; the real
 * calls then use another generation of call-ids.  0, or -1 on a timeout. */
static int
warmup(struct rl *rl, struct ng_client *ng)
{
	struct result	*tmp;
	unsigned	 calls = rl->o.calls, i;
	int		 rc;

	if ((tmp = calloc(1, sizeof(*tmp))) == NULL)
		return -1;
	rl->o.calls = calls < RL_WARMUP_CALLS ? calls : RL_WARMUP_CALLS;
	rl->gen = 1000;
	rc = phase_setup(rl, ng, tmp, 0) == RL_OK ? 0 : -1;
	phase_delete(rl, ng, tmp);
	rl->o.calls = calls;
	rl->gen = 0;
	memset(rl->port_map, 0, 65536 * sizeof(*rl->port_map));
	for (i = 0; i < rl->nstreams; i++)
		memset(&rl->st[i].dst, 0, sizeof(rl->st[i].dst));
	free(tmp);
	return rc;
}

static int
run_good(const struct rl_run *r)
{
	return r->loss_pct < RL_LOSS_OK &&
	    (double)r->sent >= RL_KEEPUP * (double)r->expected;
}

static void
print_step(const struct rl *rl, const struct rl_run *r)
{
	char	 cpu[32];

	(void)rl;
	if (r->relay_cpu_s >= 0 && r->delivered > 0)
		snprintf(cpu, sizeof(cpu), "%.2f us/pkt",
		    r->relay_cpu_s * 1e6 / (double)r->delivered);
	else
		snprintf(cpu, sizeof(cpu), "n/a");
	fprintf(stderr, "rtpload: rate %.1f/stream: offered %.0f pps, "
	    "delivered %.0f pps, loss %.3f%%, relay %s, tool cpu %.0f%%, "
	    "late ticks %llu%s\n", r->rate, (double)r->expected / r->duration,
	    (double)r->delivered / r->duration, r->loss_pct, cpu,
	    r->tool_cpu_pct, (unsigned long long)r->late_ticks,
	    (double)r->sent < RL_KEEPUP * (double)r->expected ?
	    " (sender behind)" : "");
}

static int
do_run(struct rl *rl, struct result *res, double rate, double duration)
{
	struct rl_run	*r;

	if (res->nruns == RL_MAX_RUNS)
		return -1;
	r = &res->runs[res->nruns];
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	r->warmup = RL_WARMUP;
	r->duration = duration;
	r->epoch = (uint8_t)(res->nruns % 255 + 1);
	if (media_run(rl, r) == -1)
		return -1;
	res->nruns++;
	if (!rl->o.quiet || rl->o.saturate)
		print_step(rl, r);
	return (int)res->nruns - 1;
}

/*
 * A relay that was overloaded may stay broken (rtpengine stops reading a
 * socket whose queue overflowed 5 times): after a failed step the calls
 * are deleted and set up again, with new call-ids.  0, or -1 if that
 * failed for more than 1% of them.
 */
static int
calls_renew(struct rl *rl, struct ng_client *ng)
{
	struct result	*tmp;
	unsigned	 i;
	int		 rc;

	if ((tmp = calloc(1, sizeof(*tmp))) == NULL)
		return -1;
	phase_delete(rl, ng, tmp);
	memset(rl->port_map, 0, 65536 * sizeof(*rl->port_map));
	for (i = 0; i < rl->nstreams; i++)
		memset(&rl->st[i].dst, 0, sizeof(rl->st[i].dst));
	rl->gen++;
	rc = phase_setup(rl, ng, tmp, 0) == RL_OK &&
	    tmp->setup_failed * 100 <= rl->o.calls && tmp->setup_ok > 0 ?
	    0 : -1;
	if (rc == -1)
		fprintf(stderr, "rtpload: setting the calls up again failed "
		    "(%u of %u)\n", tmp->setup_failed, rl->o.calls);
	free(tmp);
	return rc;
}

static void
phase_saturate(struct rl *rl, struct ng_client *ng, struct result *res,
    double duration)
{
	double	 rate = rl->o.rate, good = 0, bad = 0, best = -1;
	int	 i, idx;

	for (i = 0; i < 24; i++) {
		if ((idx = do_run(rl, res, rate, duration)) == -1)
			return;
		if (!run_good(&res->runs[idx])) {
			bad = rate;
			break;
		}
		good = rate;
		rate *= 2;
	}
	if (bad == 0)
		goto pick;
	for (i = 0; i < 4; i++) {
		if (!run_good(&res->runs[res->nruns - 1]) &&
		    calls_renew(rl, ng) == -1)
			break;
		rate = (good + bad) / 2;
		if ((idx = do_run(rl, res, rate, duration)) == -1)
			break;
		if (run_good(&res->runs[idx]))
			good = rate;
		else
			bad = rate;
	}
pick:
	for (i = 0; i < (int)res->nruns; i++)
		if (run_good(&res->runs[i]) &&
		    (double)res->runs[i].delivered / res->runs[i].duration >
		    best) {
			best = (double)res->runs[i].delivered /
			    res->runs[i].duration;
			res->best = i;
		}
}

/* ---- output ------------------------------------------------------------- */

static void
json_num(const char *key, double v, int comma)
{
	if (v < 0 || !isfinite(v))
		printf("\"%s\":null%s", key, comma ? "," : "");
	else
		printf("\"%s\":%.6g%s", key, v, comma ? "," : "");
}

static double
cpu_per_pkt(const struct rl_run *r)
{
	return r->relay_cpu_s >= 0 && r->delivered > 0 ?
	    r->relay_cpu_s * 1e6 / (double)r->delivered : -1;
}

static void
print_json(const struct rl *rl, const struct result *res)
{
	const struct rl_run	*r = res->best >= 0 ? &res->runs[res->best] :
				    NULL;
	unsigned		 i;

	printf("RESULT {\"relay_pids\":[");
	for (i = 0; i < rl->o.npids; i++)
		printf("%s%d", i ? "," : "", rl->o.pids[i]);
	printf("],\"calls\":%u,", rl->o.calls);
	json_num("rate", r != NULL ? r->rate : rl->o.rate, 1);
	printf("\"srtp\":%s,\"sockets\":%u,", rl->o.srtp ? "true" : "false",
	    rl->o.nsock);
	printf("\"setup_us\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu},",
	    (unsigned long long)res->setup.p50,
	    (unsigned long long)res->setup.p99,
	    (unsigned long long)res->setup.max);
	printf("\"setup_failed\":%u,", res->setup_failed);
	printf("\"delete_us\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu},",
	    (unsigned long long)res->del.p50,
	    (unsigned long long)res->del.p99,
	    (unsigned long long)res->del.max);
	printf("\"delete_failed\":%u,", res->del_failed);
	printf("\"duration_s\":%.3f,", r != NULL ? r->wall_s : 0.0);
	printf("\"expected\":%llu,\"sent\":%llu,\"delivered\":%llu,"
	    "\"bad\":%llu,\"srtp_failures\":%llu,\"streams_silent\":%u,",
	    (unsigned long long)(r ? r->expected : 0),
	    (unsigned long long)(r ? r->sent : 0),
	    (unsigned long long)(r ? r->delivered : 0),
	    (unsigned long long)(r ? r->bad : 0),
	    (unsigned long long)(r ? r->srtp_fail : 0), r ? r->silent : 0);
	json_num("loss_pct", r ? r->loss_pct : -1, 1);
	printf("\"latency_us\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu,"
	    "\"over_100ms\":%llu},",
	    (unsigned long long)(r ? r->lat_p50_us : 0),
	    (unsigned long long)(r ? r->lat_p99_us : 0),
	    (unsigned long long)(r ? r->lat_max_us : 0),
	    (unsigned long long)(r ? r->lat_overflow : 0));
	json_num("relay_cpu_s", r ? r->relay_cpu_s : -1, 1);
	json_num("relay_cpu_pct", r && r->relay_cpu_s >= 0 ?
	    100 * r->relay_cpu_s / r->wall_s : -1, 1);
	json_num("cpu_us_per_pkt", r ? cpu_per_pkt(r) : -1, 1);
	json_num("tool_cpu_pct", r ? r->tool_cpu_pct : -1, 1);
	json_num("rss_per_call_bytes", res->rss0 >= 0 && res->rss1 >= 0 &&
	    res->setup_ok > 0 ? (res->rss1 - res->rss0) / res->setup_ok : -1,
	    1);
	json_num("rss_before_bytes", res->rss0, 1);
	json_num("rss_after_setup_bytes", res->rss1, 1);
	json_num("rss_after_delete_bytes", res->rss2, 1);
	printf("\"late_ticks\":%llu,\"skipped\":%llu,\"send_errors\":%llu,"
	    "\"saturate\":", (unsigned long long)(r ? r->late_ticks : 0),
	    (unsigned long long)(r ? r->skipped : 0),
	    (unsigned long long)(r ? r->send_errors : 0));
	if (!rl->o.saturate) {
		printf("null}\n");
		return;
	}
	printf("{");
	json_num("best_pps", r ? (double)r->delivered / r->duration : -1, 1);
	printf("\"steps\":[");
	for (i = 0; i < res->nruns; i++) {
		r = &res->runs[i];
		printf("%s{", i ? "," : "");
		json_num("rate", r->rate, 1);
		json_num("offered_pps", (double)r->expected / r->duration, 1);
		json_num("sent_pps", (double)r->sent / r->duration, 1);
		json_num("delivered_pps", (double)r->delivered / r->duration,
		    1);
		json_num("loss_pct", r->loss_pct, 1);
		json_num("cpu_us_per_pkt", cpu_per_pkt(r), 1);
		json_num("relay_cpu_pct", r->relay_cpu_s >= 0 ?
		    100 * r->relay_cpu_s / r->wall_s : -1, 1);
		json_num("tool_cpu_pct", r->tool_cpu_pct, 1);
		printf("\"latency_p99_us\":%llu,\"late_ticks\":%llu,"
		    "\"ok\":%s}", (unsigned long long)r->lat_p99_us,
		    (unsigned long long)r->late_ticks,
		    run_good(r) ? "true" : "false");
	}
	printf("]}}\n");
}

static void
print_human(const struct rl *rl, const struct result *res)
{
	const struct rl_run	*r = res->best >= 0 ? &res->runs[res->best] :
				    NULL;

	fprintf(stderr, "rtpload: %u calls%s, %u sockets\n", rl->o.calls,
	    rl->o.srtp ? " (SDES-SRTP caller leg)" : "", rl->o.nsock);
	fprintf(stderr, "  setup     %u ok, %u failed; offer+answer p50 %llu "
	    "us, p99 %llu us, max %llu us\n", res->setup_ok,
	    res->setup_failed, (unsigned long long)res->setup.p50,
	    (unsigned long long)res->setup.p99,
	    (unsigned long long)res->setup.max);
	if (res->rss0 >= 0 && res->rss1 >= 0 && res->setup_ok > 0)
		fprintf(stderr, "  memory    %.0f bytes/call (RSS %.1f -> "
		    "%.1f MB, %.1f MB after delete)\n",
		    (res->rss1 - res->rss0) / res->setup_ok, res->rss0 / 1e6,
		    res->rss1 / 1e6, res->rss2 / 1e6);
	if (r != NULL) {
		fprintf(stderr, "  media     %.1f pps/stream, %.1f s: sent "
		    "%llu (of %llu due), delivered %llu, loss %.3f%%, bad "
		    "%llu, srtp failures %llu, silent streams %u\n", r->rate,
		    r->wall_s,
		    (unsigned long long)r->sent,
		    (unsigned long long)r->expected,
		    (unsigned long long)r->delivered, r->loss_pct,
		    (unsigned long long)r->bad,
		    (unsigned long long)r->srtp_fail, r->silent);
		fprintf(stderr, "  latency   p50 %llu us, p99 %llu us, max "
		    "%llu us\n", (unsigned long long)r->lat_p50_us,
		    (unsigned long long)r->lat_p99_us,
		    (unsigned long long)r->lat_max_us);
		if (r->relay_cpu_s >= 0)
			fprintf(stderr, "  relay     %.2f CPU s (%.0f%% of a "
			    "core), %.2f us per relayed packet\n",
			    r->relay_cpu_s, 100 * r->relay_cpu_s / r->wall_s,
			    cpu_per_pkt(r));
		fprintf(stderr, "  rtpload   %.0f%% of a core, %llu late "
		    "ticks of %llu, %llu packets skipped, %llu send errors\n",
		    r->tool_cpu_pct, (unsigned long long)r->late_ticks,
		    (unsigned long long)r->ticks,
		    (unsigned long long)r->skipped,
		    (unsigned long long)r->send_errors);
		if (rl->o.saturate)
			fprintf(stderr, "  saturate  best %.0f pps delivered "
			    "with loss < %.1f%%\n",
			    (double)r->delivered / r->duration, RL_LOSS_OK);
	} else if (rl->o.saturate)
		fprintf(stderr, "  saturate  no rate with loss < %.1f%%\n",
		    RL_LOSS_OK);
	fprintf(stderr, "  delete    %u failed; p50 %llu us, p99 %llu us\n",
	    res->del_failed, (unsigned long long)res->del.p50,
	    (unsigned long long)res->del.p99);
}

/* ---- main --------------------------------------------------------------- */

static const struct option longopts[] = {
	{ "ng",		required_argument,	NULL, 'n' },
	{ "calls",	required_argument,	NULL, 'c' },
	{ "rate",	required_argument,	NULL, 'r' },
	{ "duration",	required_argument,	NULL, 'd' },
	{ "srtp",	no_argument,		NULL, 'S' },
	{ "pid",	required_argument,	NULL, 'p' },
	{ "local",	required_argument,	NULL, 'a' },
	{ "sockets",	required_argument,	NULL, 'k' },
	{ "saturate",	no_argument,		NULL, 1 },
	{ "setup-rate",	required_argument,	NULL, 2 },
	{ "json",	no_argument,		NULL, 'j' },
	{ "quiet",	no_argument,		NULL, 'q' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct rl		 rl;
	struct result		*res;
	struct ng_client	*ng = NULL;
	char			 err[256];
	unsigned		 i;
	int			 ch, have_d = 0, rc = RL_OK;

	memset(&rl, 0, sizeof(rl));
	parse_addr_port("127.0.0.1:22222", &rl.o.ng);
	inet_pton(AF_INET, "127.0.0.1", &rl.o.local);
	rl.o.calls = 100;
	rl.o.rate = 50;
	rl.o.duration = 10;
	rl.o.nsock = 4;
	while ((ch = getopt_long(argc, argv, "a:c:d:hjk:n:p:qr:S", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &rl.o.local) != 1)
				usage();
			break;
		case 'c':
			rl.o.calls = (unsigned)parse_num(optarg, 1, 1000000);
			break;
		case 'd':
			rl.o.duration = parse_num(optarg, 0.1, 86400);
			have_d = 1;
			break;
		case 'j':
			rl.o.json = 1;
			break;
		case 'k':
			rl.o.nsock = (unsigned)parse_num(optarg, 1,
			    RL_MAX_SOCKETS);
			break;
		case 'n':
			if (parse_addr_port(optarg, &rl.o.ng) == -1)
				usage();
			break;
		case 'p':
			parse_pids(&rl.o, optarg);
			break;
		case 'q':
			rl.o.quiet = 1;
			break;
		case 'r':
			rl.o.rate = parse_num(optarg, 0.1, 1000000);
			break;
		case 'S':
			rl.o.srtp = 1;
			break;
		case 1:
			rl.o.saturate = 1;
			break;
		case 2:
			rl.o.setup_rate = parse_num(optarg, 0, 1000000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (rl.o.saturate && !have_d)
		rl.o.duration = 3;

	raise_nofile(rl.o.nsock + 64);
	if ((res = calloc(1, sizeof(*res))) == NULL ||
	    (rl.st = calloc(2 * (size_t)rl.o.calls, sizeof(*rl.st))) == NULL ||
	    (rl.call = calloc(rl.o.calls, sizeof(*rl.call))) == NULL ||
	    (rl.port_map = calloc(65536, sizeof(*rl.port_map))) == NULL) {
		fprintf(stderr, "rtpload: out of memory\n");
		return RL_FAIL;
	}
	res->best = -1;
	rl.nstreams = 2 * rl.o.calls;
	for (i = 0; i < rl.nstreams; i++) {
		rl.st[i].sock = i % rl.o.nsock;
		rl.st[i].ssrc = RL_SSRC_BASE + i;
	}
	if (rl.o.srtp && srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "rtpload: srtp_init failed\n");
		return RL_FAIL;
	}
	if (media_open(&rl, err, sizeof(err)) == -1 ||
	    (ng = ng_new(&rl.o.ng, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rtpload: %s\n", err);
		return RL_FAIL;
	}
	if (ng_ping(ng, err, sizeof(err)) == -1) {
		fprintf(stderr, "rtpload: ng %s:%u: %s\n",
		    inet_ntoa(rl.o.ng.sin_addr), ntohs(rl.o.ng.sin_port), err);
		return RL_FAIL;
	}
	if (media_rx_start(&rl) == -1) {
		fprintf(stderr, "rtpload: cannot start the receiver\n");
		return RL_FAIL;
	}

	/* warm-up: a fresh relay's first calls pay one-time costs (lazy
	 * connections, first allocations) that are neither per-call set-up
	 * time nor per-call memory; set up and delete a few first */
	if (warmup(&rl, ng) == -1)
		return RL_FAIL;
	res->rss0 = proc_rss(rl.o.pids, rl.o.npids);
	if (!rl.o.quiet)
		fprintf(stderr, "rtpload: setting up %u calls\n", rl.o.calls);
	if (phase_setup(&rl, ng, res, 1) != RL_OK)
		rc = RL_FAIL;
	res->rss1 = proc_rss(rl.o.pids, rl.o.npids);
	if (rc == RL_OK && res->setup_failed * 100 > rl.o.calls) {
		fprintf(stderr, "rtpload: %u of %u calls failed to set up\n",
		    res->setup_failed, rl.o.calls);
		rc = RL_FAIL;
	}
	if (rc == RL_OK && res->setup_ok > 0) {
		if (!rl.o.quiet)
			fprintf(stderr, "rtpload: media, %s\n", rl.o.saturate ?
			    "saturating" : "measuring");
		if (rl.o.saturate)
			phase_saturate(&rl, ng, res, rl.o.duration);
		else
			res->best = do_run(&rl, res, rl.o.rate,
			    rl.o.duration);
	}
	media_rx_stop(&rl);
	phase_delete(&rl, ng, res);
	res->rss2 = proc_rss(rl.o.pids, rl.o.npids);

	print_human(&rl, res);
	if (rl.o.json)
		print_json(&rl, res);
	fflush(stdout);

	for (i = 0; i < rl.o.calls; i++) {
		if (rl.call[i].tx != NULL)
			srtp_dealloc(rl.call[i].tx);
		if (rl.call[i].rx != NULL)
			srtp_dealloc(rl.call[i].rx);
	}
	ng_destroy(&ng);
	media_close(&rl);
	free(rl.port_map);
	free(rl.call);
	free(rl.st);
	free(res);
	return rc;
}
