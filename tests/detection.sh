#!/usr/bin/env bash
# Detection rates of the built policies on the public corpus: `make detection`
# (= bash tests/detection.sh <corpus dir>). Runs `gavel scan` once over every corpus file,
# scores the verdicts against the corpus labels and rewrites docs/DETECTION.md (keeping its
# hand-written "## Why the remaining misses" section). The per-category table goes to stdout.
#
# Needs target/debug/gavel and target/policies (make policies); builds nothing itself.
set -euo pipefail

corpus=${1:-../shared/corpus}
[ -d "$corpus" ] || { echo "detection: corpus directory '$corpus' not found" >&2; exit 2; }
corpus=$(cd "$corpus" && pwd)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

gavel=target/debug/gavel
manifest=target/policies/manifest.json
[ -x "$gavel" ] || { echo "detection: $gavel missing; run 'make build'" >&2; exit 2; }
[ -f "$manifest" ] || { echo "detection: $manifest missing; run 'make policies'" >&2; exit 2; }

shopt -s nullglob
files=("$corpus"/*.jsonl)
[ ${#files[@]} -gt 0 ] || { echo "detection: no *.jsonl in $corpus" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The manifest is read before the scan so a concurrent `make policies` cannot mismatch them.
cp "$manifest" "$tmp/manifest.json"

# Corpus settings: one object keyed by policy name, from every policies/<name>/corpus-settings.json.
settings_args=()
settings_files=(policies/*/corpus-settings.json)
if [ ${#settings_files[@]} -gt 0 ]; then
    python3 tests/detection_report.py settings "${settings_files[@]}" > "$tmp/settings.json"
    settings_args=(--settings-file "$tmp/settings.json")
fi

echo "detection: gavel scan ${settings_args[*]:+--settings-file <merged ${settings_files[*]}> }${#files[@]} corpus file(s)" >&2
"$gavel" scan "${settings_args[@]}" "${files[@]}" > "$tmp/verdicts.jsonl" 2> "$tmp/scan.stderr" || {
    rc=$?
    cat "$tmp/scan.stderr" >&2
    echo "detection: gavel scan failed (exit $rc)" >&2
    exit "$rc"
}
cat "$tmp/scan.stderr" >&2

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=0
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- . ':(exclude)docs/DETECTION.md' 2>/dev/null; then
    dirty=1
fi

python3 tests/detection_report.py report \
    --corpus "$corpus" \
    --verdicts "$tmp/verdicts.jsonl" \
    --scan-stderr "$tmp/scan.stderr" \
    --manifest "$tmp/manifest.json" \
    --commit "$commit" \
    --dirty "$dirty" \
    --out docs/DETECTION.md \
    "${settings_files[@]/#/--settings-source=}"
