#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer harnesses (tests/fuzz) with clang, ASan and UBSan into build-fuzz/ and
# runs each for a bounded time over its seed corpus and regression inputs (meson test suite
# "fuzz"). Extra arguments go to meson test (e.g. a harness name). See tests/fuzz/README.md.
set -eu

cd "$(dirname "$0")/.."
build=${NESTVIRT_FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang >/dev/null 2>&1; then
        echo "fuzz.sh: clang is needed (apt-get install clang)" >&2
        exit 1
fi

if [ ! -f "$build/build.ninja" ]; then
        CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
else
        meson configure "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
meson compile -C "$build"
meson test -C "$build" --suite fuzz --print-errorlogs "$@"
