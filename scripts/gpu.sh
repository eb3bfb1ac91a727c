#!/usr/bin/env bash
# Runs on a lent GPU machine (CUDA 13, 16 cores; no Kokkos, no OpenBLAS, no ../shared/data) from the pack
# that scripts/gpu_pack.sh made here:
#   run(command="scripts/gpu.sh", carry=[".gpu"], timeout_s=480)
# 1. the CUDA test binaries (Serial, OpenMP and Cuda backends, float and double);
# 2. speed: seqrec SASRec on Games for a few epochs alone on the GPU, then the PyTorch peer
#    (benchmarks/peers/sasrec_torch.py --device cuda) with the same configuration;
# 3. accuracy: SASRec (3 seeds), GRU4Rec and LSTM on Games, side by side on the GPU, each stopped by
#    --time-limit and then tested on its best validation epoch;
# 4. the benchmarks (--quick).
# Results under $OUT (at most 8 files come back): gpu.log (all of the console), tests.log, speed.jsonl,
# train.jsonl, bench.jsonl, summary.json. Budgets: SEQREC_GPU_SPEED_EPOCHS (10), SEQREC_GPU_TRAIN_SECONDS (120).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu.log") 2>&1
P=/tmp/seqrec-gpu
rm -rf "$P" && mkdir -p "$P" && xz -dc .gpu/pack.tar.xz | tar -C "$P" -xf - || { echo "no .gpu/pack.tar.xz"; exit 2; }
export LD_LIBRARY_PATH="$P/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SEQREC_DATA="$P/data"
# CUDA's libraries (cudart, cuBLAS 13) come from the machine: find them where the toolkit or a wheel put them.
for lib in $(ldd "$P/bin/seqrec-train" | awk '/not found/ {print $1}'); do
  dir=$(dirname "$(find /usr/local /usr/lib /opt -name "$lib" 2>/dev/null | head -1)")
  [ "$dir" != . ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$dir" && echo "found $lib in $dir"
done
ldd "$P/bin/seqrec-train" | grep -E 'not found|cublas|cudart|openblas'
export OMP_PROC_BIND=spread OMP_PLACES=threads
SPEED_EPOCHS=${SEQREC_GPU_SPEED_EPOCHS:-10}
TRAIN_SECONDS=${SEQREC_GPU_TRAIN_SECONDS:-120}
cat "$P/BUILD"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
status=0
phase() { echo "== [$SECONDS s] $*"; }

phase "1. tests"
for t in "$P"/bin/test_*; do
  name=$(basename "$t")
  echo "#### $name" >>"$OUT/tests.log"
  if OMP_NUM_THREADS=8 timeout 90 "$t" --reporter compact >>"$OUT/tests.log" 2>&1; then
    echo "$name: $(grep -E "^(Passed|All tests)" "$OUT/tests.log" | tail -1)"
  else
    status=1
    echo "$name: FAILED"; grep -B2 -A12 -m3 'FAILED\|error' "$OUT/tests.log" | tail -40
  fi
done

phase "2. speed (SASRec on Games, $SPEED_EPOCHS epochs, d 50, 2 blocks, maxlen 50, batch 128)"
tag() { python3 -c 'import json,sys
for l in sys.stdin:
    l=l.strip()
    if l.startswith("{"): print(json.dumps({"run": sys.argv[1], **json.loads(l)}))' "$1"; }
OMP_NUM_THREADS=8 timeout 180 "$P/bin/seqrec-train" --data games/games.txt --model sasrec --epochs "$SPEED_EPOCHS" \
  --eval-every "$SPEED_EPOCHS" --max-eval-users 2000 --json 2>"$P/speed-seqrec.err" | tag seqrec | tee -a "$OUT/speed.jsonl" | tail -1
PYTHONUNBUFFERED=1 timeout 300 python3 benchmarks/peers/sasrec_torch.py --device cuda --threads 8 \
  --data "$P/data/games/games.txt" --epochs "$SPEED_EPOCHS" --eval --max-eval-users 2000 2>&1 | tag pytorch |
  tee -a "$OUT/speed.jsonl" | tail -1

phase "3. accuracy on Games, side by side on the GPU, ${TRAIN_SECONDS} s of training each"
common=(--data games/games.txt --maxlen 50 --dim 50 --lr 0.001 --batch 128 --epochs 400 --eval both --json
        --time-limit "$TRAIN_SECONDS" --threads 2)
pids=()
for seed in 1 2 3; do
  timeout -s TERM $((TRAIN_SECONDS + 120)) "$P/bin/seqrec-train" "${common[@]}" --model sasrec --blocks 2 --heads 1 \
    --dropout 0.5 --patience 40 --eval-every 2 --seed $seed >"$P/sasrec-$seed.jsonl" 2>"$P/sasrec-$seed.err" &
  pids+=($!)
done
for m in gru4rec lstm; do
  timeout -s TERM $((TRAIN_SECONDS + 120)) "$P/bin/seqrec-train" "${common[@]}" --model $m --dropout 0.2 \
    --patience 40 --eval-every 2 --seed 1 >"$P/$m-1.jsonl" 2>"$P/$m-1.err" &
  pids+=($!)
done
wait "${pids[@]}"
for f in "$P"/sasrec-*.jsonl "$P"/gru4rec-*.jsonl "$P"/lstm-*.jsonl; do
  r=$(basename "$f" .jsonl)
  tag "$r" <"$f" >>"$OUT/train.jsonl"
  tail -1 "$f" | grep -q '"test_hr10"' && echo "$r: $(tail -1 "$f")" || { status=1; echo "$r: no result"; tail -5 "${f%.jsonl}.err"; }
done

phase "4. benchmarks"
for b in "$P"/bin/bench-linalg; do  # bench-data is host-only
  OMP_NUM_THREADS=8 timeout 90 "$b" --quick 2>>"$OUT/gpu.log" | tag "$(basename "$b")" >>"$OUT/bench.jsonl" || status=1
done
tail -8 "$OUT/bench.jsonl"

python3 - "$OUT" <<'PY'
import json, statistics, sys, os
out = sys.argv[1]
def lines(name):
    p = os.path.join(out, name)
    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []
s = {}
speed = lines("speed.jsonl")
fin = {r["run"]: r for r in speed if "seconds_per_epoch" in r}
if "seqrec" in fin and "pytorch" in fin:
    s["speed"] = {"seqrec_seconds_per_epoch": fin["seqrec"]["seconds_per_epoch"],
                  "pytorch_seconds_per_epoch": fin["pytorch"]["seconds_per_epoch"],
                  "ratio": fin["pytorch"]["seconds_per_epoch"] / fin["seqrec"]["seconds_per_epoch"]}
runs = {r["run"]: r for r in lines("train.jsonl") if "test_hr10" in r}
keys = ["test_hr10", "test_ndcg10", "full_test_hr10", "full_test_ndcg10", "epochs", "best_epoch", "seconds_per_epoch"]
s["runs"] = {k: {m: v.get(m) for m in keys} for k, v in runs.items()}
sas = [v for k, v in runs.items() if k.startswith("sasrec")]
if len(sas) >= 2:
    s["sasrec_mean_std"] = {m: [statistics.mean(v[m] for v in sas), statistics.stdev(v[m] for v in sas)]
                            for m in ["test_hr10", "test_ndcg10", "full_test_hr10", "full_test_ndcg10"]}
json.dump(s, open(os.path.join(out, "summary.json"), "w"), indent=1)
print(json.dumps(s, indent=1))
PY
phase "done, status $status"
exit $status
