# rtpsec top-level Makefile: one non-recursive build driven by pkg-config.
#
#   make            build the four daemons and the tools into build/
#   make run        install missing packages, build, run the cluster on loopback
#   make test       install missing packages, build, run unit + integration tests
#   make asan       the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       build the libFuzzer harnesses (clang) and run each briefly
#   make bench      the benchmark (tests/bench), not part of make test
#   make bench-srtp us per srtp_protect and per srtp_create of the linked libsrtp2
#
#   SRTP=system     use the system libsrtp2 instead of the OpenSSL build below

PKGS    := libzmq libczmq hiredis msgpack inih libseccomp libmicrohttpd \
           openssl json-c liburing
B       ?= build
CC      ?= cc
OPT     ?= -O2 -g

# libsrtp2: Debian's binary package does its crypto through NSS (2.3 us per
# protect, 0.7-1.7 ms per srtp_create); tools/libsrtp.sh builds the same source
# package against OpenSSL into $(B)/libsrtp (0.42 us, 4 us). When it cannot (no
# network, dpkg-dev missing) it says why and the system libsrtp2 is used.
# Goals that only recurse or clean do not build it.
SRTP     ?= openssl
SRTP_DIR := $(B)/libsrtp
BUILDING := $(filter-out clean deps test asan fuzz-short run bench,$(or $(MAKECMDGOALS),all))
ifeq ($(SRTP),openssl)
ifneq ($(BUILDING),)
$(shell tools/libsrtp.sh $(SRTP_DIR) >&2)
endif
SRTP_LIB := $(wildcard $(SRTP_DIR)/lib/libsrtp2.a)
endif
ifneq ($(SRTP_LIB),)
SRTP_USED   := openssl
SRTP_CFLAGS := -I$(SRTP_DIR)/include -DRTPSEC_SRTP_OPENSSL=1
SRTP_LIBS   := $(SRTP_LIB) -lssl -lcrypto
else
SRTP_USED   := system
SRTP_CFLAGS := $(shell pkg-config --cflags libsrtp2 2>/dev/null)
SRTP_LIBS   := $(shell pkg-config --libs libsrtp2 2>/dev/null)
endif
# Every object depends on this stamp, so switching libraries rebuilds and relinks.
ifneq ($(BUILDING),)
$(shell mkdir -p $(B) && echo $(SRTP_USED) | cmp -s - $(B)/srtp.used || echo $(SRTP_USED) >$(B)/srtp.used)
endif

CFLAGS  += -std=gnu11 $(OPT) -Wall -Wextra -Werror -D_GNU_SOURCE -I. $(SRTP_CFLAGS) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(SRTP_LIBS) $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

DAEMONS := relayd keyd ctld statsd
COMMON_SRC := $(wildcard libcommon/*.c)
O       := $(B)/obj
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)

all: $(DAEMONS:%=$(B)/%) $(B)/rtpsec-ctl $(B)/rtpload

$(B)/srtp.used:
	@mkdir -p $(@D) && echo $(SRTP_USED) >$@

# Each daemon: main.o + an archive of its modules (the unit tests link the
# archive, so a module is testable without its daemon's main()).
define daemon_rules
$(1)_SRC := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_OBJ := $$($(1)_SRC:%.c=$(O)/%.o)
$(B)/lib$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
$(B)/$(1): $(O)/$(1)/main.o $(B)/lib$(1).a $(B)/libcommon.a
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

$(B)/libcommon.a: $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(B)/rtpsec-ctl: $(O)/tools/rtpsec-ctl.o $(B)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# rtpload(1), the load generator: libcommon for bencode and SDES, libsrtp2
# as relayd links it.
RTPLOAD_OBJ := $(patsubst %.c,$(O)/%.o,$(wildcard tools/rtpload/*.c))
$(B)/rtpload: $(RTPLOAD_OBJ) $(B)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/%.o: %.c $(B)/srtp.used
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# ---- tests -------------------------------------------------------------
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

# A unit test links libcommon and the archive of each daemon whose headers
# it includes, so one daemon's work in progress never blocks another's tests.
test_libs = $(foreach d,$(DAEMONS),$(if $(shell grep -ls '\#include "$(d)/' tests/unit/$(1).c),$(B)/lib$(d).a)) $(B)/libcommon.a
.SECONDARY:
.SECONDEXPANSION:
$(B)/tests/%: $(O)/tests/unit/%.o $$(call test_libs,$$*)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(call test_libs,$*) $(LDLIBS) -lcmocka

deps:
	@tools/deps.sh test

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all $(B)/tests/mediaprobe
	@B=$(B) tests/integration/run.sh

# mediaprobe: the fault tests' media (tests/integration/mediaprobe.c),
# with the libsrtp2 the daemons link (as run.sh builds srtpcat)
$(B)/tests/mediaprobe: tests/integration/mediaprobe.c $(B)/srtp.used
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SRTP_LIBS) -lcrypto

# the fault tests (tests/integration/test_fault_*.py) with 20 kills of each
# daemon instead of make test's 5
soak: all $(B)/tests/mediaprobe
	@FAULT_KILLS=20 RTPSEC_IT_TIMEOUT=$${RTPSEC_IT_TIMEOUT:-3600} B=$(B) \
		tests/integration/run.sh $(sort $(wildcard tests/integration/test_fault_*.py))

test: deps
	$(MAKE) unit
	$(MAKE) fuzz-short
	$(MAKE) integration

# LeakSanitizer stops the world with ptrace, which the daemons' seccomp
# filter forbids: leaks are checked in the unit tests, not in the daemons.
ASAN_MAKE = $(MAKE) B=build-asan CC=clang \
	OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	LDFLAGS="-fsanitize=address,undefined"
asan:
	@tools/deps.sh test
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(ASAN_MAKE) unit
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(ASAN_MAKE) integration

# ---- fuzzing (clang + libFuzzer) --------------------------------------
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FB       := $(B)/fuzz
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FB)/%)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
               $(SRTP_CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

# Each harness links libcommon and one daemon's modules (ctld unless
# listed here; the daemons' modules cannot all link into one program).
FUZZ_DAEMON_fuzz_relay_record := relayd
FUZZ_DAEMON_fuzz_unwrap       := keyd
FUZZ_DAEMON_fuzz_stats_state  := statsd
fuzz_daemon = $(or $(FUZZ_DAEMON_$(1)),ctld)
fuzz_srcs = $(filter-out %/main.c,$(wildcard $(call fuzz_daemon,$(1))/*.c))
$(FB)/%: tests/fuzz/%.c $(COMMON_SRC) $$(call fuzz_srcs,$$*) $(B)/srtp.used
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do mkdir -p $(FB)/corpus-$$(basename $$f); \
		$$f -max_total_time=$${FUZZ_SECONDS:-60} -max_len=8192 $(FB)/corpus-$$(basename $$f) \
		tests/fuzz/corpus/$$(basename $$f | sed 's/^fuzz_//'); done

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=10

# ---- running -----------------------------------------------------------
# Packages first (a fresh machine has no headers yet), then the build in a
# new make that sees them, then the cluster in the foreground.
run:
	@tools/deps.sh run
	@$(MAKE) --no-print-directory all
	@B=$(B) tools/run.sh

bench:
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory all
	@B=$(B) tests/bench/run.sh

$(B)/bench/srtp_bench: $(O)/tests/bench/srtp_bench.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-srtp: $(B)/bench/srtp_bench
	$<

clean:
	rm -rf build build-asan

.PHONY: soak
.PHONY: all deps unit integration test asan fuzz fuzz-short run bench bench-srtp clean
