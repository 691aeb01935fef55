#!/usr/bin/env bash
# make bench: rtpsec against rtpengine (the reference) on loopback, under the
# same loads from build/rtpload, one relay at a time, each started fresh.
#
# Loads (BENCH_LOADS, space-separated, default all, in this order):
#   plain-100 plain-1000 plain-2000   CALLS calls, BENCH_RATE (50) pps per
#                                     stream, plain RTP both legs
#   srtp-100 srtp-1000 srtp-2000      the same with SDES-SRTP on the caller
#                                     leg (rtpload -S), plain callee
#   saturate                          BENCH_SAT_CALLS (500) calls, rtpload
#                                     --saturate, BENCH_SAT_STEP (3) s a step
# For each load rtpsec runs, then rtpengine, back to back.
#
# Environment: B (build dir), BENCH_DURATION (10 s a load), BENCH_QUICK=1
# (2 s a load, saturate 100 calls 1 s a step), BENCH_LOADS, BENCH_WORKERS
# (relayd workers = rtpengine --num-threads; default nproc), BENCH_RTPSEC_NG
# (127.0.0.1:19322), BENCH_RTPENGINE_NG (127.0.0.1:19323), BENCH_HTTP
# (statsd, 127.0.0.1:19324), BENCH_PORT_MIN/MAX (20000/60000),
# BENCH_RTPENGINE_ARGS (extra rtpengine options), BENCH_RTPLOAD_ARGS (extra
# rtpload options).
#
# Output: one JSON line per run (and a machine record first) in
# $B/bench/results-<UTC timestamp>.jsonl (the relays' logs and rtpload's
# stderr in $B/bench/logs-<UTC timestamp>/), then the table of
# tests/bench/table.py (`tests/bench/table.py show FILE` prints it again).
# Every wait is bounded; Ctrl-C stops the relay and rtpload and prints what
# has been measured.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
here=tests/bench
table="python3 $here/table.py"

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	dur=${BENCH_DURATION:-2}
	sat_calls=${BENCH_SAT_CALLS:-100}
	sat_step=${BENCH_SAT_STEP:-1}
else
	dur=${BENCH_DURATION:-10}
	sat_calls=${BENCH_SAT_CALLS:-500}
	sat_step=${BENCH_SAT_STEP:-3}
fi
rate=${BENCH_RATE:-50}
loads=${BENCH_LOADS:-plain-100 plain-1000 plain-2000 srtp-100 srtp-1000 srtp-2000 saturate}
workers=${BENCH_WORKERS:-$(nproc)}
rtpsec_ng=${BENCH_RTPSEC_NG:-127.0.0.1:19322}
rtpengine_ng=${BENCH_RTPENGINE_NG:-127.0.0.1:19323}
http=${BENCH_HTTP:-127.0.0.1:19324}
port_min=${BENCH_PORT_MIN:-20000}
port_max=${BENCH_PORT_MAX:-60000}

work=""
die() { echo "bench: $*" >&2; [ -n "$work" ] && rm -rf "$work"; exit 1; }

for x in relayd ctld keyd statsd rtpload; do
	[ -x "$B/$x" ] || die "$B/$x is not built (make all)"
done
command -v rtpengine >/dev/null || die "rtpengine not found (tools/deps.sh bench installs rtpengine-daemon)"
[ "$(id -u)" -eq 0 ] || die "run as root (rtpengine and the rtpsec daemons' confinement need it)"
for l in $loads; do
	case $l in
	plain-[0-9]*|srtp-[0-9]*|saturate) ;;
	*) die "unknown load '$l' (plain-N, srtp-N, saturate)" ;;
	esac
done

# A relay holds 4 media sockets per call (RTP+RTCP per leg): 2000 calls,
# 8000 descriptors.  Raise the soft limit as far as the hard limit allows.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)

busy() { # -u|-t ADDR:PORT
	ss -H -l "${1}n" "sport = :${2##*:}" 2>/dev/null | grep -q .
}
for a in "$rtpsec_ng" "$rtpengine_ng"; do
	busy -u "$a" && die "ng port $a is in use (set BENCH_RTPSEC_NG / BENCH_RTPENGINE_NG)"
done
busy -t "$http" && die "statsd port $http is in use (set BENCH_HTTP)"
others=$(ps -C rtpengine -o pid=,stat= | awk '$2 !~ /^Z/ {print $1}' | tr '\n' ' ')
[ -n "$others" ] &&
	echo "bench: warning: another rtpengine is running (pid $others); it is left alone" >&2

mkdir -p "$B/bench"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$B/bench/results-$stamp.jsonl"
logs="$B/bench/logs-$stamp"     # each run's relay log and rtpload's stderr
mkdir -p "$logs"
work=$(mktemp -d /tmp/rtpsec-bench.XXXXXX)
chmod 755 "$work"

