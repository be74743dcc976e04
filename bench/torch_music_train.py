#!/usr/bin/env python3
"""Train the next-step piano-roll model of `gated train` in PyTorch, with the same protocol.

A cross-check for issue #3: does Gated's training reach what PyTorch reaches with the same model,
optimiser, batching and loss? Prints one JSON line per epoch (train NLL as a running figure over the
epoch, valid NLL of the weights after it) and a final line with the best validation epoch and its
test NLL. NLL is nats per predicted step over the whole split, as Gated measures it.

Model: nn.GRU / nn.LSTM / nn.RNN(tanh) of one layer (PyTorch's own cell forms) + Linear(H, 88) with
sigmoid outputs; every sequence of T steps predicts steps 1..T-1 from 0..T-2. Adam, mini-batches of
sequences in a random order, mean NLL per predicted step of the batch, gradient norm clipped at 1,
learning rate halved after --decay-patience epochs without a better validation NLL, early stopping
after --patience. Single-threaded by default.

Usage (Debian python3-torch 1.13; the JSON data sets of ../shared/data/polyphonic):
  python3 bench/torch_music_train.py --data ../shared/data/polyphonic/nottingham.json --cell gru --hidden 46
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn

KEYS = 88


def load(path):
    with open(path) as f:
        d = json.load(f)

    def rolls(split):
        out = []
        for seq in d[split]:
            if len(seq) < 2:
                continue
            x = torch.zeros(len(seq), KEYS)
            for t, notes in enumerate(seq):
                for p in notes:
                    x[t, p - 21] = 1.0
            out.append(x)
        return out

    return rolls("train"), rolls("valid"), rolls("test")


class Model(nn.Module):
    def __init__(self, cell, hidden):
        super().__init__()
        kind = {"gru": nn.GRU, "lstm": nn.LSTM, "tanh": nn.RNN}[cell]
        self.rnn = kind(KEYS, hidden)
        self.head = nn.Linear(hidden, KEYS)

    def forward(self, packed):
        out, _ = self.rnn(packed)
        return self.head(out.data)


def batch(seqs):
    inputs = [s[:-1] for s in seqs]
    targets = [s[1:] for s in seqs]
    pi = nn.utils.rnn.pack_sequence(inputs, enforce_sorted=False)
    pt = nn.utils.rnn.pack_sequence(targets, enforce_sorted=False)
    return pi, pt.data


def nll_sum(model, seqs, size=64):
    model.eval()
    total, steps = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(seqs), size):
            x, y = batch(seqs[i:i + size])
            logits = model(x)
            total += nn.functional.binary_cross_entropy_with_logits(logits.double(), y.double(), reduction="sum").item()
            steps += y.shape[0]
    return total / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--cell", default="gru", choices=["gru", "lstm", "tanh"])
    ap.add_argument("--hidden", type=int, default=46)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--decay-patience", type=int, default=3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    train, valid, test = load(a.data)
    model = Model(a.cell, a.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    params = sum(p.numel() for p in model.parameters())
    best, best_epoch, since, since_decay, lr = math.inf, 0, 0, 0, a.lr
    best_state = None
    start = time.perf_counter()
    g = torch.Generator().manual_seed(a.seed)
    for epoch in range(1, a.epochs + 1):
        if since >= a.patience:
            break
        model.train()
        order = torch.randperm(len(train), generator=g).tolist()
        total, steps = 0.0, 0
        for i in range(0, len(order), a.batch_size):
            x, y = batch([train[j] for j in order[i:i + a.batch_size]])
            logits = model(x)
            loss_sum = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
            loss = loss_sum / y.shape[0]
            opt.zero_grad()
            loss.backward()
            if a.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            total += loss_sum.item()
            steps += y.shape[0]
        v = nll_sum(model, valid)
        if v < best:
            best, best_epoch, since, since_decay = v, epoch, 0, 0
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        else:
            since += 1
            since_decay += 1
            if since_decay >= a.decay_patience:
                lr *= 0.5
                since_decay = 0
                for group in opt.param_groups:
                    group["lr"] = lr
        print(json.dumps({"epoch": epoch, "train": total / steps, "valid": v, "lr": lr,
                          "seconds": time.perf_counter() - start}), flush=True)
    model.load_state_dict(best_state)
    print(json.dumps({"cell": a.cell, "hidden": a.hidden, "parameters": params, "best_epoch": best_epoch,
                      "train": nll_sum(model, train), "valid": best, "test": nll_sum(model, test),
                      "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
