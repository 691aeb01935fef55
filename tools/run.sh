#!/usr/bin/env bash
# `make run`: the whole rtpsec cluster on loopback, in the foreground.
#
# Starts a private redis-server (unix socket redis.sock in the run
# directory, nothing on disk) and the four daemons with their built-in
# defaults (no configuration file): ng on 127.0.0.1:22222 (UDP and TCP),
# media on 127.0.0.1 ports 30000-40000, metrics on
# http://127.0.0.1:9922/metrics.  A daemon that exits is restarted after a
# second, as supervisord would.  Ctrl-C or SIGTERM stops everything.
# Pass a configuration file with RTPSEC_CONF=path.
set -u
B=${B:-build}
conf_args=()
[ -n "${RTPSEC_CONF:-}" ] && conf_args=(-f "$RTPSEC_CONF")

run_dir=$("$B/ctld" "${conf_args[@]}" -n 2>/dev/null | sed -n 's/^run_dir = //p')
redis=$("$B/ctld" "${conf_args[@]}" -n 2>/dev/null | sed -n 's/^redis = //p')
[ -n "$run_dir" ] || { echo "run: cannot read the configuration" >&2; exit 1; }
mkdir -p "$run_dir"
data=$(mktemp -d /tmp/rtpsec-redis.XXXXXX)

declare -A pids
stopping=0

start_redis() {
	case "$redis" in
	unix:/*) sock=${redis#unix:} ;;
	unix:*) sock="$run_dir/${redis#unix:}" ;;
	*) echo "run: redis = $redis is external; not starting one" >&2; return ;;
	esac
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 777 \
	    --save '' --appendonly no --dir "$data" --loglevel warning &
	pids[redis]=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
}

start() {
	"$B/$1" "${conf_args[@]}" &
	pids[$1]=$!
}

stop_all() {
	stopping=1
	echo "run: stopping" >&2
	for d in statsd ctld relayd keyd redis; do
		[ -n "${pids[$d]:-}" ] && kill -TERM "${pids[$d]}" 2>/dev/null
	done
	for d in statsd ctld relayd keyd redis; do
		[ -n "${pids[$d]:-}" ] && wait "${pids[$d]}" 2>/dev/null
	done
	rm -rf "$data"
	exit 0
}
trap stop_all INT TERM

start_redis
for d in keyd relayd ctld statsd; do start "$d"; done
echo "run: rtpsec is up: ng udp/tcp $("$B/ctld" "${conf_args[@]}" -n 2>/dev/null | sed -n 's/^ng_listen = //p'), metrics http://$("$B/statsd" "${conf_args[@]}" -n 2>/dev/null | sed -n 's/^http_listen = //p')/metrics, run dir $run_dir" >&2

while [ $stopping -eq 0 ]; do
	sleep 1 &
	wait $! 2>/dev/null
	for d in "${!pids[@]}"; do
		if ! kill -0 "${pids[$d]}" 2>/dev/null && [ $stopping -eq 0 ]; then
			wait "${pids[$d]}" 2>/dev/null; rc=$?
			echo "run: $d exited ($rc); restarting" >&2
			if [ "$d" = redis ]; then start_redis; else start "$d"; fi
		fi
	done
done
