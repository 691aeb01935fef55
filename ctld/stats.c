/*
 * stats: the `statistics` ng command, in the shape of rtpengine's
 * (reference transcript 06: currentstatistics, totalstatistics,
 * intervalstatistics, mos, controlstatistics).  ctld fills in what it
 * knows (sessions, uptime, per-command and per-proxy counts); packet and
 * byte figures live in relayd and statsd (Prometheus) and are 0 here.
 * As in rtpengine, floats and "uptime" are strings.
 */
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

static int
stats_current(struct ctld *c, struct ngarena *a, struct ngval *d)
{
	static const char *const zero[] = { "transcodedmedia",
	    "packetrate_user", "byterate_user", "errorrate_user",
	    "packetrate_kernel", "byterate_kernel", "errorrate_kernel",
	    "packetrate", "byterate", "errorrate", "media_userspace",
	    "media_kernel", "media_mixed", NULL };
	size_t	 i;

	PUT_INT(d, "sessionsown", calls_count(c->calls));
	PUT_INT(d, "sessionsforeign", 0);
	PUT_INT(d, "sessionstotal", calls_count(c->calls));
	for (i = 0; zero[i] != NULL; i++)
		PUT_INT(d, zero[i], 0);
	return 0;
}

static int
stats_total(struct ctld *c, struct ngarena *a, struct ngval *d)
{
	static const char *const zero[] = { "silenttimeoutsessions",
	    "finaltimeoutsessions", "offertimeoutsessions", NULL };
	static const char *const zero2[] = { "forcedterminatedsessions",
	    "relayedpackets_user", "relayedpacketerrors_user",
	    "relayedbytes_user", "relayedpackets_kernel",
	    "relayedpacketerrors_kernel", "relayedbytes_kernel",
	    "relayedpackets", "relayedpacketerrors", "relayedbytes",
	    "zerowaystreams", "onewaystreams", NULL };
	static const char *const fzero[] = { "avgcallduration",
	    "totalcallsduration", "totalcallsduration2",
	    "totalcallsduration_stddev", NULL };
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
	for (i = 0; fzero[i] != NULL; i++)
		PUT_STR(d, fzero[i], "0.000000");
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
