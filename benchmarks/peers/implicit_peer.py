#!/usr/bin/env python3
"""Peer for seqrec's completion strategies: the `implicit` library (pip install implicit) fitting ALS and BPR on
the same data seqrec-complete fits, with the same thread count, timing seconds per iteration.

Same data: leave-one-out, fitted on every user's training items plus the validation item (what
`seqrec-complete --target test` fits: each user with >= 3 rows loses the last one). `--data games` (the
default): the SASRec Games file as a binary user x item matrix (w = 1). `--data lastfm`: HetRec Last.fm's
user_artists.dat, rows in file order (it has no timestamps, and seqrec keeps that order), w = log1p(play
count) as `seqrec-complete --weights log1p` (--weights), repeated pairs summed as seqrec's RatingMatrix does.
`--data PATH` reads a file in the Games layout. ALS confidence c = 1 + alpha * w as in seqrec (implicit
multiplies its input by alpha and treats the result as c, so the matrix passed holds 1 + alpha * w and
implicit's alpha is 1). Prints one JSON line per fit.

  python3 benchmarks/peers/implicit_peer.py --threads 2 --als-factors 64 128 --bpr-factors 64
  python3 benchmarks/peers/implicit_peer.py --data lastfm --threads 2 --als-factors 64 --bpr-factors
"""
import argparse
import json
import math
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


def read_lastfm(path, weights):
    """user -> [(artist, w)] in file order, w the play count transformed as seqrec-complete --weights does.
    Header `userID artistID weight`, tab-separated, CRLF line ends."""
    transform = {"raw": float, "log1p": lambda w: math.log1p(float(w)), "binary": lambda w: 1.0}[weights]
    seqs = {}
    with open(path, newline="") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        if header != ["userID", "artistID", "weight"]:
            sys.exit(f"{path}: expected the header userID, artistID, weight; got {header}")
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 3:
                continue
            seqs.setdefault(int(parts[0]), []).append((int(parts[1]), transform(parts[2])))
    return seqs


def fit_matrix(seqs):
    """Training + validation items of every user (leave-one-out drops the last item of users with >= 3) as a
    users x items matrix of weights: 1 per pair for plain item lists, else the (item, w) weights summed.
    Columns are the data's distinct items in id order, as seqrec's dense ids count them (every item of the
    file, held-out ones included), so neither side solves for ids the file skips."""
    import numpy as np
    import scipy.sparse as sp
    item_ids = sorted({(e[0] if isinstance(e, tuple) else e) for s in seqs.values() for e in s})
    column = {i: c for c, i in enumerate(item_ids)}
    rows, cols, vals = [], [], []
    users = sorted(seqs)
    for r, u in enumerate(users):
        items = seqs[u]
        keep = items[:-1] if len(items) >= 3 else items
        if keep and isinstance(keep[0], tuple):
            for i, w in keep:
                rows.append(r)
                cols.append(column[i])
                vals.append(w)
        else:
            for i in set(keep):
                rows.append(r)
                cols.append(column[i])
                vals.append(1.0)
    data = np.asarray(vals, dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(len(users), len(item_ids)), dtype=np.float32)
    m.sum_duplicates()
    return m


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
    ap.add_argument("--data", default="games", help="games | lastfm | a file in the Games layout")
    ap.add_argument("--weights", choices=["raw", "log1p", "binary"], default="log1p",
                    help="lastfm: transform of the play counts (seqrec-complete --weights)")
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

    root = os.environ.get("SEQREC_DATA", "../shared/data")
    if args.data == "lastfm":
        name, seqs = "lastfm", read_lastfm(os.path.join(root, "lastfm-2k/user_artists.dat"), args.weights)
    else:
        name = "games" if args.data == "games" else args.data
        seqs = read_games(os.path.join(root, "games/games.txt") if args.data == "games" else args.data)
    m = fit_matrix(seqs)
    print(f"[implicit {implicit.__version__}] {name}: {m.shape[0]} users, {m.shape[1]} items, "
          f"{m.nnz} pairs, weights {m.data.min():.4g}..{m.data.max():.4g}, {args.threads} threads", file=sys.stderr)
    with threadpool_limits(limits=1, user_api="blas"):
        for k in args.als_factors:
            c = m.copy()
            c.data = 1.0 + args.alpha * c.data
            model = AlternatingLeastSquares(factors=k, regularization=args.reg, alpha=1.0, iterations=args.als_iters,
                                            use_cg=True, num_threads=args.threads, random_state=42)
            total, per = timed_fit(model, c, args.als_iters)
            print(json.dumps({"impl": "implicit", "data": name, "method": "als", "factors": k, "iterations": args.als_iters,
                              "threads": args.threads, "fit_seconds": total,
                              "seconds_per_iteration": sorted(per)[len(per) // 2], "solver": "cg"}))
        for k in args.bpr_factors:
            model = BayesianPersonalizedRanking(factors=k, learning_rate=args.lr, regularization=args.reg,
                                                iterations=args.bpr_epochs, num_threads=args.threads,
                                                random_state=42)
            total, per = timed_fit(model, m, args.bpr_epochs)
            print(json.dumps({"impl": "implicit", "data": name, "method": "bpr", "factors": k, "iterations": args.bpr_epochs,
                              "threads": args.threads, "fit_seconds": total,
                              "seconds_per_iteration": sorted(per)[len(per) // 2]}))


if __name__ == "__main__":
    main()
