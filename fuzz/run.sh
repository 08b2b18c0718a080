#!/usr/bin/env bash
# `make fuzz`: build the cargo-fuzz targets, seed their corpora, run each for FUZZ_SECONDS on
# one core, and print libFuzzer's final figures per target (docs/RELIABILITY.md records them).
#
#   FUZZ_SECONDS   per target (default 60)
#   FUZZ_TARGETS   which targets (default: all of them, in the order below)
#   FUZZ_TOOLCHAIN a rustup toolchain, e.g. nightly (default: the active one; stable works,
#                  because without a sanitizer cargo-fuzz passes only stable rustc flags)
#   FUZZ_SANITIZER none (default) or address/memory/thread, which need FUZZ_TOOLCHAIN=nightly
#   CORPUS         the public Lambda-invocation corpus (default ../shared/corpus)
#
# Crashes land in fuzz/artifacts/<target>/; the run goes on with the next target and fails at
# the end. Logs: fuzz/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-telemetry_batch config event_views policy_output record shipped_policies policy_abi}"
sanitizer="${FUZZ_SANITIZER:-none}"
cargo=(cargo)
[ -n "${FUZZ_TOOLCHAIN:-}" ] && cargo+=("+$FUZZ_TOOLCHAIN")

if ! command -v cargo-fuzz >/dev/null; then
    echo "make fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 1
fi
if [ "$sanitizer" != none ] && ! "${cargo[@]}" --version 2>/dev/null | grep -q nightly; then
    echo "make fuzz: FUZZ_SANITIZER=$sanitizer needs a nightly toolchain:" >&2
    echo "  rustup toolchain install nightly && make fuzz FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=$sanitizer" >&2
    exit 2
fi
if ! "${cargo[@]}" --version >/dev/null 2>&1; then
    echo "make fuzz: no toolchain ${FUZZ_TOOLCHAIN:-}: rustup toolchain install ${FUZZ_TOOLCHAIN:-stable}" >&2
    exit 2
fi

bash seed.sh "${CORPUS:-../../shared/corpus}" || exit 1
"${cargo[@]}" fuzz build -s "$sanitizer" || exit 1

mkdir -p logs
failed=()
summary=()
for t in $targets; do
    args=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
    [ -f "$t.dict" ] && args+=(-dict="$t.dict")
    echo "== $t: ${seconds}s"
    "${cargo[@]}" fuzz run -s "$sanitizer" "$t" -- "${args[@]}" >"logs/$t.log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | cut -d' ' -f2)
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | cut -d' ' -f2)
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "logs/$t.log" | grep -oE '[0-9]+$')
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "logs/$t.log" | grep -oE '[0-9]+$')
    files=$(find "corpus/$t" -type f | wc -l)
    summary+=("$(printf '%-17s %4ss  runs %-10s exec/s %-6s cov %-6s ft %-6s corp %-13s files %s' \
        "$t" "$seconds" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$files")")
    if [ $rc -ne 0 ]; then
        failed+=("$t")
        grep -E -A3 'panicked at|ERROR: libFuzzer|Failing input' "logs/$t.log" | head -20
    fi
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "make fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/logs/)" >&2
    exit 1
fi
