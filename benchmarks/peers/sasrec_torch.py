#!/usr/bin/env python3
"""A plain PyTorch SASRec (Kang & McAuley, ICDM 2018), the peer that seqrec's SASRec is timed against.

Written from the paper and from seqrec's own description of the model, with exactly seqrec's
configuration (examples/seqrec_train.cpp defaults):

  * item embedding shared between input and output, padding id 0; input embeddings scaled by sqrt(d);
    a learned positional embedding added at non-padding positions; dropout on the embedding;
  * 2 blocks, each: n = LN(x); a = Wo . Attention(Wq n, Wk x, Wv x) (1 head, every projection with a
    bias, causal mask and masking of padding keys, dropout on the attention probabilities);
    m = n + a; y = FFN(LN(m)) with FFN(z) = z + Dropout(W2 Dropout(ReLU(W1 z))); padding rows zeroed;
  * a final LN; score(item) = <hidden, item embedding>;
  * loss (--loss): bce (default), BCE of the next item and of one uniform negative (not in the user's training
    history) per non-padding position; ce, the softmax cross-entropy over every item (SASRec+, Klenitskiy &
    Vasilev 2023), logits formed for the non-padding positions only (as seqrec does); sampled-softmax, the
    softmax over the target and --train-negatives uniform negatives; each averaged over non-padding positions;
    Adam lr 1e-3, betas (0.9, 0.98);
  * batch 128 users, maxlen 50, d 50, dropout 0.5; leave-one-out split (last item test, second-to-last
    validation); the training window is the last 50 items of the training sequence: inputs s[0..n-2]
    right-aligned, targets shifted by one.

The windows keep all 50 positions (the usual dense formulation), so this is the "plain" implementation:
it computes the padding positions too.

    python3 benchmarks/peers/sasrec_torch.py --epochs 2 --threads 2 [--eval] [--device cuda]

stdout: one JSON line per epoch {"impl":"pytorch","epoch":..,"seconds":..,"loss":..}, then (with --eval)
{"impl":"pytorch","test_hr10":..,"test_ndcg10":..}, then a final
{"impl":"pytorch","seconds_per_epoch":..,"peak_rss_mb":..,"torch_version":..}.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------------------------- data
def default_data_dir():
    env = os.environ.get("SEQREC_DATA")
    if env:
        return env
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    return os.path.join(repo, "..", "shared", "data")


def read_sasrec(path):
    """`user item` per line, chronological within a user. Returns (list of item arrays by user, num_items)."""
    raw = np.loadtxt(path, dtype=np.int64, ndmin=2)
    users, items = raw[:, 0], raw[:, 1]
    num_items = int(items.max())
    order = np.argsort(users, kind="stable")  # keeps the chronological order within each user
    users, items = users[order], items[order]
    uniq, starts = np.unique(users, return_index=True)
    ends = np.append(starts[1:], len(users))
    seqs = [items[s:e] for s, e in zip(starts, ends)]
    return seqs, num_items


def leave_one_out(seqs):
    """train, valid item, test item per user; users with < 3 interactions train on all and are not evaluated."""
    train, valid, test = [], [], []
    for s in seqs:
        if len(s) < 3:
            train.append(s)
            valid.append(0)
            test.append(0)
        else:
            train.append(s[:-2])
            valid.append(int(s[-2]))
            test.append(int(s[-1]))
    return train, np.array(valid), np.array(test)


def right_aligned(seq, maxlen):
    out = np.zeros(maxlen, dtype=np.int64)
    seq = seq[-maxlen:]
    if len(seq):
        out[maxlen - len(seq):] = seq
    return out


class NegativeSampler:
    """Uniform items in [1, num_items] not in a given per-user item set, vectorised by rejection."""

    def __init__(self, sets, num_items, rng):
        self.n = num_items
        self.rng = rng
        keys = [u * (num_items + 1) + np.unique(s) for u, s in enumerate(sets) if len(s)]
        self.keys = np.sort(np.concatenate(keys)) if keys else np.zeros(0, np.int64)

    def _taken(self, users, items):
        k = users * (self.n + 1) + items
        i = np.searchsorted(self.keys, k)
        i = np.minimum(i, len(self.keys) - 1)
        return self.keys[i] == k

    def sample(self, users, shape):
        """users: [B]; returns [B, *shape] items none of which is in the corresponding user's set."""
        u = np.broadcast_to(users.reshape((-1,) + (1,) * len(shape)), (len(users),) + tuple(shape)).ravel()
        out = self.rng.integers(1, self.n + 1, size=u.shape[0])
        bad = np.nonzero(self._taken(u, out))[0]
        while bad.size:
            out[bad] = self.rng.integers(1, self.n + 1, size=bad.size)
            bad = bad[self._taken(u[bad], out[bad])]
        return out.reshape((len(users),) + tuple(shape))


