/*
 * config: the one INI file of rtpsec (inih), a [common] section and one
 * section per daemon.  Every option has a default, so every daemon runs on
 * loopback with no file at all.  The options are declared once, in
 * CONFIG_OPTIONS below; that table yields the struct, the defaults, the
 * parser and the `-n` dump.
 *
 * Relative paths and ipc:// endpoints are relative to run_dir: each daemon
 * chdir()s there before binding, and chroot()s there when confining, so
 * the same relative names work before and after confinement.
 */
#ifndef RTPSEC_CONFIG_H
#define RTPSEC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_STRLEN	256

/* X(section, name, type, default, help) ; type is STR, INT or BOOL */
#define CONFIG_OPTIONS(X)						\
	X(common, run_dir, STR, "", "run directory (ipc sockets; chroot); default /run/rtpsec as root, else /tmp/rtpsec-UID") \
	X(common, user, STR, "rtpsec", "unprivileged user the daemons drop to when started as root") \
	X(common, chroot, BOOL, "yes", "chroot(2) to run_dir when started as root")	\
	X(common, seccomp, BOOL, "yes", "install the seccomp allow-list")		\
	X(common, node_id, STR, "node1", "this relay node's id (Redis index, ctld node selection)") \
	X(common, syslog, BOOL, "no", "log to syslog instead of stderr")		\
	X(common, debug, BOOL, "no", "debug logging")				\
	X(common, redis, STR, "unix:redis.sock", "Redis server: host:port or unix:PATH") \
	X(common, relayd_ctl, STR, "ipc://relayd.sock", "relayd ROUTER endpoint")	\
	X(common, relayd_pub, STR, "ipc://relayd-pub.sock", "relayd PUB endpoint")	\
	X(common, keyd_ctl, STR, "ipc://keyd.sock", "keyd ROUTER endpoint")	\
	X(common, keyd_pub, STR, "ipc://keyd-pub.sock", "keyd PUB endpoint")	\
	X(common, ctld_ctl, STR, "ipc://ctld.sock", "ctld ROUTER endpoint (control API)") \
	X(common, ctld_pub, STR, "ipc://ctld-pub.sock", "ctld PUB endpoint")	\
	X(common, stats_interval_ms, INT, "1000", "how often each daemon publishes its counters") \
	X(relayd, interface, STR, "127.0.0.1", "address media sockets bind to")	\
	X(relayd, advertised, STR, "", "address written into SDP (default: interface)") \
	X(relayd, port_min, INT, "30000", "lowest media port")			\
	X(relayd, port_max, INT, "40000", "highest media port")			\
	X(relayd, workers, INT, "0", "media worker threads (0: one per core)")	\
	X(relayd, media_timeout, INT, "60", "seconds without media before a call ends") \
	X(relayd, io_engine, STR, "auto", "packet I/O engine: io_uring, epoll, or auto (io_uring where the kernel allows it)") \
	X(ctld, ng_listen, STR, "127.0.0.1:22222", "ng control address (UDP, and TCP if ng_tcp)") \
	X(ctld, ng_tcp, BOOL, "yes", "also accept ng over TCP")			\
	X(ctld, ng_allow, STR, "127.0.0.0/8 ::1/128", "source networks allowed to send ng commands") \
	X(ctld, delete_delay, INT, "30", "default delete delay in seconds (rtpengine's --delete-delay)") \
	X(ctld, call_ttl, INT, "86400", "TTL of a call record in Redis, refreshed while the call lives") \
	X(ctld, max_sessions, INT, "0", "refuse new calls beyond this many (0: no limit)") \
	X(ctld, sdes_suites, STR, "", "SDES suites offered to an SRTP leg, in order (RFC 4568 names, space-separated); empty: all, rtpengine's order") \
	X(ctld, reply_cache_s, INT, "60", "how long ng replies are kept for retransmitted cookies") \
	X(ctld, ipc_timeout_ms, INT, "500", "deadline for requests to relayd and keyd") \
	X(ctld, relay_nodes, STR, "", "relay nodes, space-separated id=ctl_endpoint,pub_endpoint; empty: the one node [common] node_id at relayd_ctl/relayd_pub") \
	X(ctld, relay_dead_ms, INT, "3000", "a relay node silent this long is dead: a live node adopts its calls") \
	X(keyd, kek_file, STR, "keyd.kek", "key-wrapping key: 32 bytes, mode 0600, created if missing (relative to run_dir); keep it: stored SRTP keys need it") \
	X(statsd, http_listen, STR, "127.0.0.1:9922", "metrics HTTP address (/metrics, /health)") \
	X(statsd, down_after_ms, INT, "3000", "a daemon silent this long is reported down")

#define CONFIG_FIELD_STR(n)	char n[CONFIG_STRLEN];
#define CONFIG_FIELD_INT(n)	int n;
#define CONFIG_FIELD_BOOL(n)	int n;
#define CONFIG_FIELD(sec, n, type, def, help)	CONFIG_FIELD_##type(n)

struct config {
	CONFIG_OPTIONS(CONFIG_FIELD)
	char	path[CONFIG_STRLEN];	/* the file read, "" if none */
};

/* Fills in every default; then, if path is not NULL, reads the file.
 * Returns 0, or -1 with a reason in err (unknown section or option, bad
 * value, unreadable file). */
int	config_load(struct config *, const char *path, char *err, size_t errlen);
/* The same from an open file (fp NULL: defaults only); path names it in
 * messages and cfg->path.  The daemons reload through this after chroot. */
int	config_load_fp(struct config *, FILE *fp, const char *path, char *err,
	    size_t errlen);
/* Writes the effective configuration as INI (for -n). */
void	config_dump(const struct config *, FILE *);
/* Splits "host:port" or "[v6]:port"; returns 0 or -1. */
int	config_hostport(const char *, char *host, size_t hostlen, int *port);

#endif
