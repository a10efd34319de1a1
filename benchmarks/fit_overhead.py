"""Time the package's ``fit()`` against a bare hand-written training loop.

Both train the same model (``MLP(1, [32, 32], 1, activation="tanh")``) from the
same initial weights, on the same :class:`~dlfoundations.data.NoisySine` data
read by the same :class:`~dlfoundations.data.InMemoryLoader` (same batch size,
same shuffling seed), with the same optimizer (Adam) and loss (MSE), for the
same number of epochs, and both accumulate the epoch's loss with ``.item()``.
Neither validates, so ``fit`` copies no state. The two are run alternately
in pairs, the order alternating from one pair to the next (fit first, then
bare first), so that a change in machine load hits both; the ratio fit/bare is
taken within each pair and the median over pairs is reported, with each loop's
median and best time. Times are the process's CPU time
(``time.process_time``), which, with one thread, counts the work of the loop
and not the time other processes on a shared machine take. The script exits 1 when the median ratio exceeds
``--max-ratio`` (default 1.10).

Usage::

    python benchmarks/fit_overhead.py [--repeats 11] [--num-epochs 30] [--n-samples 512] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import torch
from torch import nn

from dlfoundations.data import InMemoryLoader, NoisySine
from dlfoundations.models import MLP
from dlfoundations.seed import make_generator
from dlfoundations.train import fit


def bare_loop(model: nn.Module, loader: InMemoryLoader, optimizer: torch.optim.Optimizer, num_epochs: int) -> list[float]:
    """The five steps written out, with the same per-epoch loss bookkeeping as ``fit``."""
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(num_epochs):
        model.train()
        total, count = 0.0, 0
        for X, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X), y)  # model(X): (N, 1)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X)
            count += len(X)
        losses.append(total / count)
    return losses


def _setup(args: argparse.Namespace, state: dict[str, torch.Tensor], data: NoisySine):
    model = MLP(1, [32, 32], 1, activation="tanh")
    model.load_state_dict(state)
    loader = InMemoryLoader(data.X, data.y, batch_size=args.batch_size, shuffle=True, generator=make_generator(1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return model, loader, optimizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=11, help="timed pairs of runs (default 11)")
    parser.add_argument("--num-epochs", type=int, default=30)
    parser.add_argument("--n-samples", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--max-ratio", type=float, default=1.10)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.num_epochs < 1:
        parser.error(f"--repeats and --num-epochs must be >= 1, got {args.repeats} and {args.num_epochs}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    state = MLP(1, [32, 32], 1, activation="tanh").state_dict()
    data = NoisySine(args.n_samples, noise_std=0.1, seed=0)

    def run_fit() -> list[float]:
        model, loader, optimizer = _setup(args, state, data)
        return fit(model, loader, optimizer, nn.MSELoss(), num_epochs=args.num_epochs).train_loss

    def run_bare() -> list[float]:
        model, loader, optimizer = _setup(args, state, data)
        return bare_loop(model, loader, optimizer, args.num_epochs)

    # Same computation, so the same losses: otherwise the timing compares different work.
    if run_fit() != run_bare():
        print("fit() and the bare loop disagree on the losses; the comparison is void", file=sys.stderr)
        return 1
    times: dict[str, list[float]] = {"fit": [], "bare": []}
    for r in range(args.repeats):
        order = [("fit", run_fit), ("bare", run_bare)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)

    steps = args.num_epochs * math.ceil(args.n_samples / args.batch_size)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    best = {name: min(ts) for name, ts in times.items()}
    ratio = statistics.median(f / b for f, b in zip(times["fit"], times["bare"]))
    print(f"{steps} steps per run, {args.repeats} runs each, {args.threads} thread(s)")
    for name in ("bare", "fit"):
        print(f"{name:5s} median {med[name]:.3f} s  best {best[name]:.3f} s  ({1e6 * med[name] / steps:.0f} us/step)")
    print(f"ratio fit/bare: median over pairs {ratio:.3f}, of medians {med['fit'] / med['bare']:.3f}, "
          f"of bests {best['fit'] / best['bare']:.3f} (target <= {args.max_ratio:.2f})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
