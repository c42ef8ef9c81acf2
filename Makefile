# The two commands of the README, and the steps they are made of. Every step is idempotent:
# a second run installs nothing and rebuilds only what changed.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build guest-kit kmod test unit-test demo bench clean

all: build

deps:
	@tests/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Guest kernels (Debian 6.1 and 6.12 cloud lines), initramfs with the agent, tools disk (fio).
guest-kit: build
	tests/vm/build-kit $(BUILD)/vm

# The module against both Debian kernel lines' headers (it is loaded only inside guests).
kmod: deps
	@if [ -f kmod/Makefile ]; then tests/kmod/build-all $(BUILD)/kmod; fi

test: build guest-kit kmod
	cd $(BUILD) && ctest --output-on-failure --timeout 900

unit-test: build
	cd $(BUILD) && ctest --output-on-failure -L unit

demo: build guest-kit
	tests/demo/run-demo $(BUILD)

bench: build guest-kit
	bench/fio-experiment --build $(BUILD)

clean:
	rm -rf $(BUILD)