# -------------------------------------------------------------------------------------------- model
class CausalSelfAttention(nn.Module):
    """Attention(Wq n, Wk x, Wv x) with one or more heads, causal + padding-key mask, then Wo."""

    def __init__(self, d, heads, dropout):
        super().__init__()
        assert d % heads == 0
        self.h, self.dh = heads, d // heads
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def forward(self, queries, x, allowed):
        # allowed: [B, 1, L, L] bool, True where query i may attend to key j (j <= i and j not padding)
        B, L, d = x.shape
        q = self.wq(queries).view(B, L, self.h, self.dh).transpose(1, 2)
        k = self.wk(x).view(B, L, self.h, self.dh).transpose(1, 2)
        v = self.wv(x).view(B, L, self.h, self.dh).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh)
        # A padding query has no allowed key; a large finite negative keeps its softmax finite, and its
        # row is zeroed by the caller's padding mask.
        s = s.masked_fill(~allowed, torch.finfo(s.dtype).min)
        p = self.drop(torch.softmax(s, dim=-1))
        ctx = (p @ v).transpose(1, 2).reshape(B, L, d)
        return self.wo(ctx)


class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-8)
        self.attn = CausalSelfAttention(d, heads, dropout)
        self.ln2 = nn.LayerNorm(d, eps=1e-8)
        self.ff1, self.ff2 = nn.Linear(d, d), nn.Linear(d, d)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x, allowed, keep):
        n = self.ln1(x)
        m = n + self.attn(n, x, allowed)
        z = self.ln2(m)
        y = z + self.drop2(self.ff2(self.drop1(F.relu(self.ff1(z)))))
        return y * keep


