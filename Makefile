# Entry points for people and CI. meson + ninja do the real work.

.PHONY: all deps build run test clean format

SOURCE_DIRS := proxy core balancers providers tests tools

all: build

deps:
	tools/install-deps.sh

# Release build for running and benchmarking.
build: deps
	@test -f build/build.ninja || meson setup build --buildtype=release
	ninja -C build

run: build
	tools/run-demo.sh

# Tests build with assertions on (debugoptimized), in their own folder.
test: deps
	@test -f build-test/build.ninja || meson setup build-test --buildtype=debugoptimized
	ninja -C build-test
	meson test -C build-test --print-errorlogs --num-processes 2

clean:
	rm -rf build build-test

format:
	find $(SOURCE_DIRS) \( -name '*.cc' -o -name '*.h' \) -print0 | xargs -0 -r clang-format -i
