# Thin wrapper over CMake/CTest so the README's commands stay short.
#   make          build (RelWithDebInfo) into build/
#   make test     bootstrap, build, run every test (unit, integration, fuzz replay, browser)
#   make demo     bootstrap, build, run cloudsim + kyc serve on loopback
#   make asan     the whole test suite under AddressSanitizer + UBSan (build-asan/)
#   make cluster  bootstrap, build, run PostgreSQL + two kyc serve replicas + nginx + cloudsim
#   make install  install kyc, cloudsim, the systemd unit and the example environment file under
#                 PREFIX (default /usr/local), staged under DESTDIR when given
BUILD ?= build
JOBS ?= 2
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build test asan demo cluster run install bootstrap format clean

all: build

bootstrap:
	@scripts/bootstrap

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: bootstrap build
	@scripts/test $(BUILD)

asan: bootstrap
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKYC_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@scripts/test build-asan

run: bootstrap build
	@scripts/run

demo: bootstrap build
	@scripts/demo

cluster: bootstrap build
	@scripts/cluster

install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-asan
