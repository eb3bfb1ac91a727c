#!/usr/bin/env python3
"""Peer for seqrec's completion strategies: the `implicit` library (pip install implicit) fitting ALS and BPR on
the same data seqrec-complete fits, with the same thread count, timing seconds per iteration.

Same data: the SASRec Games file, leave-one-out, fitted on every user's training items plus the validation
item (what `seqrec-complete --target test` fits), as a binary user x item matrix. ALS confidence
c = 1 + alpha * w as in seqrec (implicit multiplies its input by alpha and treats the result as c, so the
matrix passed holds 1 + alpha * w and implicit's alpha is 1). Prints one JSON line per fit.

  python3 benchmarks/peers/implicit_peer.py --threads 2 --als-factors 64 128 --bpr-factors 64
"""
import argparse
import json
import os
import sys
import time


def read_games(path):
    """user -> chronological item list, ids as in the file (users and items from 1)."""
    seqs = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            seqs.setdefault(int(parts[0]), []).append(int(parts[1]))
    return seqs


def fit_matrix(seqs, num_items):
    """Training + validation items of every user (leave-one-out drops the last item of users with >= 3)."""
    import numpy as np
    import scipy.sparse as sp
    rows, cols = [], []
    users = sorted(seqs)
    for r, u in enumerate(users):
        items = seqs[u]
        keep = items[:-1] if len(items) >= 3 else items
        for i in set(keep):
            rows.append(r)
            cols.append(i)
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(users), num_items + 1), dtype=np.float32)


def timed_fit(model, matrix, iterations):
    stamps = []
    t0 = time.perf_counter()
    model.fit(matrix, show_progress=False, callback=lambda *a: stamps.append(time.perf_counter()))
    total = time.perf_counter() - t0
    if len(stamps) == iterations:
        per = [b - a for a, b in zip([t0] + stamps[:-1], stamps)]
    else:
        per = [total / iterations] * iterations
    return total, per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("SEQREC_DATA", "../shared/data"), "games/games.txt"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--als-factors", type=int, nargs="*", default=[64, 128])
    ap.add_argument("--als-iters", type=int, default=15)
    ap.add_argument("--reg", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--bpr-factors", type=int, nargs="*", default=[64])
    ap.add_argument("--bpr-epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit asks for this: its own threads do the work
    import implicit
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from threadpoolctl import threadpool_limits

    seqs = read_games(args.data)
    num_items = max(i for s in seqs.values() for i in s)
    m = fit_matrix(seqs, num_items)
    print(f"[implicit {implicit.__version__}] {m.shape[0]} users, {num_items} items, {m.nnz} pairs, "
          f"{args.threads} threads", file=sys.stderr)
    with threadpool_limits(limits=1, user_api="blas"):
        for k in args.als_factors:
            c = m.copy()
            c.data = 1.0 + args.alpha * c.data
            model = AlternatingLeastSquares(factors=k, regularization=args.reg, alpha=1.0, iterations=args.als_iters,
                                            use_cg=True, num_threads=args.threads, random_state=42)
            total, per = timed_fit(model, c, args.als_iters)
            print(json.dumps({"impl": "implicit", "method": "als", "factors": k, "iterations": args.als_iters,
                              "threads": args.threads, "fit_seconds": total,
                              "seconds_per_iteration": sorted(per)[len(per) // 2], "solver": "cg"}))
        for k in args.bpr_factors:
            model = BayesianPersonalizedRanking(factors=k, learning_rate=args.lr, regularization=args.reg,
                                                iterations=args.bpr_epochs, num_threads=args.threads,
                                                random_state=42)
            total, per = timed_fit(model, m, args.bpr_epochs)
            print(json.dumps({"impl": "implicit", "method": "bpr", "factors": k, "iterations": args.bpr_epochs,
                              "threads": args.threads, "fit_seconds": total,
                              "seconds_per_iteration": sorted(per)[len(per) // 2]}))


if __name__ == "__main__":
    main()
