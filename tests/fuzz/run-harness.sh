#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one libFuzzer harness for a bounded time: RUNS inputs or SECONDS seconds, whichever comes
# first, with a per-input timeout. The seed corpus and the regression inputs are read (and so
# run) first; new inputs and any crash go to WORKDIR in the build tree, never into the source.
#
#   run-harness.sh HARNESS SEEDS REGRESSIONS WORKDIR RUNS SECONDS [LIBFUZZER-OPTION...]
set -eu

harness=$1 seeds=$2 regressions=$3 work=$4 runs=$5 seconds=$6
shift 6

rm -rf "$work"
mkdir -p "$work/corpus"
set -- "$work/corpus" "$seeds" "$@"
if [ -d "$regressions" ]; then
        set -- "$@" "$regressions"
fi

# Each input gets 10 s (a loaded machine is slow, an endless loop is endless); a crash or a
# timeout leaves its input as WORKDIR/crash-* or WORKDIR/timeout-* for tests/fuzz/regressions.
exec "$harness" \
        -runs="$runs" \
        -max_total_time="$seconds" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -max_len=65536 \
        -len_control=100 \
        -print_final_stats=1 \
        -artifact_prefix="$work/" \
        "$@"
