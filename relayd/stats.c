/*
 * stats: relayd's PUB `stats` and `event` messages (docs/ipc.md, "PUB
 * messages" and "Metrics by daemon").  Counters are cumulative since the
 * daemon started: packet counters are summed over the workers with
 * relaxed loads (io_totals), the rest are control-thread counters.
 */
#include <stdio.h>
#include <unistd.h>

#include "libcommon/store.h"
#include "relayd/stats.h"

static void
stats_metric(msgpack_packer *pk, const char *name, const char *label,
    const char *value, uint64_t n)
{
	char	 key[160];

	if (label != NULL)
		snprintf(key, sizeof(key), "%s{%s=\"%s\"}", name, label,
		    value);
	else
		snprintf(key, sizeof(key), "%s", name);
	ipc_pack_str(pk, key);
	msgpack_pack_uint64(pk, n);
}

void
stats_build(struct relayd *r, struct ipc_w *w, uint64_t seq)
{
	struct io_totals	 t;
	int			 i;

	io_totals(r->io, &t);
	ipc_w_begin(w, IPC_OP_STATS, seq, 5);
	ipc_w_str(w, "daemon", "relayd");
	ipc_w_str(w, "node", r->cfg->node_id);
	ipc_w_uint(w, "pid", (uint64_t)getpid());
	ipc_w_uint(w, "started", r->started);
	ipc_w_key(w, "metrics");
	msgpack_pack_map(&w->pk, 11 + RELAY_DROP_COUNT + CALL_IPCDROP_COUNT);
	stats_metric(&w->pk, "rtpsec_packets_relayed_total", NULL, NULL,
	    t.packets);
	stats_metric(&w->pk, "rtpsec_bytes_relayed_total", NULL, NULL,
	    t.bytes);
	for (i = 0; i < RELAY_DROP_COUNT; i++)
		stats_metric(&w->pk, "rtpsec_packets_dropped_total", "reason",
		    relay_drop_names[i], t.drops[i]);
	stats_metric(&w->pk, "rtpsec_srtp_packets_total", "op", "decrypt",
	    t.srtp_decrypted);
	stats_metric(&w->pk, "rtpsec_srtp_packets_total", "op", "encrypt",
	    t.srtp_encrypted);
	stats_metric(&w->pk, "rtpsec_relay_timeouts_total", NULL, NULL,
	    r->timeouts);
	stats_metric(&w->pk, "rtpsec_relay_calls", NULL, NULL, r->ncalls);
	stats_metric(&w->pk, "rtpsec_relay_restored_total", NULL, NULL,
	    r->restored);
	stats_metric(&w->pk, "rtpsec_relay_restore_failed_total", NULL, NULL,
	    r->restore_failed);
	stats_metric(&w->pk, "rtpsec_redis_errors_total", NULL, NULL,
	    r->store != NULL ? store_errors(r->store) : 0);
	stats_metric(&w->pk, "rtpsec_ports_used", NULL, NULL,
	    ports_used(r->ports));
	stats_metric(&w->pk, "rtpsec_ports_free", NULL, NULL,
	    ports_total(r->ports) - ports_used(r->ports));
	for (i = 0; i < CALL_IPCDROP_COUNT; i++)
		stats_metric(&w->pk, "rtpsec_ipc_dropped_total", "reason",
		    call_ipcdrop_names[i], r->ipc_dropped[i]);
}

void
stats_event(struct relayd *r, struct ipc_w *w, uint64_t seq,
    const char *type, const char *call)
{
	ipc_w_begin(w, IPC_OP_EVENT, seq, 4);
	ipc_w_str(w, "daemon", "relayd");
	ipc_w_str(w, "node", r->cfg->node_id);
	ipc_w_str(w, "type", type);
	ipc_w_str(w, "call", call);
}
