#!/usr/bin/env python3
"""Scores `gavel scan` verdicts against the labelled public corpus and writes docs/DETECTION.md.

Driven by tests/detection.sh (`make detection`); Python 3.11, standard library only.

    detection_report.py settings policies/*/corpus-settings.json   > merged.json
    detection_report.py report --corpus DIR --verdicts V.jsonl --manifest M --out docs/DETECTION.md ...

Labels are read only to score: the verdicts come from `gavel scan`, which never sees them
(it judges `event`/`response`). A record is *flagged* when its overall decision is `alert` or
`deny`; a malicious record is *detected* when it is flagged. Intervals are Wilson score
intervals at 95 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import tempfile
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

WHY_HEADING = "## Why the remaining misses"
WHY_PLACEHOLDER = f"""{WHY_HEADING}

_To be written by hand: for each category that misses its goal, why the records listed above
are not caught (out of scope for the policy, needs a paranoia level we do not run, payload
shape not parsed, corpus label questionable, ...) and what, if anything, is planned.
This section is kept verbatim when `make detection` regenerates the file._
"""

Z = 1.959963984540054  # two-sided 95 %
LIST_CAP = 60
NO_RULE = "(no rule id: probably a policy error, given the on-error decision)"

WEB_FAMILIES = ("sqli", "xss", "rce", "lfi", "rfi", "php", "ssrf", "java")
CATEGORY_ORDER = WEB_FAMILIES + (
    "response-leak", "malware", "secret", "cloudtrail-attack", "s3-unauthorized", "benign",
)
FILE_ORDER = ("public-web", "public-content", "public-cloudtrail", "benign-envelopes")
FLAGGED = ("alert", "deny")


# ---------------------------------------------------------------------------------------------
# goals (from the issue)


class Goal:
    """min_detect / max_flag are percentages (ints) or None; note marks an extrapolated goal."""

    def __init__(self, min_detect: int | None, max_flag: int | None, note: str = ""):
        self.min_detect, self.max_flag, self.note = min_detect, max_flag, note


def goal_for(file_stem: str, category: str) -> Goal:
    if file_stem == "benign-envelopes":
        return Goal(None, 0)
    if category in WEB_FAMILIES:
        return Goal(95, 5)
    if category == "malware" or category == "secret":
        return Goal(100, 0)
    if category == "response-leak":
        return Goal(90, None)
    if file_stem == "public-web" and category == "benign":
        # The issue states the ≤5 % benign goal per web family; CRS false-positive tests of
        # other families are web traffic too, so the same bound is applied (marked in the doc).
        return Goal(None, 5, note="*")
    return Goal(None, None)


def detect_mark(goal: Goal, k: int, n: int) -> str:
    if goal.min_detect is None or n == 0:
        return "—"
    ok = k * 100 >= goal.min_detect * n
    pct = "100 %" if goal.min_detect == 100 else f"≥{goal.min_detect} %"
    return f"{pct} {'✅' if ok else '❌'}"


def flag_mark(goal: Goal, k: int, n: int) -> str:
    if goal.max_flag is None or n == 0:
        return "—"
    ok = k * 100 <= goal.max_flag * n
    bound = "0" if goal.max_flag == 0 else f"≤{goal.max_flag} %"
    return f"{bound}{goal.note} {'✅' if ok else '❌'}"


# ---------------------------------------------------------------------------------------------
# small helpers


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(k: int, n: int) -> str:
    return "—" if n == 0 else f"{k}/{n} ({100 * k / n:.1f} %)"


def interval(k: int, n: int) -> str:
    if n == 0:
        return "—"
    lo, hi = wilson(k, n)
    return f"{100 * lo:.1f}–{100 * hi:.1f} %"


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """Markdown table padded to aligned columns (readable as plain text too)."""
    cols = len(header)
    widths = [max(width(r[i]) for r in [header] + rows) for i in range(cols)]
    widths = [max(w, 3) for w in widths]
    align = align or "l" * cols

    def line(cells: list[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            pad = " " * (widths[i] - width(c))
            out.append(pad + c if align[i] == "r" else c + pad)
        return "| " + " | ".join(out) + " |"

    sep = "|" + "|".join(
        "-" * (w + 1) + ":" if a == "r" else "-" * (w + 2) for w, a in zip(widths, align)
    ) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def order_key(order: tuple[str, ...], name: str) -> tuple[int, str]:
    return (order.index(name), "") if name in order else (len(order), name)


def technique_of(source: str) -> str:
    """`owner/repo@sha docs/detonation-logs/aws.x.y.json` -> `aws.x.y`."""
    path = source.split(" ", 1)[-1]
    name = path.rsplit("/", 1)[-1]
    return name[:-5] if name.endswith(".json") else name


def fired(verdict: dict | None) -> str:
    """`policy:rule, ...` for every policy that did not allow."""
    if verdict is None:
        return "no verdict"
    parts = []
    for p in verdict.get("policies", []):
        if p.get("decision") in FLAGGED:
            ids = p.get("ruleIds") or []
            tag = "" if p.get("decision") == verdict.get("decision") else f" ({p.get('decision')})"
            parts.append(f"{p.get('name')}: {', '.join(ids) if ids else NO_RULE}{tag}")
    return "; ".join(parts) or "(no policy flagged)"


def capped(items: list[str]) -> list[str]:
    if len(items) <= LIST_CAP:
        return items
    return items[:LIST_CAP] + [f"- … +{len(items) - LIST_CAP} more"]


# ---------------------------------------------------------------------------------------------
# settings


def cmd_settings(args: argparse.Namespace) -> int:
    merged: dict[str, object] = {}
    for f in args.files:
        path = Path(f)
        name = path.parent.name
        with path.open(encoding="utf-8") as fh:
            value = json.load(fh)
        if not isinstance(value, dict):
            print(f"detection: {f}: settings must be a JSON object", file=sys.stderr)
            return 2
        if name in merged:
            print(f"detection: {f}: duplicate settings for policy {name}", file=sys.stderr)
            return 2
        merged[name] = value
    json.dump(merged, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


# ---------------------------------------------------------------------------------------------
# report


class Cell:
    """Counts for one (file, category)."""

    def __init__(self) -> None:
        self.decisions: dict[str, Counter] = {"malicious": Counter(), "benign": Counter()}
        self.misses: list[str] = []
        self.fps: list[str] = []

    def n(self, label: str) -> int:
        return sum(self.decisions[label].values())

    def flagged(self, label: str) -> int:
        return sum(self.decisions[label][d] for d in FLAGGED)


def load_jsonl(path: Path) -> list[dict]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit(f"detection: {path}:{lineno}: {e}")
    return out


def cmd_report(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus)
    files = sorted(corpus.glob("*.jsonl"), key=lambda p: order_key(FILE_ORDER, p.stem))

    verdicts: dict[str, dict] = {}
    for v in load_jsonl(Path(args.verdicts)):
        verdicts[v["id"]] = v

    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    techniques: dict[str, dict[str, list]] = defaultdict(lambda: {"malicious": [], "benign": []})
    rule_hits: dict[str, Counter] = defaultdict(Counter)  # "policy:rule" -> label counts
    policy_decisions: dict[str, Counter] = defaultdict(Counter)
    no_verdict: list[str] = []
    no_rule: Counter = Counter()  # flags without a rule id, per label (policy errors, usually)
    seen: set[str] = set()
    duplicates: list[str] = []
    records = 0

    for f in files:
        for r in load_jsonl(f):
            records += 1
            rid, label, cat = r["id"], r["label"], r["category"]
            if label not in ("malicious", "benign"):
                raise SystemExit(f"detection: {f.name}: {rid}: unknown label {label!r}")
            if rid in seen:
                duplicates.append(rid)
            seen.add(rid)
            v = verdicts.get(rid)
            decision = v.get("decision", "?") if v else "no verdict"
            if v is None:
                no_verdict.append(rid)
            cell = cells[(f.stem, cat)]
            cell.decisions[label][decision] += 1
            is_flagged = decision in FLAGGED
            if label == "malicious" and not is_flagged:
                cell.misses.append(rid)
            if label == "benign" and is_flagged:
                cell.fps.append(f"- `{rid}` — {fired(v)}")
            if cat == "cloudtrail-attack" or "cloudtrail" in f.stem:
                techniques[technique_of(r.get("source", ""))][label].append(is_flagged)
            if v:
                for p in v.get("policies", []):
                    policy_decisions[p.get("name", "?")][p.get("decision", "?")] += 1
                    if p.get("decision") in FLAGGED:
                        if not p.get("ruleIds"):
                            no_rule[label] += 1
                        for rule in p.get("ruleIds") or ["(no rule id)"]:
                            rule_hits[f"{p.get('name')}:{rule}"][label] += 1

    extra = sorted(set(verdicts) - seen)

    keys = sorted(cells, key=lambda k: (order_key(FILE_ORDER, k[0]), order_key(CATEGORY_ORDER, k[1])))

    # -- summary table ------------------------------------------------------------------------
    summary_rows = []
    for fs, cat in keys:
        c, g = cells[(fs, cat)], goal_for(fs, cat)
        km, nm = c.flagged("malicious"), c.n("malicious")
        kb, nb = c.flagged("benign"), c.n("benign")
        summary_rows.append([
            fs, cat,
            rate(km, nm), interval(km, nm), detect_mark(g, km, nm),
            rate(kb, nb), interval(kb, nb), flag_mark(g, kb, nb),
        ])
    summary = table(
        ["file", "category", "malicious detected", "95 % CI", "goal",
         "benign flagged", "95 % CI", "goal"],
        summary_rows, "llrrlrrl",
    )

    # -- decision breakdown -------------------------------------------------------------------
    decision_rows = []
    for fs, cat in keys:
        c = cells[(fs, cat)]
        row = [fs, cat]
        for label in ("malicious", "benign"):
            d = c.decisions[label]
            if c.n(label) == 0:
                row += ["—", "—", "—"]
            else:
                row += [str(d["deny"]), str(d["alert"]),
                        str(c.n(label) - d["deny"] - d["alert"])]
        decision_rows.append(row)
    decisions = table(
        ["file", "category", "mal. deny", "mal. alert", "mal. allow",
         "ben. deny", "ben. alert", "ben. allow"],
        decision_rows, "llrrrrrr",
    )
    policy_rows = [
        [name, str(cnt["deny"]), str(cnt["alert"]), str(cnt["allow"]),
         str(sum(cnt.values()) - cnt["deny"] - cnt["alert"] - cnt["allow"])]
        for name, cnt in sorted(policy_decisions.items())
    ]
    policies_table = table(["policy", "deny", "alert", "allow", "other"], policy_rows, "lrrrr")
    rule_rows = [
        [f"`{rule}`", str(cnt["malicious"]), str(cnt["benign"])]
        for rule, cnt in sorted(rule_hits.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    ]
    rules_table = table(["policy:rule", "malicious records", "benign records"], rule_rows, "lrr")

    # -- cloudtrail techniques ----------------------------------------------------------------
    tech_rows = []
    tech_detected = tech_total = 0
    for t in sorted(techniques):
        mal, ben = techniques[t]["malicious"], techniques[t]["benign"]
        if mal:
            tech_total += 1
            hit = any(mal)
            tech_detected += hit
            mark = "✅" if hit else "❌"
        else:
            mark = "—"
        tech_rows.append([
            f"`{t}`", rate(sum(mal), len(mal)) if mal else "—", mark,
            rate(sum(ben), len(ben)) if ben else "—",
        ])

    # -- document -----------------------------------------------------------------------------
    manifest = json.loads(Path(args.manifest).read_text(encoding="utf-8"))
    if isinstance(manifest, dict):
        manifest = manifest.get("policies", [])
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    commit = f"`{args.commit}`" + (" (working tree has uncommitted changes)" if args.dirty == "1" else "")
    scan_line = ""
    if args.scan_stderr and Path(args.scan_stderr).exists():
        lines = [l.strip() for l in Path(args.scan_stderr).read_text(encoding="utf-8").splitlines() if l.strip()]
        scan_line = lines[-1] if lines else ""
    settings = ", ".join(f"`{s}`" for s in args.settings_source) or "none (no `policies/*/corpus-settings.json`)"

    out: list[str] = []
    w = out.append
    w("# Detection on the public corpus")
    w("")
    w(f"Generated by `make detection` (`tests/detection.sh` → `gavel scan` → `tests/detection_report.py`) "
      f"on {today} (UTC). Regenerate rather than edit; only the last section, "
      f"*Why the remaining misses*, is hand-written and kept verbatim on regeneration.")
    w("")
    w(f"- gavel commit: {commit}")
    w(f"- corpus: `{os.path.relpath(corpus)}` — {len(files)} files, {records} records "
      f"({', '.join(f'`{f.name}`' for f in files)})")
    w(f"- policy settings: merged from {settings}")
    if scan_line:
        w(f"- scan: `{scan_line}`")
    w("- policies (`target/policies/manifest.json`, read before the scan):")
    w("")
    w(table(["policy", "version", "sha256"],
            [[p.get("name", "?"), p.get("version", "?"), f"`{p.get('sha256', '?')}`"] for p in manifest]))
    w("")
    w("Scoring: a record is *flagged* when the overall verdict is `alert` or `deny`; a malicious "
      "record is *detected* when flagged. Labels come from the corpus (see its README) and are used "
      "only here, after the scan. Intervals are Wilson score intervals (95 %). Goals are the ones "
      "stated in the issue; ✅/❌ says whether the point estimate meets them.")
    problems = []
    if no_verdict:
        problems.append(f"{len(no_verdict)} corpus records got no verdict line (counted as not flagged; "
                        f"listed below)")
    if extra:
        problems.append(f"{len(extra)} verdict lines match no corpus record")
    if no_rule:
        problems.append(
            f"{sum(no_rule.values())} policy decisions flagged a record without any rule id "
            f"({no_rule['malicious']} on malicious, {no_rule['benign']} on benign records); the scan "
            f"gives a failing policy its on-error decision, so these are most likely policy errors "
            f"(e.g. the per-evaluation deadline on a loaded machine), not detections — see the scan line")
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate corpus ids (joined to the same verdict): "
                        + ", ".join(f"`{d}`" for d in duplicates[:10]))
    if problems:
        w("")
        w("**Caveats:** " + "; ".join(problems) + ".")
    w("")
    w("## Summary")
    w("")
    w(summary)
    w("")
    w("\\* The issue states the ≤5 % benign-flagged goal per web family; it is applied here to the "
      "`public-web` CRS false-positive tests of other rule families too.")
    w("")
    w("## Decisions")
    w("")
    w("Overall verdict per record (the strictest policy wins).")
    w("")
    w(decisions)
    w("")
    w("Per policy (one entry per policy that evaluated a record):")
    w("")
    w(policies_table)
    w("")
    w("<details><summary>Rules that fired (records per label)</summary>")
    w("")
    w(rules_table if rule_rows else "_No rule fired._")
    w("")
    w("</details>")
    w("")
    if techniques:
        w("## CloudTrail techniques")
        w("")
        w("Technique = Stratus Red Team detonation log the record comes from (its `source` path); "
          "a technique is detected when any of its malicious records is flagged. Rows with no "
          "malicious record (Grimoire-detonated or fixture records, benign by the corpus's "
          "user-agent rule) do not count toward recall.")
        w("")
        w(f"**Technique-level recall: {rate(tech_detected, tech_total)}, "
          f"95 % CI {interval(tech_detected, tech_total)}.**")
        w("")
        w(table(["technique", "malicious records flagged", "detected", "benign records flagged"],
                tech_rows, "lrll"))
        w("")
    w("## Misses (malicious, allowed)")
    w("")
    any_miss = False
    for fs, cat in keys:
        m = cells[(fs, cat)].misses
        if m:
            any_miss = True
            w(f"### {fs} / {cat} — {len(m)} of {cells[(fs, cat)].n('malicious')}")
            w("")
            out.extend(capped([f"- `{i}`" for i in m]))
            w("")
    if not any_miss:
        w("_None._")
        w("")
    w("## False positives (benign, flagged)")
    w("")
    w("Each id with the rules that fired (`policy: rule ids`).")
    w("")
    any_fp = False
    for fs, cat in keys:
        fps = cells[(fs, cat)].fps
        if fps:
            any_fp = True
            w(f"### {fs} / {cat} — {len(fps)} of {cells[(fs, cat)].n('benign')}")
            w("")
            out.extend(capped(fps))
            w("")
    if not any_fp:
        w("_None._")
        w("")
    if no_verdict:
        w("## Records without a verdict")
        w("")
        out.extend(capped([f"- `{i}`" for i in no_verdict]))
        w("")

    out_path = Path(args.out)
    why = WHY_PLACEHOLDER
    if out_path.exists():
        old = out_path.read_text(encoding="utf-8")
        lines = old.splitlines(keepends=True)
        for i, l in enumerate(lines):
            if l.startswith(WHY_HEADING):
                why = "".join(lines[i:])
                break
    doc = "\n".join(out) + "\n" + why
    if not doc.endswith("\n"):
        doc += "\n"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".DETECTION.", dir=out_path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(doc)
    os.replace(tmp, out_path)

    print(summary)
    if techniques:
        print(f"\nCloudTrail technique-level recall: {rate(tech_detected, tech_total)}, "
              f"95 % CI {interval(tech_detected, tech_total)}")
    if problems:
        print("\ncaveats: " + "; ".join(problems), file=sys.stderr)
    print(f"\ndetection: wrote {out_path}", file=sys.stderr)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("settings", help="merge policies/<name>/corpus-settings.json files")
    s.add_argument("files", nargs="+")
    s.set_defaults(func=cmd_settings)
    r = sub.add_parser("report", help="score verdicts and write the report")
    r.add_argument("--corpus", required=True)
    r.add_argument("--verdicts", required=True)
    r.add_argument("--manifest", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--scan-stderr", default="")
    r.add_argument("--commit", default="unknown")
    r.add_argument("--dirty", default="0")
    r.add_argument("--settings-source", action="append", default=[])
    r.set_defaults(func=cmd_report)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