# ---------------------------------------------------------------- rtpsec
conf="$work/rtpsec.conf"
cat >"$conf" <<EOF
; written by tests/bench/run.sh
[common]
run_dir = $work/run
node_id = bench
redis = unix:redis.sock
[relayd]
interface = 127.0.0.1
port_min = $port_min
port_max = $port_max
workers = $workers
media_timeout = 60
[ctld]
ng_listen = $rtpsec_ng
ng_tcp = no
delete_delay = 0
max_sessions = 0
[statsd]
http_listen = $http
EOF
"$B/ctld" -f "$conf" -n >/dev/null 2>"$work/conf.err" || die "rtpsec configuration: $(cat "$work/conf.err")"

# rtpengine as the reference, configured like the rtpsec cluster above:
# tests/bench/rtpengine.sh says which options and why.  It execs rtpengine,
# so the PID started is rtpengine's.
export RTPENGINE_NG=$rtpengine_ng RTPENGINE_PORT_MIN=$port_min \
	RTPENGINE_PORT_MAX=$port_max RTPENGINE_THREADS=$workers
# shellcheck disable=SC2206
rtpengine_cmd=("$here/rtpengine.sh" ${BENCH_RTPENGINE_ARGS:-})

relay_pid=""      # the process to stop: tools/run.sh or rtpengine
relay_ng=""       # its ng address
relay_pids=""     # what rtpload measures (comma-separated)
all_pids=""       # every process of the relay, checked gone after stop
redis_pid=""
load_pid=""

# running (a zombie, dead but not reaped yet, is not)
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

start_rtpsec() {
	B=$B RTPSEC_CONF=$conf setsid tools/run.sh >"$work/rtpsec.log" 2>&1 &
	relay_pid=$!
	relay_ng=$rtpsec_ng
	local d p sup="" ids=""
	# run.sh runs supervisord, which runs the daemons and Redis
	for _ in $(seq 100); do
		ids=""
		sup=$(pgrep -P "$relay_pid" -x supervisord | head -1)
		for d in relayd ctld keyd statsd; do
			p=${sup:+$(pgrep -P "$sup" -x "$d" | head -1)}
			[ -n "$p" ] || break
			ids="$ids${ids:+,}$p"
		done
		[ "$(echo "$ids" | tr ',' '\n' | grep -c .)" -eq 4 ] && break
		sleep 0.1
	done
	redis_pid=${sup:+$(pgrep -P "$sup" -x redis-server | head -1)}
	relay_pids=$ids
	all_pids="$(echo "$ids" | tr ',' ' ') $redis_pid"
	[ "$(echo "$ids" | tr ',' '\n' | grep -c .)" -eq 4 ] || {
		echo "bench: rtpsec did not start:" >&2; tail -20 "$work/rtpsec.log" >&2; return 1; }
	$table ping "$rtpsec_ng" 20 || {
		echo "bench: rtpsec ng $rtpsec_ng does not answer ping:" >&2
		tail -20 "$work/rtpsec.log" >&2; return 1; }
	# ctld answers before relayd and keyd may be reachable: statsd's
	# /health is 200 once it has heard from relayd, ctld and keyd
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://$http/health")" = 200 ] && return 0
		sleep 0.1
	done
	echo "bench: rtpsec is not healthy (http://$http/health):" >&2
	tail -20 "$work/rtpsec.log" >&2
	return 1
}

start_rtpengine() {
	setsid "${rtpengine_cmd[@]}" >"$work/rtpengine.log" 2>&1 &
	relay_pid=$!
	relay_ng=$rtpengine_ng
	relay_pids=$relay_pid
	all_pids=$relay_pid
	redis_pid=""
	$table ping "$rtpengine_ng" 20 || {
		echo "bench: rtpengine ng $rtpengine_ng does not answer ping:" >&2
		tail -20 "$work/rtpengine.log" >&2; return 1; }
}

stop_relay() {
	[ -n "$relay_pid" ] || return 0
	kill -TERM "$relay_pid" 2>/dev/null
	local p left
	for _ in $(seq 100); do
		alive "$relay_pid" || break
		sleep 0.1
	done
	if alive "$relay_pid"; then
		echo "bench: $relay_pid did not stop on SIGTERM: SIGKILL" >&2
		kill -KILL "$relay_pid" 2>/dev/null
	fi
	wait "$relay_pid" 2>/dev/null
	# run.sh stops its daemons itself; whatever is left after 10 s is killed
	for _ in $(seq 100); do
		left=""
		for p in $all_pids; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in $left; do
		echo "bench: pid $p still running after stop: SIGKILL" >&2
		kill -KILL "$p" 2>/dev/null
	done
	sleep 0.2
	for p in $all_pids; do
		alive "$p" && echo "bench: pid $p survived SIGKILL" >&2
	done
	for _ in $(seq 50); do
		busy -u "$relay_ng" || break
		sleep 0.1
	done
	busy -u "$relay_ng" && echo "bench: ng port $relay_ng still bound after the relay stopped" >&2
	relay_pid=""
	all_pids=""
}

