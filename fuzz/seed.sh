#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ (git-ignored) from the hand-made seeds in fuzz/seeds/ and the
# public Lambda-invocation corpus (one JSONL record per invocation: `event`, `response`).
# Usage: fuzz/seed.sh [corpus dir, default ../shared/corpus]. Idempotent: files are named by
# their sha1, as libFuzzer names its own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
public="${1:-$here/../../shared/corpus}"
out="$here/corpus"
mkdir -p "$out"/{telemetry_batch,config,event_views,policy_output,record,shipped_policies}
for t in telemetry_batch config; do
    cp "$here/seeds/$t/"* "$out/$t/"
done
if ! ls "$public"/*.jsonl >/dev/null 2>&1; then
    echo "seed.sh: no public corpus at $public (pass its directory); hand-made seeds only" >&2
    exit 0
fi
python3 - "$public" "$out" <<'PY'
import hashlib, json, pathlib, sys

public, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

def put(target, data):
    (out / target / hashlib.sha1(data).hexdigest()).write_bytes(data)

n = 0
for path in sorted(public.glob("*.jsonl")):
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        event = json.dumps(rec.get("event"), separators=(",", ":")).encode()
        response = rec.get("response")
        put("event_views", event)
        put("record", event)
        put("shipped_policies", event)
        if response is not None:
            body = response if isinstance(response, str) else json.dumps(response, separators=(",", ":"))
            put("shipped_policies", event + b"\0" + body.encode())
            put("record", body.encode())
        n += 1
print(f"seed.sh: {n} public invocations seeded into {out}")
PY
