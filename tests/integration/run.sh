#!/usr/bin/env bash
# Runs every tests/integration/test_*.py (unittest) against the daemons in
# $B (default build), each file bounded by RTPSEC_IT_TIMEOUT seconds
# (default 600).  Prints a summary; exits non-zero if any file fails.
#   B=build-asan tests/integration/run.sh          # all files
#   tests/integration/run.sh test_ng_plain.py      # some files
set -u
cd "$(dirname "$0")/../.."
export B=${B:-build}
limit=${RTPSEC_IT_TIMEOUT:-600}
here=tests/integration

# the ZeroMQ helper the tests use to speak to the daemons' ROUTER sockets
mkdir -p "$B/tests"
if ! cc -O1 -Wall -Werror -o "$B/tests/zmqsend" "$here/zmqsend.c" \
    $(pkg-config --cflags --libs libzmq); then
	echo "integration: cannot build $here/zmqsend.c" >&2
	exit 1
fi

# the SDES-SRTP endpoint of test_sdes.py, with the libsrtp2 the build uses
if [ -f "$B/libsrtp/lib/libsrtp2.a" ]; then
	srtp_flags="-I$B/libsrtp/include $B/libsrtp/lib/libsrtp2.a -lssl -lcrypto"
else
	srtp_flags="$(pkg-config --cflags --libs libsrtp2) -lcrypto"
fi
if ! cc -O1 -Wall -Werror -o "$B/tests/srtpcat" "$here/srtpcat.c" \
    $srtp_flags; then
	echo "integration: cannot build $here/srtpcat.c" >&2
	exit 1
fi

if [ $# -gt 0 ]; then
	files=("$@")
else
	files=("$here"/test_*.py)
fi

declare -a summary
fail=0
for f in "${files[@]}"; do
	[ -f "$f" ] || f="$here/$f"
	name=$(basename "$f" .py)
	echo "== integration: $name (B=$B, limit ${limit}s)"
	start=$(date +%s)
	( cd "$here" && timeout -k 10 "$limit" python3 -m unittest -v "$name" )
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) summary+=("PASS  $name (${secs}s)") ;;
	124|137) summary+=("FAIL  $name (timed out after ${limit}s)"); fail=1 ;;
	*) summary+=("FAIL  $name (exit $rc, ${secs}s)"); fail=1 ;;
	esac
done

echo
echo "== integration summary (B=$B)"
for s in "${summary[@]}"; do echo "  $s"; done
exit $fail
