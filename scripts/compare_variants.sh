#!/usr/bin/env bash
# Runs seqrec-train once per (variant, seed) on the same settings and prints how each variant compares with
# the first one: mean ± std over seeds of sampled and full-ranking test NDCG@10 / HR@10, and the relative
# change of the means. Every run's final JSON line goes to bench-results/<name>-<date>.jsonl (with the
# variant's label added); the table goes to stderr. Accuracy only: these runs need no quiet machine.
#
#   scripts/compare_variants.sh NAME "COMMON ARGS" "LABEL=ARGS" ["LABEL=ARGS" ...]
#   SEQREC_SEEDS="42 43 44" (default), SEQREC_THREADS (default 1: two comparisons can share the machine),
#   SEQREC_TRAIN (default build/bin/seqrec-train: another build's binary, so a rebuild cannot change a running series)
#
# e.g. the context head against the plain head on MovieLens-100K:
#   scripts/compare_variants.sh context-ml100k "--data ml-100k/u.data --format ml-100k --maxlen 100" \
#     "plain=" "time=--context time" "user=--context user" "time+user=--context time+user"
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SEQREC_ROOT"
[[ $# -ge 3 ]] || { sed -n '2,12p' "$0" >&2; exit 2; }
name=$1 common=$2
shift 2
train=${SEQREC_TRAIN:-build/bin/seqrec-train}
[[ -x $train ]] || "$SEQREC_ROOT/scripts/build.sh" >&2
mkdir -p bench-results
out=bench-results/$name-$(date -u +%Y%m%dT%H%M%SZ).jsonl
: >"$out.tmp"
for variant in "$@"; do
  label=${variant%%=*} args=${variant#*=}
  for seed in ${SEQREC_SEEDS:-42 43 44}; do
    echo "[compare] $label seed $seed: seqrec-train $common $args" >&2
    # shellcheck disable=SC2086  # the argument strings are word lists on purpose
    line=$(OMP_PROC_BIND=false "$train" $common $args --seed "$seed" --eval both --json \
      --threads "${SEQREC_THREADS:-1}" | tail -n 1)
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["variant"]=sys.argv[2]; print(json.dumps(d))' \
      "$line" "$label" >>"$out.tmp"
  done
done
mv "$out.tmp" "$out"
python3 - "$out" >&2 <<'PY'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
labels = list(dict.fromkeys(r["variant"] for r in rows))
keys = ["test_ndcg10", "test_hr10", "full_test_ndcg10", "full_test_hr10"]
def ms(v): return (st.mean(v), st.stdev(v) if len(v) > 1 else 0.0)
base = {k: ms([r[k] for r in rows if r["variant"] == labels[0]])[0] for k in keys}
print(f"{'variant':<14}" + "".join(f"{k:>26}" for k in keys) + f"{'epochs':>8}")
for lab in labels:
    rs = [r for r in rows if r["variant"] == lab]
    cells = []
    for k in keys:
        m, s = ms([r[k] for r in rs])
        rel = f"{100 * (m / base[k] - 1):+.1f}%" if base[k] > 0 and lab != labels[0] else ""
        cells.append(f"{m:.4f}±{s:.4f} {rel:>7}")
    print(f"{lab:<14}" + "".join(f"{c:>26}" for c in cells) + f"{st.mean(r['best_epoch'] for r in rs):>8.0f}")
print(f"{len(rows)} runs, seeds {sorted(set(r['seed'] for r in rows))}; relative: change of the mean vs {labels[0]}")
PY
echo "[compare] wrote $out" >&2
