#!/bin/sh
# The reference relay of `make bench`: rtpengine (Debian 12's 10.5, package
# rtpengine-daemon) in userspace on loopback, in the foreground, configured
# like the rtpsec cluster of tests/bench/run.sh.  Run it by hand to profile
# it (perf record -g -p PID) under build/rtpload; Ctrl-C stops it.  As root.
#
# Usage: tests/bench/rtpengine.sh [-n] [more rtpengine options]
#   -n   print the command line instead of running it
# Environment: RTPENGINE_NG (127.0.0.1:19323), RTPENGINE_PORT_MIN (20000),
# RTPENGINE_PORT_MAX (60000), RTPENGINE_THREADS (nproc: relayd's
# `workers = 0`), RTPENGINE_PIDFILE (none).
#
# The options:
#   --config-file=none   not /etc/rtpengine/rtpengine.conf (kernel table 0,
#                        recording to /var/spool/rtpengine, HTTP, CLI)
#   --table=-1           userspace forwarding only: no xt_RTPENGINE kernel
#                        module and no iptables rules (rtpsec is userspace)
#   --num-threads        = relayd workers (rtpengine's own default is one
#                        per core but at least 4); these threads also serve ng
#   --media-num-threads=0  no media-playback threads (rtpsec plays nothing)
#   --delete-delay=0     = the bench's ctld delete_delay: a deleted call is
#                        freed at once
#   --timeout=60         = relayd media_timeout
#   --log-level=4        warnings and worse only (per-call INFO lines would
#                        cost CPU that rtpsec does not spend)
#   no --redis/--redis-write, --recording-*, --homer, --graphite,
#   --listen-cli, --listen-http, --mqtt-*: off unless given.
# Left at rtpengine's defaults: endpoint learning (delayed: until it learns,
# it sends to the SDP address, which is where rtpload sends from), one poller
# shared by the worker threads (--poller-per-thread, the other choice, gives
# each thread its own epoll as relayd does; pass it as an extra option),
# thread stacks, scheduling.  10.5 has no io_uring and no timer-thread
# options; its other threads (signal handler, poller timer, ICE) are idle here.
set -eu
print=0
if [ "${1:-}" = -n ]; then
	print=1
	shift
fi
set -- rtpengine --config-file=none --table=-1 \
	--interface=127.0.0.1 --listen-ng="${RTPENGINE_NG:-127.0.0.1:19323}" \
	--port-min="${RTPENGINE_PORT_MIN:-20000}" \
	--port-max="${RTPENGINE_PORT_MAX:-60000}" \
	--num-threads="${RTPENGINE_THREADS:-$(nproc)}" --media-num-threads=0 \
	--delete-delay=0 --timeout=60 \
	--foreground --log-stderr --log-level=4 \
	${RTPENGINE_PIDFILE:+--pidfile="$RTPENGINE_PIDFILE"} "$@"
if [ $print = 1 ]; then
	echo "$*"
	exit 0
fi
exec "$@"
