/*
 * metrics: every metric family rtpsec exports, declared once (docs/ipc.md
 * "Metrics by daemon", docs/metrics.md).  statsd takes the `# HELP` text
 * from here; a family a daemon publishes that is not listed still gets
 * exported, with a generic help line.
 *
 * The Prometheus type is not a column: a family whose name ends in _total
 * is a counter, anything else a gauge (metrics_is_counter()).
 */
#ifndef RTPSEC_STATSD_METRICS_H
#define RTPSEC_STATSD_METRICS_H

#include <stddef.h>

/* X(name, "help") */
#define METRICS(X)							\
	X(rtpsec_packets_relayed_total,					\
	    "RTP/RTCP packets relayed (relayd)")			\
	X(rtpsec_bytes_relayed_total,					\
	    "Bytes of RTP/RTCP relayed (relayd)")			\
	X(rtpsec_packets_dropped_total,					\
	    "Packets received but not relayed, by reason (relayd)")	\
	X(rtpsec_srtp_packets_total,					\
	    "SRTP/SRTCP packets relayd decrypted or encrypted, by op")	\
	X(rtpsec_relay_timeouts_total,					\
	    "Calls ended by relayd after media_timeout without media")	\
	X(rtpsec_relay_restored_total,					\
	    "Calls relayd restored from Redis at start or adopted")	\
	X(rtpsec_relay_restore_failed_total,				\
	    "Calls relayd could not restore from Redis")		\
	X(rtpsec_relay_takeovers_total,					\
	    "Dead relay nodes whose calls a live node adopted (ctld)")	\
	X(rtpsec_relay_calls,						\
	    "Calls relayd currently holds")				\
	X(rtpsec_ports_used,						\
	    "Media ports in use (relayd)")				\
	X(rtpsec_ports_free,						\
	    "Media ports free (relayd)")				\
	X(rtpsec_calls_active,						\
	    "Calls ctld currently manages")				\
	X(rtpsec_calls_created_total,					\
	    "Calls created by ctld")					\
	X(rtpsec_calls_deleted_total,					\
	    "Calls deleted by ctld")					\
	X(rtpsec_calls_timedout_total,					\
	    "Calls ended by a media timeout (ctld)")			\
	X(rtpsec_ng_requests_total,					\
	    "ng commands answered by ctld, by command and result")	\
	X(rtpsec_ng_dropped_total,					\
	    "ng messages dropped by ctld, by reason")			\
	X(rtpsec_redis_errors_total,					\
	    "Failed Redis operations, by daemon")			\
	X(rtpsec_keyd_requests_total,					\
	    "Well-formed requests keyd answered (served or refused)")					\
	X(rtpsec_keyd_key_sets,						\
	    "SDES key sets keyd holds for live calls")			\
	X(rtpsec_keyd_unwrap_total,					\
	    "srtp_unwrap requests keyd answered, by result (ok, failed)") \
	X(rtpsec_ipc_dropped_total,					\
	    "Malformed or refused IPC messages, by daemon and reason")	\
	X(rtpsec_daemon_up,						\
	    "1 if statsd heard from the daemon within down_after_ms")	\
	X(rtpsec_statsd_uptime_seconds,					\
	    "Seconds since statsd started")				\
	X(rtpsec_statsd_messages_total,					\
	    "PUB messages statsd accepted, by daemon")			\
	X(rtpsec_statsd_series,						\
	    "Metric series statsd holds")

/* The help text of a family (name of famlen bytes), or a generic one. */
const char	*metrics_help(const char *name, size_t famlen);
/* 1 if the family is a counter (its name ends in _total). */
int		 metrics_is_counter(const char *name, size_t famlen);

#endif
