#!/usr/bin/env bash
# The sanitizer job of CI (.ci/run runs it after scripts/run_tests.sh): the host code built with
# clang, AddressSanitizer + UndefinedBehaviorSanitizer (any UB is fatal: -fno-sanitize-recover),
# then the whole CTest suite under it, and the two libFuzzer targets of fuzz/targets for a few
# seconds each (MQA_LIBFUZZER=ON: the tree is also instrumented for coverage). Device code is
# off (no GPU in CI, and nvcc/hipcc objects are not sanitized). Its own build folder.
# Measured on the 2-core CI machine: see the figure printed at the end (and fuzz/targets/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MQA_SANITIZE_BUILD_DIR:-build-sanitize}
start=$(date +%s)

# clang-15 (Debian 12) ships ASan, UBSan and libFuzzer (libclang-common-15-dev).
if ! command -v clang++-15 > /dev/null || [ ! -e "$(clang++-15 -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends clang-15 libclang-common-15-dev
fi

# The Python package is not built: its tests (label python) load the extension into
# /usr/bin/python3, which is not sanitized and cannot load an ASan-instrumented module without
# preloading clang's ASan runtime into the interpreter (and then reports the interpreter's own
# leaks). The golden tests that run Python (h5py) against the sanitized mqa-golden binary do run.
# Warnings are the main job's business (g++, -Werror); here clang's extra warnings under
# -fsanitize (e.g. a function used only when not sanitized) would fail a job that checks behaviour.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-15 -DCMAKE_CXX_COMPILER=clang++-15 -DMQA_WERROR=OFF \
  -DMQA_SANITIZE=address,undefined -DMQA_LIBFUZZER=ON \
  -DMQA_CUDA=OFF -DMQA_HIP=OFF -DMQA_BUILD_BENCH=OFF -DMQA_BUILD_PYTHON=OFF
cmake --build "$build" -j "$(nproc)"
built=$(date +%s)

# allocator_may_return_null=1: a huge allocation throws std::bad_alloc as it does without ASan
# (the reader and the case limits catch it and name the field); ASan's default aborts instead.
# detect_leaks=1: LeakSanitizer at every exit. UB stops the test with a stack.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# A test whose subject is an intended SIGSEGV of a child process: fuzz_cli runs the mutant plugin
# crash_on_long_rows (tests/fuzz/cli_test.sh), whose null store must kill its forked child by
# signal 11 so that the campaign reports CRASH. ASan's SEGV handler would turn that death into
# an ASan report and exit code 1, so this test runs with handle_segv=0 (ASan's own checks are
# unaffected; only the signal is left to the harness). The contained golden reader's fault hook
# (MQA_TEST_READER_FAULT=segv) restores SIG_DFL before it raises, so it needs nothing.
intended_segv='^fuzz_cli$'
status=0
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -LE python -E "$intended_segv" || status=1
ASAN_OPTIONS="$ASAN_OPTIONS:handle_segv=0" \
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -LE python -R "$intended_segv" || status=1
end=$(date +%s)
echo "sanitizer job: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
exit $status
