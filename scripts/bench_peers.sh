#!/usr/bin/env bash
# Peer benchmark: seqrec's SASRec against a plain PyTorch SASRec (benchmarks/peers/sasrec_torch.py) on the
# same machine, same data (Games), same configuration (d 50, 2 blocks, 1 head, maxlen 50, dropout 0.5,
# batch 128, Adam 1e-3), same thread count, one after the other in one run. Peak memory of each process
# comes from /usr/bin/time -v.
#
#   scripts/bench_peers.sh [EPOCHS]          (default 2; or SEQREC_BENCH_EPOCHS)
#   SEQREC_BENCH_THREADS (default 2)
#
# Needs PyTorch (pip install torch) and GNU time (apt-get install -y time). Not run by CI.
# stdout: the JSON lines of each implementation (tagged with "impl"), then one summary line
#   {"bench":"sasrec_epoch","seqrec_seconds_per_epoch":..,"pytorch_seconds_per_epoch":..,"ratio":..,
#    "seqrec_peak_rss_mb":..,"pytorch_peak_rss_mb":..}
# and a human summary on stderr.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export OMP_PROC_BIND=spread OMP_PLACES=threads
E=${1:-${SEQREC_BENCH_EPOCHS:-2}}
T=${SEQREC_BENCH_THREADS:-2}
cd "$SEQREC_ROOT"

if [[ ! -x build/bin/seqrec-train ]]; then
  echo "[bench_peers] build/bin/seqrec-train missing: building" >&2
  "$SEQREC_ROOT/scripts/build.sh" >&2
fi
if ! python3 -c 'import torch' 2>/dev/null; then
  echo "[bench_peers] PyTorch is not importable: pip install torch" >&2
  exit 2
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "[bench_peers] /usr/bin/time missing: apt-get install -y time" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[bench_peers] $E epoch(s), $T threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# peak RSS (MiB) from a /usr/bin/time -v report
peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }

/usr/bin/time -v -o "$tmp/seqrec.time" build/bin/seqrec-train --data games/games.txt --format sasrec \
  --model sasrec --epochs "$E" --eval-every "$E" --json --threads "$T" --max-eval-users 1000 \
  >"$tmp/seqrec.out" 2>"$tmp/seqrec.err" || { cat "$tmp/seqrec.err" >&2; exit 1; }
python3 - "$tmp/seqrec.out" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line); print(json.dumps({"impl": "seqrec", **d}))
EOF

/usr/bin/time -v -o "$tmp/torch.time" python3 benchmarks/peers/sasrec_torch.py --epochs "$E" --threads "$T" \
  >"$tmp/torch.out" 2>"$tmp/torch.err" || { cat "$tmp/torch.err" >&2; exit 1; }
cat "$tmp/torch.out"

python3 - "$tmp/seqrec.out" "$tmp/torch.out" "$(peak_mb "$tmp/seqrec.time")" "$(peak_mb "$tmp/torch.time")" \
  "$E" "$T" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
def last(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")][-1]
s, p = last(sys.argv[1]), last(sys.argv[2])
s_rss, p_rss, epochs, threads, load = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
ss, ps = s["seconds_per_epoch"], p["seconds_per_epoch"]
out = {"bench": "sasrec_epoch", "data": "games", "epochs": epochs, "threads": threads,
       "seqrec_seconds_per_epoch": ss, "pytorch_seconds_per_epoch": ps, "ratio": ps / ss,
       "seqrec_peak_rss_mb": s_rss, "pytorch_peak_rss_mb": p_rss,
       "torch_version": p.get("torch_version"), "loadavg_after": load}
print(json.dumps(out))
print(f"SASRec on Games, {epochs} epoch(s), {threads} threads:\n"
      f"  seqrec : {ss:8.2f} s/epoch, peak RSS {s_rss:8.1f} MiB\n"
      f"  pytorch: {ps:8.2f} s/epoch, peak RSS {p_rss:8.1f} MiB (torch {p.get('torch_version')})\n"
      f"  seqrec is {ps / ss:.2f}x the speed of PyTorch (load average after: {load})", file=sys.stderr)
EOF