cleanup() {
	trap - INT TERM
	if [ -n "$load_pid" ] && alive "$load_pid"; then
		kill -TERM "$load_pid" 2>/dev/null
		wait "$load_pid" 2>/dev/null
	fi
	stop_relay
	rm -rf "$work"
}
interrupted() {
	echo "bench: interrupted" >&2
	cleanup
	[ -s "$results" ] && $table show "$results"
	exit 130
}
trap interrupted INT TERM

# PID... -> ns on CPU of all their threads (schedstat: exact, where utime and
# stime are sampled at the scheduler tick)
sched_ns() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{s += $1} END {printf "%.0f", s}'
}

# ---------------------------------------------------------------- machine
libsrtp=$(strings "$B/relayd" 2>/dev/null | grep -m1 -E '^libsrtp2 [0-9]' | cut -d' ' -f2)
$table machine "$results" \
	nproc="$(nproc)" kernel="$(uname -r)" \
	cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	rtpengine_version="$(rtpengine --version 2>&1 | sed 's/^Version: //')" \
	libsrtp="${libsrtp:-?}" srtp_build="$(cat "$B/srtp.used" 2>/dev/null || echo '?')" \
	workers="$workers" duration="$dur" rate="$rate" nofile="$nofile" \
	quick="$([ "$quick" = 1 ] && echo true || echo false)" \
	rtpengine_cmd="$("${rtpengine_cmd[0]}" -n "${rtpengine_cmd[@]:1}")" \
	rtpsec_conf="$(grep -v '^;' "$conf" | tr '\n' ' ')"

echo "bench: loads: $loads; ${dur} s each; results in $results" >&2

# ---------------------------------------------------------------- loads
run_one() { # RELAY LOAD
	local relay=$1 load=$2 calls srtp=false sat=false ng timeout_s rc d=$dur
	local args=()
	case $load in
	plain-*) calls=${load#plain-} ;;
	srtp-*) calls=${load#srtp-}; srtp=true; args+=(-S) ;;
	saturate) calls=$sat_calls; sat=true ;;
	esac
	if [ "$sat" = true ]; then
		d=$sat_step
		args+=(-c "$calls" -r "$rate" -d "$d" --saturate)
		timeout_s=900
	else
		args+=(-c "$calls" -r "$rate" -d "$dur")
		timeout_s=$((dur + 300))
	fi
	if [ "$relay" = rtpsec ]; then ng=$rtpsec_ng; else ng=$rtpengine_ng; fi

	echo "bench: $load on $relay" >&2
	if ! "start_$relay"; then
		stop_relay
		echo "" | $table record "$results" relay="$relay" load="$load" \
			calls="$calls" rate="$rate" duration="$d" srtp="$srtp" rc=-1 \
			error="\"$relay did not start\"" >/dev/null
		return
	fi
	# shellcheck disable=SC2206
	args+=(-n "$ng" -p "$relay_pids" -j ${BENCH_RTPLOAD_ARGS:-})
	local r0 r1 s0 s1
	r0=$(sched_ns $redis_pid)
	# shellcheck disable=SC2086
	s0=$(sched_ns ${relay_pids//,/ })
	timeout -k 5 "$timeout_s" "$B/rtpload" "${args[@]}" \
		>"$work/rtpload.out" 2>"$work/rtpload.err" &
	load_pid=$!
	wait "$load_pid"
	rc=$?
	load_pid=""
	r1=$(sched_ns $redis_pid)
	# shellcheck disable=SC2086
	s1=$(sched_ns ${relay_pids//,/ })
	# a relay process that died (supervisord restarts it) spoils the run
	local dead="" p
	for p in ${relay_pids//,/ }; do alive "$p" || dead="$dead $p"; done
	stop_relay
	cp "$work/$relay.log" "$logs/$load-$relay.log" 2>/dev/null
	cp "$work/rtpload.err" "$logs/$load-$relay.rtpload.log" 2>/dev/null
	local extra=(relay_cpu_whole_s="$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.3f", (b-a)/1e9}')")
	[ -n "$redis_pid" ] && extra+=(redis_cpu_s="$(awk -v a="$r0" -v b="$r1" 'BEGIN{printf "%.3f", (b-a)/1e9}')")
	[ -n "$dead" ] && extra+=(error="\"relay process(es)$dead died during the run\"")
	[ $rc -eq 124 ] && extra+=(error="\"rtpload timed out after ${timeout_s}s\"")
	$table record "$results" relay="$relay" load="$load" calls="$calls" \
		rate="$rate" duration="$d" srtp="$srtp" rc="$rc" \
		pids="\"$relay_pids\"" args="$(printf '%s ' "${args[@]}" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')" \
		stderr_tail="$(tail -c 400 "$work/rtpload.err" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" \
		"${extra[@]}" <"$work/rtpload.out" ||
		{ echo "bench: $load on $relay: no result (rc $rc):" >&2; tail -5 "$work/rtpload.err" >&2; }
}

for load in $loads; do
	for relay in rtpsec rtpengine; do
		run_one "$relay" "$load"
	done
done

cleanup
trap - INT TERM
echo >&2
$table show "$results"
