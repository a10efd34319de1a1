"""Samples per second of the two ways the book reads data, on NoisySine.

Compares a ``DataLoader`` over the map-style :class:`~dlfoundations.data.NoisySine`
(one ``__getitem__`` per sample, then the default collate stacks them) with
:class:`~dlfoundations.data.InMemoryLoader` (one index operation per batch) on
the same data and batch size. Each throughput is the best of several full
passes (:func:`dlfoundations.data.measure_throughput`), the pass least
disturbed by other work on the machine. Target: the in-memory loader at least
5x faster. Exits 1 when it is not.

Usage::

    .venv/bin/python benchmarks/loader_throughput.py [--n-samples 20000] [--batch-size 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch.utils.data import DataLoader

from dlfoundations.data import InMemoryLoader, NoisySine, measure_throughput

TARGET_SPEEDUP = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.n_samples < 1 or args.batch_size < 1 or args.repeats < 1:
        parser.error(
            f"--n-samples, --batch-size and --repeats must be >= 1, got "
            f"{args.n_samples}, {args.batch_size}, {args.repeats}"
        )

    torch.set_num_threads(1)  # the loaders are Python-bound; one thread is a fair, quiet measurement
    data = NoisySine(args.n_samples, seed=0)
    per_sample = DataLoader(data, batch_size=args.batch_size)
    in_memory = InMemoryLoader(data.X, data.y, batch_size=args.batch_size)

    slow = measure_throughput(per_sample, num_repeats=args.repeats)
    fast = measure_throughput(in_memory, num_repeats=args.repeats)
    ratio = fast / slow
    print(f"NoisySine, N = {args.n_samples}, batch size {args.batch_size}, best of {args.repeats} passes")
    print(f"{'DataLoader (per-sample __getitem__ + collate)':48s} {slow:14,.0f} samples/s")
    print(f"{'InMemoryLoader (one slice per batch)':48s} {fast:14,.0f} samples/s")
    print(f"{'speed-up':48s} {ratio:14.1f}x  (target >= {TARGET_SPEEDUP:.0f}x)")
    return 0 if ratio >= TARGET_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())
