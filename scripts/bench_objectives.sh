#!/usr/bin/env bash
# Seconds per epoch of each training objective, seqrec against the PyTorch SASRec peer with the same loss
# (benchmarks/peers/sasrec_torch.py --loss), on the same data and machine, one after the other in one run.
#
#   scripts/bench_objectives.sh [EPOCHS] [DATA]      (defaults 1, games/games.txt)
#   SEQREC_BENCH_THREADS (default 2)   SEQREC_BENCH_LOSSES (default "bce sampled-softmax ce")
#
# Needs PyTorch (pip install torch). Not run by CI. stdout: every JSON line of both tools tagged with "impl" and
# "objective", then one summary line per objective {"bench":"objective_epoch","objective":..,
# "seqrec_seconds_per_epoch":..,"pytorch_seconds_per_epoch":..,"ratio":..}; a human summary on stderr.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export OMP_PROC_BIND=spread OMP_PLACES=threads
E=${1:-1}
DATA=${2:-games/games.txt}
T=${SEQREC_BENCH_THREADS:-2}
LOSSES=${SEQREC_BENCH_LOSSES:-bce sampled-softmax ce}
cd "$SEQREC_ROOT"
[[ -x build/bin/seqrec-train ]] || "$SEQREC_ROOT/scripts/build.sh" seqrec-train >&2
python3 -c 'import torch' 2>/dev/null || { echo "[bench_objectives] PyTorch is not importable: pip install torch" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[bench_objectives] $DATA, $E epoch(s), $T threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for loss in $LOSSES; do
  build/bin/seqrec-train --data "$DATA" --format sasrec --model sasrec --loss "$loss" --epochs "$E" \
    --eval-every "$E" --json --threads "$T" --max-eval-users 1000 --eval sampled >"$tmp/s.out" 2>"$tmp/s.err" ||
    { cat "$tmp/s.err" >&2; exit 1; }
  python3 benchmarks/peers/sasrec_torch.py --data "$DATA" --loss "$loss" --epochs "$E" --threads "$T" \
    >"$tmp/p.out" 2>"$tmp/p.err" || { cat "$tmp/p.err" >&2; exit 1; }
  python3 - "$tmp/s.out" "$tmp/p.out" "$loss" <<'PY'
import json, sys
loss = sys.argv[3]
def lines(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]
s, p = lines(sys.argv[1]), lines(sys.argv[2])
for d in s: print(json.dumps({"impl": "seqrec", "objective": loss, **d}))
for d in p: print(json.dumps({"objective": loss, **d}))
ss = [d["seconds"] for d in s if "epoch" in d and "seconds" in d]
ps = [d["seconds"] for d in p if "epoch" in d and "seconds" in d]
a, b = sum(ss) / len(ss), sum(ps) / len(ps)
print(json.dumps({"bench": "objective_epoch", "objective": loss, "seqrec_seconds_per_epoch": a,
                  "pytorch_seconds_per_epoch": b, "ratio": b / a}))
print(f"{loss:>16}: seqrec {a:7.2f} s/epoch, PyTorch {b:7.2f} s/epoch: {b / a:5.1f}x", file=sys.stderr)
PY
done
