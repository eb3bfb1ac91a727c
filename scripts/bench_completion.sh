#!/usr/bin/env bash
# Peer benchmark of the completion strategies: seqrec's implicit ALS (64 and 128 factors, conjugate gradient,
# 15 iterations) and BPR-MF (64 factors) against the `implicit` library on the same data (Games, leave-one-out,
# fitted on training + validation items), same thread count, one after the other in one run.
#
#   scripts/bench_completion.sh                (SEQREC_BENCH_THREADS, default 2)
#
# Needs `pip install implicit`. Not run by CI.
# stdout: every implementation's JSON lines (tagged with "impl"), then one summary line per comparison
#   {"bench":"als","factors":64,"seqrec_seconds_per_iteration":..,"implicit_seconds_per_iteration":..,"ratio":..}
# (ratio = implicit / seqrec: above 1, seqrec is faster) and a human summary on stderr.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export OMP_PROC_BIND=spread OMP_PLACES=threads
T=${SEQREC_BENCH_THREADS:-2}
cd "$SEQREC_ROOT"
if [[ ! -x build/bin/seqrec-complete ]]; then
  echo "[bench_completion] build/bin/seqrec-complete missing: building" >&2
  "$SEQREC_ROOT/scripts/build.sh" >&2
fi
if ! python3 -c 'import implicit' 2>/dev/null; then
  echo "[bench_completion] the implicit library is not importable: pip install implicit" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[bench_completion] $T threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for k in 64 128; do
  build/bin/seqrec-complete --data games/games.txt --method als --factors "$k" --iters 15 --threads "$T" \
    --protocol sampled --max-eval-users 2000 --json | tail -1 | python3 -c \
    "import json,sys; d=json.loads(sys.stdin.read()); d.update(impl='seqrec', factors=$k); print(json.dumps(d))" \
    >>"$tmp/seqrec.jsonl"
done
build/bin/seqrec-complete --data games/games.txt --method bpr --factors 64 --epochs 20 --threads "$T" \
  --protocol sampled --max-eval-users 2000 --json | tail -1 | python3 -c \
  "import json,sys; d=json.loads(sys.stdin.read()); d.update(impl='seqrec', factors=64); print(json.dumps(d))" \
  >>"$tmp/seqrec.jsonl"
cat "$tmp/seqrec.jsonl"
python3 benchmarks/peers/implicit_peer.py --threads "$T" --als-factors 64 128 --bpr-factors 64 --bpr-epochs 20 \
  >"$tmp/implicit.jsonl"
cat "$tmp/implicit.jsonl"

python3 - "$tmp/seqrec.jsonl" "$tmp/implicit.jsonl" "$T" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
seq = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
imp = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
threads, load = int(sys.argv[3]), sys.argv[4]
lines = []
for s in seq:
    p = next((p for p in imp if p["method"] == s["method"] and p["factors"] == s["factors"]), None)
    if p is None:
        continue
    out = {"bench": s["method"], "data": "games", "factors": s["factors"], "threads": threads,
           "seqrec_seconds_per_iteration": s["seconds_per_iteration"],
           "implicit_seconds_per_iteration": p["seconds_per_iteration"],
           "ratio": p["seconds_per_iteration"] / s["seconds_per_iteration"], "loadavg_after": load}
    print(json.dumps(out))
    lines.append(f"  {s['method']:4s} {s['factors']:4d} factors: seqrec {s['seconds_per_iteration']:.4f} s/iter, "
                 f"implicit {p['seconds_per_iteration']:.4f} s/iter -> seqrec {out['ratio']:.2f}x implicit's speed")
print(f"Completion strategies on Games, {threads} threads (load after: {load}):", file=sys.stderr)
print("\n".join(lines), file=sys.stderr)
EOF