class SASRec(nn.Module):
    def __init__(self, num_items, d=50, maxlen=50, blocks=2, heads=1, dropout=0.5):
        super().__init__()
        self.d = d
        self.items = nn.Embedding(num_items + 1, d, padding_idx=0)
        self.pos = nn.Embedding(maxlen, d)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(blocks))
        self.final_ln = nn.LayerNorm(d, eps=1e-8)
        self.register_buffer("causal", torch.tril(torch.ones(maxlen, maxlen, dtype=torch.bool)))
        # seqrec's initialisation: N(0, 1/sqrt(d)) embeddings, Xavier linears with zero biases.
        nn.init.normal_(self.items.weight, std=1.0 / math.sqrt(d))
        with torch.no_grad():
            self.items.weight[0].zero_()
        nn.init.normal_(self.pos.weight, std=1.0 / math.sqrt(d))
        for mod in self.modules():
            if isinstance(mod, nn.Linear):
                nn.init.xavier_uniform_(mod.weight)
                nn.init.zeros_(mod.bias)

    def encode(self, ids):
        """ids [B, L] (0 = padding, left-padded) -> hidden [B, L, d]."""
        B, L = ids.shape
        real = ids != 0
        keep = real.unsqueeze(-1).to(self.items.weight.dtype)
        positions = torch.arange(L, device=ids.device).expand(B, L)
        x = self.items(ids) * math.sqrt(self.d) + self.pos(positions) * keep
        x = self.drop(x)
        allowed = (self.causal[:L, :L].unsqueeze(0) & real.unsqueeze(1)).unsqueeze(1)  # [B, 1, L, L]
        for b in self.blocks:
            x = b(x, allowed, keep)
        return self.final_ln(x)

    def loss(self, ids, pos, neg, kind="bce"):
        h = self.encode(ids)
        if kind == "ce":
            real = pos != 0
            logits = h[real] @ self.items.weight[1:].T  # [positions, N]; item i is column i - 1
            return F.cross_entropy(logits, pos[real] - 1)
        if kind == "sampled-softmax":  # neg [B, L, K]
            real = pos != 0
            cand = torch.cat([pos[real].unsqueeze(-1), neg[real]], dim=-1)  # [positions, 1 + K]
            logits = torch.einsum("pd,pcd->pc", h[real], self.items(cand))
            return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device))
        pos_logit = (h * self.items(pos)).sum(-1)
        neg_logit = (h * self.items(neg)).sum(-1)
        mask = (pos != 0).to(h.dtype)
        l = F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit), reduction="none") + \
            F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit), reduction="none")
        return (l * mask).sum() / mask.sum()

    def score(self, ids, candidates):
        """ids [B, L], candidates [B, C] -> scores [B, C] from the last position."""
        h = self.encode(ids)[:, -1, :]
        return torch.einsum("bd,bcd->bc", h, self.items(candidates))


# ------------------------------------------------------------------------------------------- driver
def evaluate_test(model, train, valid, test, seqs, num_items, maxlen, negatives, seed, max_users, dev):
    """Sampled test HR@10 / NDCG@10: input = training prefix + validation item; the test item ranked
    against `negatives` uniform items the user never interacted with."""
    rng = np.random.default_rng(seed + 7777)
    users = np.array([u for u in range(len(seqs)) if test[u] != 0])
    if max_users and len(users) > max_users:
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    sampler = NegativeSampler(seqs, num_items, rng)
    hr = ndcg = 0.0
    model.eval()
    with torch.no_grad():
        for s in range(0, len(users), 256):
            ub = users[s:s + 256]
            ids = np.stack([right_aligned(np.append(train[u], valid[u]), maxlen) for u in ub])
            cands = np.concatenate([test[ub][:, None], sampler.sample(ub, (negatives,))], axis=1)
            sc = model.score(torch.from_numpy(ids).to(dev), torch.from_numpy(cands).to(dev))
            rank = (sc[:, 1:] > sc[:, :1]).sum(1).cpu().numpy()  # 0-based rank of the true item
            hit = rank < 10
            hr += hit.sum()
            ndcg += (hit / np.log2(rank + 2.0)).sum()
    model.train()
    return hr / len(users), ndcg / len(users), len(users)



