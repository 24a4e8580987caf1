# The README's commands. `make demo` and `make test` check the Debian packages first, then
# configure and build with the CMake preset for this machine: `cuda` when a GPU is visible,
# `cpu` otherwise (override with PRESET=cpu|cuda|asan). Extra configure flags: CMAKE_ARGS=...
PRESET ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo cuda || echo cpu)
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
BUILD_DIR := build/$(PRESET)
FORMAT_DIRS := $(wildcard bench core course kernels tests models text train infer cli)
# The builds CMake runs are sub-makes of this one: keep their output to the compiler's.
MAKEFLAGS += --no-print-directory

.PHONY: all deps configure build demo moons scaling test bench format clean
all: build

deps:
	@scripts/deps.sh

configure: deps
	cmake --preset $(PRESET) $(CMAKE_ARGS)

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

# The main job: a small GPT learns 2-digit addition (configs/demo.toml), then answers
# held-out problems.
demo: configure
	cmake --build --preset $(PRESET) -j $(JOBS) --target kiln
	$(BUILD_DIR)/bin/kiln train configs/demo.toml

# The course's first demonstration: an MLP on two moons (`kiln course list` shows the others).
moons: configure
	cmake --build --preset $(PRESET) -j $(JOBS) --target kiln
	$(BUILD_DIR)/bin/kiln course mlp

# The course's Experiment 7: forward time vs sequence length, RNN/LSTM vs attention (docs/course.md).
scaling: configure
	cmake --build --preset $(PRESET) -j $(JOBS) --target kiln
	mkdir -p out
	$(BUILD_DIR)/bin/kiln bench scaling $(if $(filter cuda,$(PRESET)),--device cuda) \
	  --csv out/scaling.csv --plot out/scaling.png

test: build
	ctest --preset $(PRESET) --output-on-failure -j $(JOBS)

bench: configure
	cmake --build --preset $(PRESET) -j $(JOBS) --target kiln_bench_cpu
	$(BUILD_DIR)/bin/kiln_bench_cpu

format:
	find $(FORMAT_DIRS) -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cuh' -o -name '*.cu' \) \
	  -print0 | xargs -0 clang-format -i

clean:
	rm -rf build
