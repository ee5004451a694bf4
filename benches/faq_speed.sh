#!/usr/bin/env bash
# `motcua faq match` against the Python BM25 baseline (benches/faq_bm25.py),
# whole process, on the same input: LINES questions cycling through the
# evaluation questions (default 100,000), RUNS runs each (default 5).
#
#   cargo build --release && bash benches/faq_speed.sh
#   MOTCUA=/path/to/motcua LINES=534 RUNS=10 bash benches/faq_speed.sh
#
# Prints, per program, the best wall time and the mean CPU time (user +
# system) per question, and the ratios. The best wall time is the least
# disturbed by other work on the machine; CPU time is steadier under load.
set -euo pipefail
cd "$(dirname "$0")/.."
TIMEFORMAT='%3R %3U %3S'
MOTCUA=${MOTCUA:-${CARGO_TARGET_DIR:-target}/release/motcua}
LINES=${LINES:-100000}
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
export MOTCUA_DATA_DIR="$work/data" # no <data dir>/faq overrides

python3 - "$LINES" >"$work/in.txt" <<'PY'
import json, sys
qs = [json.loads(l)["q"] for f in ("faq/eval/faq-eval.jsonl", "faq/eval/faq-holdout.jsonl")
      for l in open(f, encoding="utf-8") if l.strip()]
n = int(sys.argv[1])
sys.stdout.write("".join(qs[i % len(qs)] + "\n" for i in range(n)))
PY

# run NAME CMD...: prints "best_wall_s mean_cpu_s"
run() {
  local best="" sum=0 i wall cpu u s
  for ((i = 0; i < RUNS; i++)); do
    { time "$@" <"$work/in.txt" >"$work/out.jsonl"; } 2>"$work/t"
    read -r wall u s <"$work/t"
    cpu=$(echo "$u + $s" | bc -l)
    sum=$(echo "$sum + $cpu" | bc -l)
    if [[ -z $best ]] || (($(echo "$wall < $best" | bc -l))); then best=$wall; fi
  done
  [[ $(wc -l <"$work/out.jsonl") -eq $LINES ]] || { echo "$1: wrong line count" >&2; exit 1; }
  echo "$best $(echo "$sum / $RUNS" | bc -l)"
}

read -r rw rc < <(run "$MOTCUA" faq match)
read -r pw pc < <(run python3 benches/faq_bm25.py)
us() { echo "scale=2; $1 * 1000000 / $LINES" | bc -l; }
printf '%s lines, %s runs each\n' "$LINES" "$RUNS"
printf 'motcua faq match   best wall %6.3f s (%s µs/question)  mean CPU %6.3f s (%s µs/question)\n' \
  "$rw" "$(us "$rw")" "$rc" "$(us "$rc")"
printf 'python BM25        best wall %6.3f s (%s µs/question)  mean CPU %6.3f s (%s µs/question)\n' \
  "$pw" "$(us "$pw")" "$pc" "$(us "$pc")"
printf 'ratio              wall %.1fx  CPU %.1fx\n' "$(echo "$pw / $rw" | bc -l)" "$(echo "$pc / $rc" | bc -l)"
