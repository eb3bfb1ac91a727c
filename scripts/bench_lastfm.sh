#!/usr/bin/env bash
# Peer benchmark on HetRec Last.fm (lastfm-2k/user_artists.dat): seqrec's implicit ALS (64 factors, conjugate
# gradient, 15 iterations) against the `implicit` library on the same data in one run, same thread count.
# Both fit the leave-one-out training + validation rows (file order: the file has no timestamps) with weights
# w = log1p(play count) and confidence c = 1 + alpha * w.
#
#   scripts/bench_lastfm.sh        (SEQREC_BENCH_THREADS, default 2; SEQREC_BUILD_DIR, default build)
#
# Needs `pip install implicit`. Not run by CI.
# stdout: both implementations' JSON lines (tagged with "impl"), then one summary line
#   {"bench":"als","data":"lastfm","factors":64,"seqrec_seconds_per_iteration":..,"implicit_seconds_per_iteration":..,"ratio":..}
# (ratio = implicit / seqrec: above 1, seqrec is faster) and a human summary on stderr.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export OMP_PROC_BIND=spread OMP_PLACES=threads
T=${SEQREC_BENCH_THREADS:-2}
K=64
ITERS=15
cd "$SEQREC_ROOT"
BIN=${SEQREC_BUILD_DIR:-build}/bin
if [[ ! -x $BIN/seqrec-complete ]]; then
  echo "[bench_lastfm] $BIN/seqrec-complete missing: build it (scripts/build.sh, or set SEQREC_BUILD_DIR)" >&2
  exit 2
fi
if ! python3 -c 'import implicit' 2>/dev/null; then
  echo "[bench_lastfm] the implicit library is not importable: pip install implicit" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[bench_lastfm] $T threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$BIN/seqrec-complete" --data lastfm-2k/user_artists.dat --format lastfm --weights log1p --method als \
  --factors "$K" --iters "$ITERS" --threads "$T" --protocol full --json | tail -1 | python3 -c \
  "import json,sys; d=json.loads(sys.stdin.read()); d.update(impl='seqrec', factors=$K); print(json.dumps(d))" \
  >"$tmp/seqrec.jsonl"
cat "$tmp/seqrec.jsonl"
python3 benchmarks/peers/implicit_peer.py --data lastfm --weights log1p --threads "$T" --als-factors "$K" \
  --als-iters "$ITERS" --bpr-factors >"$tmp/implicit.jsonl"
cat "$tmp/implicit.jsonl"

python3 - "$tmp/seqrec.jsonl" "$tmp/implicit.jsonl" "$T" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
s = json.loads(open(sys.argv[1]).read())
p = next(json.loads(l) for l in open(sys.argv[2]) if l.strip() and json.loads(l)["method"] == "als")
threads, load = int(sys.argv[3]), sys.argv[4]
out = {"bench": "als", "data": "lastfm", "weights": "log1p", "factors": s["factors"], "iterations": s["iterations"],
       "threads": threads, "seqrec_seconds_per_iteration": s["seconds_per_iteration"],
       "implicit_seconds_per_iteration": p["seconds_per_iteration"],
       "ratio": p["seconds_per_iteration"] / s["seconds_per_iteration"], "loadavg_after": load}
print(json.dumps(out))
print(f"ALS on Last.fm (log1p weights), {s['factors']} factors, {threads} threads (load after: {load}): "
      f"seqrec {s['seconds_per_iteration']:.4f} s/iter, implicit {p['seconds_per_iteration']:.4f} s/iter "
      f"-> seqrec {out['ratio']:.2f}x implicit's speed", file=sys.stderr)
EOF
