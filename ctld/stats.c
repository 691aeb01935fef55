/*
 * stats: the `statistics` ng command, in the shape of rtpengine's
 * (reference transcript 06: currentstatistics, totalstatistics,
 * intervalstatistics, mos, controlstatistics).  ctld fills in what it
 * knows (sessions, uptime, call durations, per-command and per-proxy
 * counts) and relayd's packet, byte and drop totals as relayd last
 * published them (stats_interval_ms); kernel figures are 0 (userspace
 * relay), and so are the interval delays not measured yet.
 * As in rtpengine, floats and "uptime" are strings.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "libcommon/daemon.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/ngcmd.h"

#define PUT_INT(d, k, v)	do {					\
	if (ngval_put_int(a, (d), (k), (int64_t)(v)) == -1)		\
		return -1;						\
} while (0)
#define PUT_STR(d, k, v)	do {					\
	if (ngval_put_str(a, (d), (k), (v)) == -1)			\
		return -1;						\
} while (0)

void
ctld_relay_totals(struct ctld *c, uint64_t packets, uint64_t bytes,
    uint64_t errors, uint64_t now_ms)
{
	struct ctld_relay_totals *t = &c->relay_totals;
	uint64_t		  dt = now_ms - t->at_ms;

	/* a restarted relayd starts from 0: no rate across that */
	if (t->at_ms != 0 && dt > 0 && packets >= t->packets &&
	    bytes >= t->bytes && errors >= t->errors) {
		t->packetrate = (packets - t->packets) * 1000 / dt;
		t->byterate = (bytes - t->bytes) * 1000 / dt;
		t->errorrate = (errors - t->errors) * 1000 / dt;
	}
	t->packets = packets;
	t->bytes = bytes;
	t->errors = errors;
	t->at_ms = now_ms;
}

static int
stats_current(struct ctld *c, struct ngarena *a, struct ngval *d)
{
	static const char *const zero[] = { "transcodedmedia",
	    "packetrate_kernel", "byterate_kernel", "errorrate_kernel",
	    "media_kernel", "media_mixed", NULL };
	const struct ctld_relay_totals *t = &c->relay_totals;
	size_t	 i;

	PUT_INT(d, "sessionsown", calls_count(c->calls));
	PUT_INT(d, "sessionsforeign", 0);
	PUT_INT(d, "sessionstotal", calls_count(c->calls));
	PUT_INT(d, "packetrate_user", t->packetrate);
	PUT_INT(d, "byterate_user", t->byterate);
	PUT_INT(d, "errorrate_user", t->errorrate);
	PUT_INT(d, "packetrate", t->packetrate);
	PUT_INT(d, "byterate", t->byterate);
	PUT_INT(d, "errorrate", t->errorrate);
	PUT_INT(d, "media_userspace", calls_count(c->calls));
	for (i = 0; zero[i] != NULL; i++)
		PUT_INT(d, zero[i], 0);
	return 0;
}

/* rtpengine prints durations as "%ld.%06ld" seconds. */
static int
put_secs(struct ngarena *a, struct ngval *d, const char *k, double s)
{
	char	 buf[48];

	snprintf(buf, sizeof(buf), "%.6f", s > 0 ? s : 0.0);
	return ngval_put_str(a, d, k, buf);
}

static int
stats_total(struct ctld *c, struct ngarena *a, struct ngval *d)
{
	static const char *const zero[] = { "silenttimeoutsessions",
	    "finaltimeoutsessions", "offertimeoutsessions", NULL };
	static const char *const zero2[] = { "forcedterminatedsessions",
	    "relayedpackets_kernel", "relayedpacketerrors_kernel",
	    "relayedbytes_kernel", "zerowaystreams", "onewaystreams", NULL };
	const struct ctld_relay_totals *t = &c->relay_totals;
	double	 n = (double)c->ended, avg, var;
	char	 up[32];
	size_t	 i;

	snprintf(up, sizeof(up), "%llu",
	    (unsigned long long)(daemon_wall_s() - c->started));
	PUT_STR(d, "uptime", up);
	PUT_INT(d, "managedsessions", c->calls_created);
	PUT_INT(d, "rejectedsessions", c->calls_rejected);
	PUT_INT(d, "timeoutsessions", c->calls_timedout);
	for (i = 0; zero[i] != NULL; i++)
		PUT_INT(d, zero[i], 0);
	PUT_INT(d, "regularterminatedsessions", c->calls_deleted);
	for (i = 0; zero2[i] != NULL; i++)
		PUT_INT(d, zero2[i], 0);
	PUT_INT(d, "relayedpackets_user", t->packets);
	PUT_INT(d, "relayedpacketerrors_user", t->errors);
	PUT_INT(d, "relayedbytes_user", t->bytes);
	PUT_INT(d, "relayedpackets", t->packets);
	PUT_INT(d, "relayedpacketerrors", t->errors);
	PUT_INT(d, "relayedbytes", t->bytes);
	avg = n > 0 ? c->duration_sum / n : 0;
	var = n > 0 ? c->duration_sum2 / n - avg * avg : 0;
	if (put_secs(a, d, "avgcallduration", avg) == -1 ||
	    put_secs(a, d, "totalcallsduration", c->duration_sum) == -1 ||
	    put_secs(a, d, "totalcallsduration2", c->duration_sum2) == -1 ||
	    put_secs(a, d, "totalcallsduration_stddev",
	    var > 0 ? sqrt(var) : 0) == -1)
		return -1;
	return 0;
}

