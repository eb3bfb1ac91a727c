#!/usr/bin/env bash
# All peer comparisons in one run, on the same machine, same data (Games) and same thread count, one after the
# other:
#   sasrec   seqrec-train --model sasrec   vs benchmarks/peers/sasrec_torch.py   (PyTorch), seconds per epoch
#   gru4rec  seqrec-train --model gru4rec  vs benchmarks/peers/gru4rec_torch.py  (PyTorch), seconds per epoch
#   als      seqrec-complete --method als  vs benchmarks/peers/implicit_peer.py  (implicit), seconds per iteration
#   bpr      seqrec-complete --method bpr  vs benchmarks/peers/implicit_peer.py  (implicit), seconds per epoch
# Each run is its own process under /usr/bin/time -v (peak RSS). The configurations are those of
# scripts/bench_peers.sh and scripts/bench_completion.sh.
#
#   scripts/bench_all_peers.sh > peers.jsonl          then: python3 scripts/plot_bench.py peers.jsonl
#
# Environment (defaults in brackets):
#   SEQREC_BENCH_THREADS [2]                 threads of every run
#   SEQREC_BENCH_MODELS ["sasrec gru4rec als bpr"]   which comparisons
#   SEQREC_BENCH_SASREC_EPOCHS [2]  SEQREC_BENCH_GRU4REC_EPOCHS [2]
#   SEQREC_BENCH_ALS_FACTORS ["64 128"]  SEQREC_BENCH_ALS_ITERS [15]
#   SEQREC_BENCH_BPR_FACTORS [64]  SEQREC_BENCH_BPR_EPOCHS [20]
#   OMP_PROC_BIND [false]: unbound threads, which measure more steadily on a machine shared with other work.
#
# Needs PyTorch (pip install torch), implicit (pip install implicit) and GNU time (apt-get install -y time).
# Not run by CI.
# stdout: every run's JSON lines, tagged {"bench":"peer_run","compare":MODEL,"impl":"seqrec|pytorch|implicit",...},
# then one summary line per comparison
#   {"bench":"peer","model":"sasrec|gru4rec|als|bpr","seqrec_seconds":..,"peer":"pytorch|implicit",
#    "peer_seconds":..,"ratio":peer/seqrec,"unit":"epoch|iteration",...}
# and a human table on stderr. Ratio above 1: seqrec is faster. Seconds are the mean per epoch, or per iteration
# as each side reports it (a BPR "iteration" is an epoch); sasrec and gru4rec also give ratio_fastest_epoch, from
# each side's fastest epoch. loadavg_before/after: other work on the machine distorts the ratios badly (it stalls
# the many small multi-threaded PyTorch ops most, but it hits whichever run it overlaps), so run on a quiet one.
set -euo pipefail
bind=${OMP_PROC_BIND:-false}  # before env.sh, which defaults it to spread
source "$(dirname "$0")/env.sh"
export OMP_PROC_BIND=$bind OMP_PLACES=threads
T=${SEQREC_BENCH_THREADS:-2}
MODELS=${SEQREC_BENCH_MODELS:-sasrec gru4rec als bpr}
SASREC_EPOCHS=${SEQREC_BENCH_SASREC_EPOCHS:-2}
GRU4REC_EPOCHS=${SEQREC_BENCH_GRU4REC_EPOCHS:-2}
ALS_FACTORS=${SEQREC_BENCH_ALS_FACTORS:-64 128}
ALS_ITERS=${SEQREC_BENCH_ALS_ITERS:-15}
BPR_FACTORS=${SEQREC_BENCH_BPR_FACTORS:-64}
BPR_EPOCHS=${SEQREC_BENCH_BPR_EPOCHS:-20}
cd "$SEQREC_ROOT"

wants() { [[ " $MODELS " == *" $1 "* ]]; }
if [[ ! -x build/bin/seqrec-train || ! -x build/bin/seqrec-complete ]]; then
  echo "[bench_all_peers] build/bin binaries missing: building" >&2
  "$SEQREC_ROOT/scripts/build.sh" >&2
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "[bench_all_peers] /usr/bin/time missing: apt-get install -y time" >&2
  exit 2
