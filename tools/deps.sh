#!/bin/sh
# Install the Debian packages rtpsec needs to build, run and test.
# As root it runs apt-get; otherwise it prints the exact command to run.
# Usage: tools/deps.sh [build|run|test|bench]   (default: test)
#   bench: the test set, plus rtpengine (the reference relay of make bench)
#   and perf (profiling the relays under load).
set -eu
what=${1:-test}

# dpkg-dev: tools/libsrtp.sh unpacks Debian's libsrtp2 source package (built
# against OpenSSL); libsrtp2-dev stays as the fallback.
build="build-essential pkg-config libzmq3-dev libczmq-dev libsrtp2-dev libssl-dev
libhiredis-dev libmsgpack-dev libmicrohttpd-dev libinih-dev libseccomp-dev
liburing-dev libjson-c-dev redis-server dpkg-dev"
# supervisor: `make run` runs the cluster under supervisord (etc/supervisord.conf)
run="$build supervisor"
test="$run libcmocka-dev clang libclang-rt-14-dev kamailio kamailio-extra-modules
sip-tester baresip-core python3 curl procps"
# rtpengine-daemon: Debian 12's rtpengine 10.5 (userspace only, --table=-1: no
# kernel module); linux-perf: perf, for profiling a relay under load.
bench="$test rtpengine-daemon linux-perf"

case "$what" in
build) want=$build ;;
run) want=$run ;;
test) want=$test ;;
bench) want=$bench ;;
*) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# The unprivileged user the daemons drop to when started as root.
ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	getent passwd rtpsec >/dev/null && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin rtpsec
}

if [ -z "$missing" ]; then
	ensure_user
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "rtpsec: missing Debian packages:$missing" >&2
	echo "rtpsec: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "rtpsec: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
ensure_user
