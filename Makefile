# Entry points for people and CI. meson + ninja do the real work.

.PHONY: all deps build run test fuzz clean format format-check bench

SOURCE_DIRS := proxy core balancers providers tests tools

all: build

deps:
	tools/install-deps.sh

# Release build for running and benchmarking.
# Only what `make run` and `make bench` run: the tests build and run in
# build-test/ and build-asan/, so a test file cannot break the quick start,
# and the release compile stays a few minutes on 2 cores.
RELEASE_TARGETS := proxy/gourmet tools/gourmet-origin tools/lbsim/lbsim tools/shared_counter \
	tools/route_compile
build: deps
	@test -f build/build.ninja || meson setup build --buildtype=release
	ninja -C build $(RELEASE_TARGETS)

run: build
	tools/run-demo.sh

# Tests build with assertions on (debugoptimized), in their own folder.
test: deps
	@test -f build-test/build.ninja || meson setup build-test --buildtype=debugoptimized
	ninja -C build-test
	meson test -C build-test --print-errorlogs --num-processes 2
	@# Then the same suites under AddressSanitizer + UBSan (g++) in their own
	@# folder. -O0 (buildtype=debug): a quarter of the -O2 compile time, and
	@# g++ 12 -O2 with ASan gives false -Wmaybe-uninitialized in <regex>. UB
	@# aborts (no recovery) in the test binaries and in the gourmet processes
	@# the integration suite starts. ASan/LSan reports of every process go to
	@# build-asan/sanitizer/ (the suite does not look at gourmet's own exit
	@# status, so its leak report would go unseen); any file there fails.
	@test -f build-asan/build.ninja || meson setup build-asan --buildtype=debug \
		-Db_sanitize=address,undefined \
		-Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all
	ninja -C build-asan
	rm -rf build-asan/sanitizer && mkdir -p build-asan/sanitizer
	ASAN_OPTIONS=log_path=$(CURDIR)/build-asan/sanitizer/asan UBSAN_OPTIONS=print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --num-processes 2 || { cat build-asan/sanitizer/* 2>/dev/null; exit 1; }
	@if ls build-asan/sanitizer/* >/dev/null 2>&1; then cat build-asan/sanitizer/*; \
		echo "sanitizer reports above (build-asan/sanitizer/)" >&2; exit 1; fi

# libFuzzer targets (tests/fuzz), built with clang in build-fuzz/, each run
# for FUZZ_SECONDS at once. Only the fuzz targets are built there.
FUZZ_SECONDS ?= 60
fuzz: deps
	@test -f build-fuzz/build.ninja || CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true
	ninja -C build-fuzz tests/fuzz/request_fuzzer tests/fuzz/response_fuzzer
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# gourmet vs nginx vs HAProxy on 127.0.0.1 (tools/bench/run.sh --help);
# e.g. make bench BENCH_ARGS='--duration 2 --rounds 1 --no-callgrind'
bench: build
	tools/bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf build build-test build-asan build-fuzz

format:
	find $(SOURCE_DIRS) \( -name '*.cc' -o -name '*.h' \) -print0 | xargs -0 -r clang-format -i

# What CI checks: every source file as the committed .clang-format has it.
# `make format` fixes what this reports.
format-check: deps
	find $(SOURCE_DIRS) \( -name '*.cc' -o -name '*.h' \) -print0 | \
		xargs -0 -r clang-format --dry-run -Werror