fi
if (wants sasrec || wants gru4rec) && ! python3 -c 'import torch' 2>/dev/null; then
  echo "[bench_all_peers] PyTorch is not importable: pip install torch" >&2
  exit 2
fi
if (wants als || wants bpr) && ! python3 -c 'import implicit' 2>/dev/null; then
  echo "[bench_all_peers] the implicit library is not importable: pip install implicit" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[bench_all_peers] models: $MODELS; $T threads, OMP_PROC_BIND=$OMP_PROC_BIND, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# timed NAME COMPARE IMPL cmd...: run cmd under /usr/bin/time -v; print its JSON lines tagged; keep them in
# $tmp/NAME.out, the peak RSS in $tmp/NAME.time and the load average it started at in $tmp/NAME.load.
timed() {
  local name=$1 compare=$2 impl=$3
  shift 3
  echo "[bench_all_peers] $compare/$impl: $*" >&2
  cut -d' ' -f1-3 /proc/loadavg >"$tmp/$name.load"
  /usr/bin/time -v -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
    { cat "$tmp/$name.err" >&2; exit 1; }
  python3 - "$tmp/$name.out" "$compare" "$impl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line)
        d.pop("impl", None)
        print(json.dumps({"bench": "peer_run", "compare": sys.argv[2], "impl": sys.argv[3], **d}), flush=True)
EOF
}

# summary MODEL SEQ_NAME PEER_NAME PEER UNIT COUNT [FACTORS]: one {"bench":"peer"} line from the two runs' last
# JSON lines (seconds_per_epoch or seconds_per_iteration), appended to $tmp/summary.jsonl and printed.
summary() {
  python3 - "$tmp" "$@" "$T" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF' | tee -a "$tmp/summary.jsonl"
import json, re, sys
tmp, model, sname, pname, peer, unit, count = sys.argv[1:8]
factors, threads, load = (sys.argv[8], sys.argv[9], sys.argv[10]) if len(sys.argv) == 11 else (None, *sys.argv[8:10])
def lines(name):
    return [json.loads(l) for l in open(f"{tmp}/{name}.out") if l.strip().startswith("{")]
def last(name):
    return lines(name)[-1]
def fastest_epoch(name):
    return min((d["seconds"] for d in lines(name) if "epoch" in d and "seconds" in d), default=None)
def peak_mb(name):
    for l in open(f"{tmp}/{name}.time"):
        if "Maximum resident set size" in l:
            return int(l.split(":")[1]) / 1024.0
key = "seconds_per_epoch" if model in ("sasrec", "gru4rec") else "seconds_per_iteration"
s, p = last(sname), last(pname)
out = {"bench": "peer", "model": model, "data": "games", "threads": int(threads), "unit": unit,
       ("epochs" if unit == "epoch" else "iterations"): int(count),
       "seqrec_seconds": s[key], "peer": peer, "peer_seconds": p[key], "ratio": p[key] / s[key],
       "seqrec_peak_rss_mb": peak_mb(sname), "peer_peak_rss_mb": peak_mb(pname)}
if factors is not None:
    out["factors"] = int(factors)
# The fastest epoch of each side: steadier than the mean when other work shares the machine.
sf, pf = fastest_epoch(sname), fastest_epoch(pname)
if unit == "epoch" and sf and pf:
    out.update(seqrec_fastest_epoch_seconds=sf, peer_fastest_epoch_seconds=pf, ratio_fastest_epoch=pf / sf)
if "torch_version" in p:
    out["peer_version"] = "torch " + p["torch_version"]
else:  # implicit_peer.py names its version on stderr: "[implicit X.Y.Z] ..."
    m = re.search(r"\[implicit ([^\]]+)\]", open(f"{tmp}/{pname}.err").read())
    if m:
        out["peer_version"] = "implicit " + m.group(1)
# Other work on the machine distorts both sides, the many small PyTorch ops most: report the load.
out["loadavg_before"] = open(f"{tmp}/{sname}.load").read().strip()
out["loadavg_after"] = load
print(json.dumps(out), flush=True)
EOF
}

