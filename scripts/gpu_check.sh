#!/usr/bin/env bash
# Runs on a lent GPU machine (CUDA 13, 16 cores; no Kokkos, no OpenBLAS, no ../shared/data) from the pack
# that scripts/gpu_pack.sh made here:
#   run(command="scripts/gpu_check.sh", carry=[".gpu"], timeout_s=480)
# While the GPU works through 1-5, the CPU cores train the recurrent models (OpenMP build):
# 0. background, cores 0-11: GRU4Rec (3 seeds) and LSTM (1 seed) on Games, 3 threads each, --time-limit;
# 1. the CUDA test binaries (Serial, OpenMP and Cuda backends, float and double), a backtrace on a crash;
# 2. speed: seqrec SASRec on Games for a few epochs alone on the GPU, then the PyTorch peer
#    (benchmarks/peers/sasrec_torch.py --device cuda), same configuration;
# 3. a kernel profile of 2 epochs (benchmarks/tools/kernel_profile.cpp);
# 4. seqrec-bench-portability on the Cuda backend, float and double: every kernel family, the measured roof
#    (cuBLAS gemm, triad bandwidth) beside each (the Serial and OpenMP rows come from scripts/bench_portability.sh
#    on the CPU machine; scripts/plot_bench.py draws both);
# 5. SASRec (seed 1) trained on the GPU with the paper's settings for the time left, then tested.
# Results under $OUT (at most 8 files come back): gpu.log (the console), tests.log, speed.jsonl,
# profile.jsonl, train.jsonl, portability.jsonl, summary.json.
# Budgets (s): SEQREC_GPU_CPU_SECONDS (270, phase 0), SEQREC_GPU_SASREC_SECONDS (140, phase 5).
# SEQREC_GPU_QUICK=1 runs phases 1-4 only (about 150 s).
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
ldd "$P/bin/seqrec-train" | grep -E 'not found'
QUICK=${SEQREC_GPU_QUICK:-0}
CPU_SECONDS=${SEQREC_GPU_CPU_SECONDS:-270}
SASREC_SECONDS=${SEQREC_GPU_SASREC_SECONDS:-140}
cat "$P/BUILD"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
lscpu | grep -E 'Model name|^CPU\(s\)'
status=0
phase() { echo "== [$SECONDS s] $*"; }
tag() { python3 -c 'import json,sys
for l in sys.stdin:
    l=l.strip()
    if l.startswith("{"): print(json.dumps({"run": sys.argv[1], **json.loads(l)}))' "$1"; }
# GPU-side processes keep to cores 12-15; each CPU run gets 3 cores of its own.
gpu_env=(env OMP_PROC_BIND=close "OMP_PLACES={12},{13},{14},{15}" OMP_NUM_THREADS=4)
common=(--data games/games.txt --maxlen 50 --dim 50 --lr 0.001 --batch 128 --epochs 400 --eval both --json)

cpu_pids=()
i=0
runs=(gru4rec:1 gru4rec:2 gru4rec:3 lstm:1)
[ "$QUICK" = 1 ] && runs=()
[ ${#runs[@]} -gt 0 ] && phase "0. background on cores 0-11: ${runs[*]} (${CPU_SECONDS} s of training each)"
for run in "${runs[@]}"; do
  m=${run%:*} seed=${run#*:} c=$((3 * i))
  env OMP_PROC_BIND=close "OMP_PLACES={$c},{$((c + 1))},{$((c + 2))}" timeout -s TERM $((CPU_SECONDS + 150)) \
    "$P/bin/seqrec-train-omp" "${common[@]}" --model "$m" --dropout 0.2 --patience 40 --eval-every 2 --seed "$seed" \
    --threads 3 --time-limit "$CPU_SECONDS" >"$P/$m-cpu-$seed.jsonl" 2>"$P/$m-cpu-$seed.err" &
  cpu_pids+=($!)
  i=$((i + 1))
done

phase "1. tests"
for t in "$P"/bin/test_*; do
  name=$(basename "$t")
  echo "#### $name" >>"$OUT/tests.log"
  if "${gpu_env[@]}" timeout 90 "$t" --reporter compact >>"$OUT/tests.log" 2>&1; then
    echo "$name: $(grep -E '^(Passed|All tests)' "$OUT/tests.log" | tail -1)"
  else
    status=1
    echo "$name: FAILED"
    grep -E 'failed|FAILED|error' "$OUT/tests.log" | tail -8
    if command -v cuda-gdb >/dev/null; then
      case=$(grep -oE '^[^:]+:[0-9]+: failed' "$OUT/tests.log" | tail -1)
      echo "backtrace ($case):"
      "${gpu_env[@]}" timeout 90 cuda-gdb -q -batch -ex run -ex bt --args "$t" 2>&1 | grep -E '^#|signal|Signal' | head -40
    fi
    # The crashing test case again, every passed assertion shown: the last one printed precedes the crash.
    "${gpu_env[@]}" timeout 60 "$t" -s --reporter compact 2>&1 | grep -E 'passed|failed' | tail -6
  fi
done

phase "2. speed (SASRec on Games, 10 epochs, d 50, 2 blocks, maxlen 50, batch 128)"
"${gpu_env[@]}" timeout 180 "$P/bin/seqrec-train" --data games/games.txt --model sasrec --epochs 10 --eval-every 10 \
  --max-eval-users 2000 --json 2>"$P/speed-seqrec.err" | tag seqrec | tee -a "$OUT/speed.jsonl" | tail -1
"${gpu_env[@]}" PYTHONUNBUFFERED=1 timeout 300 python3 benchmarks/peers/sasrec_torch.py --device cuda --threads 4 \
  --data "$P/data/games/games.txt" --epochs 10 --eval --max-eval-users 2000 2>&1 | tag pytorch |
  tee -a "$OUT/speed.jsonl" | tail -1

phase "3. kernel profile, 2 epochs"
"${gpu_env[@]}" KOKKOS_PROFILE_LIBRARY="$P/lib/libseqrec-kernel-profile.so" SEQREC_PROFILE_OUT="$OUT/profile.jsonl" \
  timeout 120 "$P/bin/seqrec-train" --data games/games.txt --model sasrec --epochs 2 --eval-every 2 \
  --max-eval-users 2000 --json >/dev/null 2>&1
head -12 "$OUT/profile.jsonl"; tail -1 "$OUT/profile.jsonl"

phase "4. seqrec-bench-portability, Cuda"
"${gpu_env[@]}" timeout 150 "$P/bin/seqrec-bench-portability" --backends Cuda 2>>"$OUT/gpu.log" |
  tee "$OUT/portability.jsonl" | tail -3 || status=1

if [ "$QUICK" = 1 ]; then phase "done (quick), status $status"; exit $status; fi

phase "5. SASRec seed 1 on the GPU, paper settings, ${SASREC_SECONDS} s"
"${gpu_env[@]}" timeout -s TERM $((SASREC_SECONDS + 120)) "$P/bin/seqrec-train" "${common[@]}" --model sasrec \
  --blocks 2 --heads 1 --dropout 0.5 --patience 40 --eval-every 5 --seed 1 --time-limit "$SASREC_SECONDS" \
  >"$P/sasrec-gpu-1.jsonl" 2>"$P/sasrec-gpu-1.err"

phase "waiting for the CPU runs"
wait "${cpu_pids[@]}"
for f in "$P"/sasrec-gpu-*.jsonl "$P"/gru4rec-cpu-*.jsonl "$P"/lstm-cpu-*.jsonl; do
  r=$(basename "$f" .jsonl)
  tag "$r" <"$f" >>"$OUT/train.jsonl"
  tail -1 "$f" | grep -q '"test_hr10"' && echo "$r: $(tail -1 "$f")" || { status=1; echo "$r: no result"; tail -5 "${f%.jsonl}.err"; }
done

python3 - "$OUT" <<'PY'
import json, statistics, sys, os
out = sys.argv[1]
def lines(name):
    p = os.path.join(out, name)
    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []
s = {}
fin = {r["run"]: r for r in lines("speed.jsonl") if "seconds_per_epoch" in r}
if "seqrec" in fin and "pytorch" in fin:
    s["speed"] = {"seqrec_seconds_per_epoch": fin["seqrec"]["seconds_per_epoch"],
                  "pytorch_seconds_per_epoch": fin["pytorch"]["seconds_per_epoch"],
                  "ratio": fin["pytorch"]["seconds_per_epoch"] / fin["seqrec"]["seconds_per_epoch"]}
runs = {r["run"]: r for r in lines("train.jsonl") if "test_hr10" in r}
keys = ["test_hr10", "test_ndcg10", "full_test_hr10", "full_test_ndcg10", "epochs", "best_epoch", "stopped",
        "seconds_per_epoch", "backend", "threads"]
s["runs"] = {k: {m: v.get(m) for m in keys} for k, v in runs.items()}
for model in ["gru4rec", "lstm", "sasrec"]:
    rs = [v for k, v in runs.items() if k.startswith(model)]
    if len(rs) >= 2:
        s[model + "_mean_std"] = {m: [statistics.mean(v[m] for v in rs), statistics.stdev(v[m] for v in rs)]
                                  for m in ["test_hr10", "test_ndcg10", "full_test_hr10", "full_test_ndcg10"]}
json.dump(s, open(os.path.join(out, "summary.json"), "w"), indent=1)
print(json.dumps(s, indent=1))
PY
phase "done, status $status"
exit $status
