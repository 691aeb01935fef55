#!/bin/sh
# Build libsrtp2 against OpenSSL into a build-local prefix.
#
# Debian's binary libsrtp2 does its crypto through NSS: about 2.3 us per
# AES_CM_128_HMAC_SHA1_80 srtp_protect of a 172-byte packet and 0.7 to 1.7 ms
# per srtp_create. The same source (Debian's source package, with Debian's
# patches) configured with --enable-openssl costs about 0.42 us and 4 us
# (make bench-srtp, SRTP=system make bench-srtp).
#
# Usage: tools/libsrtp.sh PREFIX
#   leaves PREFIX/include/srtp2/*.h and PREFIX/lib/libsrtp2.a (static, -fPIC).
#
# Idempotent: returns at once when PREFIX/lib/libsrtp2.a exists. The source
# package is cached in ${XDG_CACHE_HOME:-~/.cache}/rtpsec, so `make clean`
# does not fetch it again; it needs no root. Whatever fails (no network,
# dpkg-dev or libssl-dev missing, a build error) it says why and
# exits 0 without creating PREFIX: the Makefile then uses the system libsrtp2.
set -u

prefix=${1:?usage: tools/libsrtp.sh PREFIX}
[ -f "$prefix/lib/libsrtp2.a" ] && exit 0

stage="$prefix.tmp"
cache="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/rtpsec"
log="$prefix.log"

skip() {
	echo "rtpsec: libsrtp2 with OpenSSL not built: $*" >&2
	echo "rtpsec: using the system libsrtp2 (NSS, slower)" >&2
	rm -rf "$stage"
	exit 0
}

# The build runs from inside make's $(shell): keep the outer make's jobserver
# and the project's compiler choice (clang + sanitizers for make asan) out.
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS CPPFLAGS LDFLAGS LDLIBS OPT

command -v dpkg-source >/dev/null || skip "dpkg-source missing (install dpkg-dev: tools/deps.sh build)"
pkg-config --exists libcrypto || skip "OpenSSL headers missing (install libssl-dev)"
mkdir -p "$cache" 2>/dev/null || cache="$(dirname "$prefix")/srtp-cache"
mkdir -p "$cache" || skip "cannot create $cache"

# apt-get source needs deb-src entries, which Debian images lack. Rather than
# edit /etc/apt, use a private apt state whose deb-src entries mirror the
# archives the system's deb entries name (the keys in /etc/apt/trusted.gpg.d
# verify them); this works without root as well.
source_private() {
	a="$dl/apt"
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" || return 1
	# shellcheck disable=SC2016 # $(...) is apt's format syntax
	apt-get indextargets --format 'deb-src $(REPO_URI) $(RELEASE) $(COMPONENT)' \
	    'Identifier: Packages' | sort -u >"$a/sources.list"
	[ -s "$a/sources.list" ] || return 1
	set -- -o Dir::Etc::SourceList="$a/sources.list" \
	    -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$a/lists" \
	    -o Dir::Cache="$a/cache" -o APT::Sandbox::User="$(id -un)"
	apt-get "$@" -qq update >&2 # one archive failing does not stop the rest
	(cd "$dl" && apt-get "$@" -qq source --download-only libsrtp2) >/dev/null
}

# Download once into the cache; the .dsc moves in last,
# so an interrupted download is never taken for a complete one.
fetch() {
	ls "$cache"/libsrtp2_*.dsc >/dev/null 2>&1 && return 0
	echo "rtpsec: libsrtp2: apt-get source --download-only libsrtp2 into $cache" >&2
	dl="$cache/download"
	rm -rf "$dl" && mkdir -p "$dl" || return 1
	if (cd "$dl" && apt-get source -qq --download-only libsrtp2) >/dev/null 2>&1 ||
	    source_private; then
		rm -rf "$dl/apt"
		for f in "$dl"/libsrtp2_*; do
			case "$f" in *.dsc) ;; *) mv "$f" "$cache/" ;; esac
		done
		mv "$dl"/libsrtp2_*.dsc "$cache/"
	fi
	rm -rf "$dl"
	ls "$cache"/libsrtp2_*.dsc >/dev/null 2>&1
}
# One fetch and build at a time (make -j, make asan beside make, several
# people in one tree): the second waits, then finds the library made.
exec 9>"$cache/.lock"
flock 9 2>/dev/null
[ -f "$prefix/lib/libsrtp2.a" ] && exit 0
fetch || skip "apt-get source libsrtp2 failed (no network?)"
# shellcheck disable=SC2012 # Debian file names
dsc=$(ls "$cache"/libsrtp2_*.dsc | sort -V | tail -n 1)

echo "rtpsec: building $(basename "$dsc" .dsc) with OpenSSL into $prefix (log: $log)" >&2
rm -rf "$stage"
mkdir -p "$stage" || skip "cannot create $stage"
abs=$(cd "$stage" && pwd)
# configure's own default CFLAGS are Debian's: -O3 -funroll-loops -fPIC.
if ! (
	set -e
	dpkg-source -x "$dsc" "$abs/src"
	cd "$abs/src"
	./configure --prefix="$abs" --enable-openssl --disable-pcap
	make -j"$(nproc)" libsrtp2.a test/srtp_driver
	# libsrtp's own tests, with its reference SRTP/SRTCP packets.
	test/srtp_driver -v
	make install
) >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	skip "build failed (see $log)"
fi
nm "$abs/lib/libsrtp2.a" 2>/dev/null | grep -q ' U EVP_EncryptInit_ex' ||
    skip "the library built does not use OpenSSL"
rm -rf "$abs/src" "$abs"/libsrtp2_* "$abs/lib/pkgconfig"
rm -rf "$prefix"
mv "$stage" "$prefix" || skip "cannot create $prefix"
echo "rtpsec: libsrtp2 with OpenSSL: $prefix/lib/libsrtp2.a" >&2
