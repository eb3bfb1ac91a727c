#!/usr/bin/env bash
# The main job: train SASRec on Amazon Games with the paper's settings (../shared/data/README.md: dim 50,
# 2 blocks, 1 head, maxlen 50, dropout 0.5, Adam 1e-3 with betas 0.9/0.98, batch 128, the item table drawn
# with Xavier's spread as in the authors' code (seqrec-train's default for sasrec); early stop after 60 epochs
# without validation gain, at most 800: the best epoch is near 300), evaluate with the sampled protocol
# (100 negatives) and full ranking, and print the comparison with the paper's row. Extra arguments go to
# seqrec-train (e.g. `scripts/run.sh --epochs 5` for a short run, `--model gru4rec`).
#
# It builds seqrec-train alone (not the tests): about 2.5 minutes on 2 cores from a fresh clone once the
# dependencies are cached. The CUDA Kokkos is not needed here, so the bootstrap skips it (SEQREC_CUDA=0).
set -euo pipefail
export SEQREC_CUDA=${SEQREC_CUDA:-0}
source "$(dirname "$0")/env.sh"
"$SEQREC_ROOT/scripts/build.sh" seqrec-train >&2
exec "$SEQREC_ROOT/build/bin/seqrec-train" --data games/games.txt --format sasrec --model sasrec --maxlen 50 --dim 50 \
  --blocks 2 --heads 1 --dropout 0.5 --lr 0.001 --batch 128 --init-std xavier --epochs 800 --patience 60 --eval-every 1 \
  --eval both --seed 42 "$@"