def peer_arguments(doc, add_model_arguments):
    """The command line every PyTorch peer shares, with the model's own options in between."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="games/games.txt", help="absolute, or relative to $SEQREC_DATA")
    ap.add_argument("--format", default="sasrec", choices=["sasrec"])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--maxlen", type=int, default=50)
    ap.add_argument("--dim", type=int, default=50)
    add_model_arguments(ap)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--eval", action="store_true", help="sampled test HR@10/NDCG@10 after training")
    ap.add_argument("--negatives", type=int, default=100)
    ap.add_argument("--max-eval-users", type=int, default=0, help="seeded sample of evaluated users (0: all)")
    ap.add_argument("--device", default="cpu", help="cpu | cuda")
    return ap.parse_args()


def peer_setup(a):
    """Threads, seeds and the leave-one-out split of --data: (dev, rng, path, t0, seqs, num_items, train, valid,
    test), t0 the start of reading."""
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    path = a.data if os.path.isabs(a.data) or os.path.exists(a.data) else os.path.join(default_data_dir(), a.data)
    t0 = time.perf_counter()
    seqs, num_items = read_sasrec(path)
    train, valid, test = leave_one_out(seqs)
    return dev, rng, path, t0, seqs, num_items, train, valid, test


def train_and_report(a, model, opt, inputs, targets, trainable, sampler, rng, dev, data):
    """The timed epochs, the optional test and the final JSON line, shared by the PyTorch peers (same loop,
    same output): data = (train, valid, test, seqs, num_items, maxlen)."""
    train, valid, test, seqs, num_items, L = data
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model.train()
    times = []
    for epoch in range(1, a.epochs + 1):
        sync()
        t0 = time.perf_counter()
        order = rng.permutation(len(trainable))
        loss_sum, nb = 0.0, 0
        for s in range(0, len(order), a.batch):
            rows = order[s:s + a.batch]
            ids, pos = inputs[rows], targets[rows]
            kind = getattr(a, "loss", "bce")
            if kind == "ce":
                neg = pos  # unused
            elif kind == "sampled-softmax":
                neg = sampler.sample(trainable[rows], (L, a.train_negatives)) * (pos != 0)[..., None]
            else:
                neg = sampler.sample(trainable[rows], (L,)) * (pos != 0)
            tensors = [torch.from_numpy(x).to(dev, non_blocking=True) for x in (ids, pos, neg)]
            loss = model.loss(*tensors, kind) if kind != "bce" else model.loss(*tensors)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            nb += 1
        loss_sum = float(loss_sum)  # one device sync per epoch, not per batch
        sync()
        sec = time.perf_counter() - t0
        times.append(sec)
        print(json.dumps({"impl": "pytorch", "epoch": epoch, "seconds": sec, "loss": loss_sum / nb,
                          "objective": getattr(a, "loss", "bce")}), flush=True)

    if a.eval:
        t0 = time.perf_counter()
        hr, ndcg, n = evaluate_test(model, train, valid, test, seqs, num_items, L, a.negatives, a.seed,
                                    a.max_eval_users, dev)
        print(json.dumps({"impl": "pytorch", "test_hr10": hr, "test_ndcg10": ndcg, "evaluated_users": n,
                          "negatives": a.negatives, "eval_seconds": time.perf_counter() - t0}), flush=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({"impl": "pytorch", "epochs": a.epochs, "seconds_per_epoch": sum(times) / len(times),
                      "peak_rss_mb": peak_mb, "torch_version": torch.__version__, "threads": a.threads,
                      "device": str(dev)}),
          flush=True)


def main():
    a = peer_arguments(__doc__, lambda ap: (ap.add_argument("--blocks", type=int, default=2),
                                            ap.add_argument("--heads", type=int, default=1),
                                            ap.add_argument("--loss", default="bce",
                                                            choices=["bce", "ce", "sampled-softmax"]),
                                            ap.add_argument("--train-negatives", type=int, default=256)))
    dev, rng, path, t0, seqs, num_items, train, valid, test = peer_setup(a)
    L = a.maxlen
    trainable = np.array([u for u, s in enumerate(train) if len(s) >= 2])
    inputs = np.stack([right_aligned(train[u][:-1], L) for u in trainable])
    targets = np.stack([right_aligned(train[u][1:], L) for u in trainable])
    sampler = NegativeSampler(train, num_items, rng)
    print(f"sasrec_torch: {path}: {len(seqs)} users ({len(trainable)} trainable), {num_items} items, "
          f"read in {time.perf_counter() - t0:.2f} s; torch {torch.__version__}, {torch.get_num_threads()} threads",
          file=sys.stderr)

    model = SASRec(num_items, a.dim, L, a.blocks, a.heads, a.dropout).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98))
    train_and_report(a, model, opt, inputs, targets, trainable, sampler, rng, dev,
                     (train, valid, test, seqs, num_items, L))

if __name__ == "__main__":
    main()
