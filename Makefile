# cvmwatch — the two commands: `make demo` (the main job) and `make test` (every test).
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all bootstrap build test test-asan demo fuzz-smoke bench format clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	ninja -C $(BUILD) -j $(JOBS)

# Every test (unit, CLI, devnet integration), then the unit tests again under ASan + UBSan.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan

test-asan: bootstrap
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCVMWATCH_SANITIZE=ON -DCVMWATCH_BUILD_BENCH=OFF
	ninja -C $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -L unit --output-on-failure -j $(JOBS)

# The main job: the watchdog's view of the real seed attestations.
demo: build
	@scripts/demo $(BUILD)

# Each libFuzzer target for 60 s (FUZZ_SECONDS to change), seeded with the real calldata.
FUZZ_SECONDS ?= 60
fuzz-smoke: bootstrap
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCVMWATCH_FUZZ=ON -DCVMWATCH_BUILD_BENCH=OFF
	ninja -C $(FUZZ_BUILD) -j $(JOBS) fuzz_targets
	scripts/fuzz-smoke $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@for b in $(BUILD)/bench/*_bench; do [ -x "$$b" ] && "$$b"; done; true

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