static int
stats_interval(struct ctld *c, struct ngarena *a, struct ngval *d)
{
	static const char *const mma[] = { "min", "max", "avg" };
	char	 k[64];
	int	 i, j;

	PUT_STR(d, "totalcallsduration", "0.000000");
	PUT_INT(d, "minmanagedsessions", calls_count(c->calls));
	PUT_INT(d, "maxmanagedsessions", calls_count(c->calls));
	for (i = 0; i < NG_CMD_COUNT; i++)
		for (j = 0; j < 3; j++) {
			snprintf(k, sizeof(k), "%s%sdelay", mma[j],
			    ngcmd_name((enum ng_cmd)i));
			PUT_STR(d, k, "0.000000");
		}
	for (i = 0; i < NG_CMD_COUNT; i++)
		for (j = 0; j < 3; j++) {
			snprintf(k, sizeof(k), "%s%srequestrate", mma[j],
			    ngcmd_name((enum ng_cmd)i));
			PUT_STR(d, k, "0");
		}
	return 0;
}

static int
stats_control(struct ctld *c, struct ngarena *a, struct ngval *d)
{
	struct ngval	*l, *p;
	char		 k[64];
	uint64_t	 total;
	int		 i, j, r;

	if ((l = ngval_put_list(a, d, "proxies")) == NULL)
		return -1;
	for (i = 0; i < c->nproxies; i++) {
		if ((p = ngval_dict(a)) == NULL || ngval_append(l, p) == -1)
			return -1;
		PUT_STR(p, "proxy", c->proxies[i].addr);
		for (j = 0; j < NG_CMD_COUNT; j++) {
			snprintf(k, sizeof(k), "%scount",
			    ngcmd_stat_name((enum ng_cmd)j));
			PUT_INT(p, k, c->proxies[i].count[j]);
			snprintf(k, sizeof(k), "%sduration",
			    ngcmd_stat_name((enum ng_cmd)j));
			PUT_STR(p, k, "0.000000");
		}
		PUT_INT(p, "errorcount", c->proxies[i].errors);
	}
	for (j = 0; j < NG_CMD_COUNT; j++) {
		for (total = 0, r = 0; r < NG_RES_COUNT; r++)
			total += c->ng_requests[j][r];
		snprintf(k, sizeof(k), "total%scount",
		    ngcmd_stat_name((enum ng_cmd)j));
		PUT_INT(d, k, total);
	}
	return 0;
}

static int
stats_build(struct ctld *c, struct ngarena *a, struct ngval *reply)
{
	struct ngval	*s, *d, *l;

	if ((s = ngval_put_dict(a, reply, "statistics")) == NULL)
		return -1;
	if ((d = ngval_put_dict(a, s, "currentstatistics")) == NULL ||
	    stats_current(c, a, d) == -1)
		return -1;
	if ((d = ngval_put_dict(a, s, "totalstatistics")) == NULL ||
	    stats_total(c, a, d) == -1)
		return -1;
	if ((d = ngval_put_dict(a, s, "intervalstatistics")) == NULL ||
	    stats_interval(c, a, d) == -1)
		return -1;
	if ((d = ngval_put_dict(a, s, "mos")) == NULL)
		return -1;
	PUT_STR(d, "mos_total", "0.000000");
	PUT_STR(d, "mos2_total", "0.000000");
	PUT_INT(d, "mos_samples_total", 0);
	PUT_STR(d, "mos_average", "0.000000");
	PUT_STR(d, "mos_stddev", "0.000000");
	if ((d = ngval_put_dict(a, s, "controlstatistics")) == NULL ||
	    stats_control(c, a, d) == -1)
		return -1;
	if ((l = ngval_put_list(a, s, "interfaces")) == NULL ||
	    ngval_put_list(a, s, "transcoders") == NULL)
		return -1;
	return 0;
}

enum ng_result
cmd_statistics(struct ctld *c, struct ng_req *req)
{
	if (stats_build(c, req->arena, req->reply) == -1)
		return ngcmd_error(req, "Out of memory");
	return NG_RES_OK;
}
