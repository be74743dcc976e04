#!/usr/bin/env python3
"""Two trivial next-step models of the four polyphonic data sets, as a yardstick for NLL numbers.

  marginal: every key an independent Bernoulli with its training frequency (88 parameters);
  persist:  every key an independent Bernoulli whose rate depends only on whether that key sounds
            at the current step (176 parameters: p(on | was on), p(on | was off), per key).

Both are fitted on the training split (add-one smoothing) and scored like `gated eval`: nats per
predicted step, the sum of -log p(x_{t+1} | x_t) over the 88 keys, divided by the number of predicted
steps of the split (a sequence of T steps predicts T - 1). Reads the JSON files of the data folder.

Usage: /usr/bin/python3 bench/music_baselines.py [DATA_DIR]   (default ../shared/data/polyphonic)
Needs numpy (Debian's python3-numpy).
"""
import json
import os
import sys

import numpy as np

DATA_SETS = ["jsb", "nottingham", "musedata", "piano-midi"]
KEYS, LOWEST = 88, 21


def rolls(data, split):
    for seq in data[split]:
        x = np.zeros((len(seq), KEYS), dtype=np.int8)
        for t, pitches in enumerate(seq):
            for p in pitches:
                x[t, p - LOWEST] = 1
        yield x


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "data", "polyphonic")
    print("| data set | notes per step (train) | predicted steps (train / test) | marginal train / test | persist train / test |")
    print("|---|---:|---:|---:|---:|")
    for name in DATA_SETS:
        with open(os.path.join(folder, name + ".json")) as f:
            data = json.load(f)
        on, predicted, notes, steps = np.zeros(KEYS), 0, 0, 0
        went_on, seen = np.zeros((2, KEYS)), np.zeros((2, KEYS))
        for x in rolls(data, "train"):
            on += x[1:].sum(0)
            predicted += len(x) - 1
            for state in (0, 1):
                was = x[:-1] == state
                went_on[state] += (x[1:] * was).sum(0)
                seen[state] += was.sum(0)
            notes += x.sum()
            steps += len(x)
        p_marginal = (on + 1) / (predicted + 2)
        p_persist = (went_on + 1) / (seen + 2)
        scores, counts = {}, {}
        for split in ("train", "test"):
            marginal = persist = 0.0
            count = 0
            for x in rolls(data, split):
                y, prev = x[1:], x[:-1]
                marginal += -(y * np.log(p_marginal) + (1 - y) * np.log1p(-p_marginal)).sum()
                p = np.where(prev == 1, p_persist[1], p_persist[0])
                persist += -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum()
                count += len(x) - 1
            scores[split] = (marginal / count, persist / count)
            counts[split] = count
        print(f"| {name} | {notes / steps:.2f} | {counts['train']:,} / {counts['test']:,} | "
              f"{scores['train'][0]:.2f} / {scores['test'][0]:.2f} | {scores['train'][1]:.2f} / {scores['test'][1]:.2f} |")


if __name__ == "__main__":
    main()
