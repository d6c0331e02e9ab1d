#!/usr/bin/env bash
# Build Lethe and run every test: unit tests and RFC vectors, interop tests
# with MIT Kerberos and tshark, a gcc build and a clang ASan+UBSan build
# that also runs each fuzz target for a bounded time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh

jobs=$(nproc)
status=0

echo "== gcc build (-Werror) and tests"
cmake -S . -B build/gcc -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DLETHE_WERROR=ON
cmake --build build/gcc -j "$jobs"
ctest --test-dir build/gcc --output-on-failure -j "$jobs" || status=1

echo "== gcc Release build (-O3, -Werror): every build type builds"
cmake -S . -B build/release -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
	-DLETHE_WERROR=ON -DLETHE_INTEROP=OFF
cmake --build build/release -j "$jobs" || status=1

echo "== clang build with ASan+UBSan, fuzz targets, and tests"
cmake -S . -B build/clang-asan -G Ninja -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=Debug -DLETHE_SANITIZE=ON -DLETHE_FUZZ=ON -DLETHE_WERROR=ON \
	-DLETHE_FUZZ_SECONDS="${LETHE_FUZZ_SECONDS:-20}"
cmake --build build/clang-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build/clang-asan --output-on-failure -j "$jobs" || status=1

exit $status
