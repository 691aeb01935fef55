#!/usr/bin/env bash
# `make run`: the whole rtpsec cluster on loopback, in the foreground, under
# supervisord (etc/supervisord.conf): a private redis-server (unix socket
# redis.sock in the run directory, nothing on disk) and the four daemons with
# their built-in defaults (no configuration file): ng on 127.0.0.1:22222 (UDP
# and TCP), media on 127.0.0.1 ports 30000-40000, metrics on
# http://127.0.0.1:9922/metrics.  supervisord restarts any program that
# exits; `supervisorctl -c etc/supervisord.conf status` (with the same
# environment) shows them.  Ctrl-C or SIGTERM stops everything.
# Pass a configuration file with RTPSEC_CONF=path.
set -u
B=${B:-build}
conf_args=()
[ -n "${RTPSEC_CONF:-}" ] && conf_args=(-f "$(realpath "$RTPSEC_CONF")")

cfg() { "$B/ctld" "${conf_args[@]}" -n 2>/dev/null | sed -n "s/^$1 = //p"; }
run_dir=$(cfg run_dir)
redis=$(cfg redis)
[ -n "$run_dir" ] || { echo "run: cannot read the configuration" >&2; exit 1; }
command -v supervisord >/dev/null ||
	{ echo "run: supervisord not found (tools/deps.sh run installs it)" >&2; exit 1; }
mkdir -p "$run_dir"
data=$(mktemp -d /tmp/rtpsec-redis.XXXXXX)

case "$redis" in
unix:/*) sock=${redis#unix:} ;;
unix:*) sock="$run_dir/${redis#unix:}" ;;
*) echo "run: redis = $redis is external; not starting one" >&2; sock="" ;;
esac

export RTPSEC_BIN=$(realpath "$B")
export RTPSEC_CONF_ARG="${conf_args[*]}"
export RTPSEC_RUN_DIR=$run_dir
export RTPSEC_REDIS_SOCK=${sock:-$run_dir/redis.sock}
export RTPSEC_REDIS_DIR=$data
export RTPSEC_REDIS=$([ -n "$sock" ] && echo true || echo false)

here=$(dirname "$(realpath "$0")")
supervisord -n -c "$here/../etc/supervisord.conf" &
pid=$!
stop() {
	echo "run: stopping" >&2
	kill -TERM "$pid" 2>/dev/null
}
trap stop INT TERM
echo "run: rtpsec is up under supervisord (pid $pid): ng udp/tcp $(cfg ng_listen), metrics http://$(cfg http_listen)/metrics, run dir $run_dir" >&2
rc=0
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid"
	rc=$?
done
rm -rf "$data"
# supervisord's own status (0 after a stop on SIGTERM); a trap that
# interrupted wait leaves 128+signal, which is a clean stop too
[ $rc -gt 128 ] && rc=0
exit $rc
