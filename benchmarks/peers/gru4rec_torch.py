#!/usr/bin/env python3
"""A plain PyTorch GRU4Rec-style model, the peer that seqrec's `seqrec-train --model gru4rec` is timed against.

Exactly seqrec's default configuration (examples/seqrec_train.cpp, sequential_recommender.hpp,
sequence/recurrent_encoder.hpp, sequence/gru.hpp):

  * item embedding (d 50) shared between input and output, padding id 0, N(0, 1/sqrt(d)), NOT scaled;
  * dropout 0.5 on the embedded input, 1 GRU layer (hidden = d = 50, PyTorch's gate convention, Xavier
    uniform weights, zero biases), dropout 0.5 on the GRU's output; score(item) = <hidden, item embedding>;
  * loss: BCE of the next item and of one uniform negative (not in the user's training history) per
    non-padding position, averaged over non-padding positions; Adam lr 1e-3, betas (0.9, 0.98), eps 1e-8;
  * batch 128 users, maxlen 50; leave-one-out split; the training window is the last 50 items of the training
    sequence: inputs s[0..n-2], targets shifted by one. Same data loading and sampler as sasrec_torch.py.

seqrec's GRU runs over left-padded windows and carries the (zero) state through the padding. Here the
windows are left-ALIGNED instead (padding at the end), so nn.GRU starts from h = 0 at the first real item
and the states at real positions are exactly seqrec's; the padding positions after them are computed and
masked out of the loss (the usual dense formulation, no packing): the "plain" implementation.

    python3 benchmarks/peers/gru4rec_torch.py --epochs 2 --threads 2 [--eval] [--device cuda]

stdout: the same JSON lines as sasrec_torch.py: one per epoch {"impl":"pytorch","epoch":..,"seconds":..,"loss":..},
then (with --eval) {"impl":"pytorch","test_hr10":..,"test_ndcg10":..}, then a final
{"impl":"pytorch","seconds_per_epoch":..,"peak_rss_mb":..,"torch_version":..}.
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sasrec_torch import NegativeSampler, peer_arguments, peer_setup, train_and_report  # noqa: E402


def left_aligned(seq, maxlen):
    """The last maxlen items of seq at the start of the window, padding (0) after them."""
    out = np.zeros(maxlen, dtype=np.int64)
    seq = seq[-maxlen:]
    out[:len(seq)] = seq
    return out


class GRU4Rec(nn.Module):
    def __init__(self, num_items, d=50, layers=1, dropout=0.5):
        super().__init__()
        self.items = nn.Embedding(num_items + 1, d, padding_idx=0)
        self.drop_in, self.drop_out = nn.Dropout(dropout), nn.Dropout(dropout)
        self.gru = nn.GRU(d, d, num_layers=layers, batch_first=True)
        # seqrec's initialisation: N(0, 1/sqrt(d)) embedding, Xavier weights ([in, 3H] there, [3H, in] here:
        # the same bound), zero biases.
        nn.init.normal_(self.items.weight, std=1.0 / math.sqrt(d))
        with torch.no_grad():
            self.items.weight[0].zero_()
        for name, p in self.gru.named_parameters():
            if name.startswith("weight"):
                nn.init.xavier_uniform_(p)
            else:
                nn.init.zeros_(p)

    def encode(self, ids):
        """ids [B, L] left-aligned (0 = padding at the end) -> states [B, L, d]."""
        h, _ = self.gru(self.drop_in(self.items(ids)))
        return self.drop_out(h)

    def loss(self, ids, pos, neg):
        h = self.encode(ids)
        pos_logit = (h * self.items(pos)).sum(-1)
        neg_logit = (h * self.items(neg)).sum(-1)
        mask = (pos != 0).to(h.dtype)
        l = F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit), reduction="none") + \
            F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit), reduction="none")
        return (l * mask).sum() / mask.sum()

    def score(self, ids, candidates):
        """ids [B, L] RIGHT-aligned (as sasrec_torch.evaluate_test builds them), candidates [B, C] -> [B, C]
        from the state after the last item."""
        B, L = ids.shape
        n = (ids != 0).sum(1)
        j = torch.arange(L, device=ids.device).expand(B, L)
        src = torch.clamp(j + (L - n).unsqueeze(1), max=L - 1)
        left = torch.where(j < n.unsqueeze(1), torch.gather(ids, 1, src), torch.zeros_like(ids))
        h = self.encode(left)
        last = h[torch.arange(B, device=ids.device), torch.clamp(n - 1, min=0)]
        return torch.einsum("bd,bcd->bc", last, self.items(candidates))


def main():
    a = peer_arguments(__doc__, lambda ap: (ap.add_argument("--layers", type=int, default=1)))
    dev, rng, path, t0, seqs, num_items, train, valid, test = peer_setup(a)
    L = a.maxlen
    trainable = np.array([u for u, s in enumerate(train) if len(s) >= 2])
    # The window of seqrec's batcher: the last L (input, target) pairs of the training sequence.
    inputs = np.stack([left_aligned(train[u][-L - 1:-1], L) for u in trainable])
    targets = np.stack([left_aligned(train[u][1:], L) for u in trainable])
    sampler = NegativeSampler(train, num_items, rng)
    print(f"gru4rec_torch: {path}: {len(seqs)} users ({len(trainable)} trainable), {num_items} items, "
          f"read in {time.perf_counter() - t0:.2f} s; torch {torch.__version__}, {torch.get_num_threads()} threads",
          file=sys.stderr)

    model = GRU4Rec(num_items, a.dim, a.layers, a.dropout).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    train_and_report(a, model, opt, inputs, targets, trainable, sampler, rng, dev,
                     (train, valid, test, seqs, num_items, L))

if __name__ == "__main__":
    main()