if wants sasrec; then
  timed sasrec_seqrec sasrec seqrec build/bin/seqrec-train --data games/games.txt --format sasrec --model sasrec \
    --epochs "$SASREC_EPOCHS" --eval-every "$SASREC_EPOCHS" --json --threads "$T" --max-eval-users 1000
  timed sasrec_torch sasrec pytorch python3 benchmarks/peers/sasrec_torch.py --epochs "$SASREC_EPOCHS" --threads "$T"
  summary sasrec sasrec_seqrec sasrec_torch pytorch epoch "$SASREC_EPOCHS"
fi
if wants gru4rec; then
  timed gru4rec_seqrec gru4rec seqrec build/bin/seqrec-train --data games/games.txt --format sasrec --model gru4rec \
    --epochs "$GRU4REC_EPOCHS" --eval-every "$GRU4REC_EPOCHS" --json --threads "$T" --max-eval-users 1000
  timed gru4rec_torch gru4rec pytorch python3 benchmarks/peers/gru4rec_torch.py --epochs "$GRU4REC_EPOCHS" \
    --threads "$T"
  summary gru4rec gru4rec_seqrec gru4rec_torch pytorch epoch "$GRU4REC_EPOCHS"
fi
if wants als; then
  for k in $ALS_FACTORS; do
    timed "als${k}_seqrec" als seqrec build/bin/seqrec-complete --data games/games.txt --method als --factors "$k" \
      --iters "$ALS_ITERS" --threads "$T" --protocol sampled --max-eval-users 2000 --json
    timed "als${k}_implicit" als implicit python3 benchmarks/peers/implicit_peer.py --threads "$T" \
      --als-factors "$k" --als-iters "$ALS_ITERS" --bpr-factors
    summary als "als${k}_seqrec" "als${k}_implicit" implicit iteration "$ALS_ITERS" "$k"
  done
fi
if wants bpr; then
  for k in $BPR_FACTORS; do
    timed "bpr${k}_seqrec" bpr seqrec build/bin/seqrec-complete --data games/games.txt --method bpr --factors "$k" \
      --epochs "$BPR_EPOCHS" --threads "$T" --protocol sampled --max-eval-users 2000 --json
    timed "bpr${k}_implicit" bpr implicit python3 benchmarks/peers/implicit_peer.py --threads "$T" \
      --als-factors --bpr-factors "$k" --bpr-epochs "$BPR_EPOCHS"
    summary bpr "bpr${k}_seqrec" "bpr${k}_implicit" implicit iteration "$BPR_EPOCHS" "$k"
  done
fi

[[ -s "$tmp/summary.jsonl" ]] || exit 0
python3 - "$tmp/summary.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r0 = rows[0]
print(f"Peer comparisons on Games, {r0['threads']} threads; "
      "ratio = peer / seqrec, above 1: seqrec is faster (fastest: of the fastest epochs)", file=sys.stderr)
print(f"  {'model':10s} {'peer':9s} {'unit':10s} {'seqrec s':>10s} {'peer s':>10s} {'ratio':>7s} "
      f"{'fastest':>7s} {'seqrec MiB':>10s} {'peer MiB':>10s}  load before/after", file=sys.stderr)
for r in rows:
    name = r["model"] + (f" k{r['factors']}" if "factors" in r else "")
    fast = f"{r['ratio_fastest_epoch']:.2f}" if "ratio_fastest_epoch" in r else "-"
    print(f"  {name:10s} {r['peer']:9s} {r['unit']:10s} {r['seqrec_seconds']:10.4f} {r['peer_seconds']:10.4f} "
          f"{r['ratio']:7.2f} {fast:>7s} {r['seqrec_peak_rss_mb']:10.1f} {r['peer_peak_rss_mb']:10.1f}  "
          f"{r['loadavg_before'].split()[0]}/{r['loadavg_after'].split()[0]}", file=sys.stderr)
EOF
