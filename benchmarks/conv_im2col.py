"""Time the book's ``conv2d_im2col`` against ``torch.nn.functional.conv2d`` on digit-sized batches.

Two layers of the chapter's digit CNN are timed, forward only under
``torch.no_grad()``: ``C=1 -> O=16`` on the 8×8 digits themselves and
``C=16 -> O=32`` on 16 feature maps of 8×8, both with kernel size ``F=3`` and padding 1,
on a batch of ``N=64`` real digits from scikit-learn (the second layer's input
is the first layer's ReLU output). Each measurement runs the call ``--number``
times; it is repeated ``--repeats`` times, the two implementations alternating
so that a change in machine load hits both, and the best (least disturbed)
repeat counts. The script checks that the outputs agree, prints both times per
call and the ratio im2col / F.conv2d per layer, and exits 1 when a ratio
exceeds ``--max-ratio`` (default 5).

Usage::

    python benchmarks/conv_im2col.py [--repeats 7] [--number 50] [--threads 1] [--max-ratio 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from dlfoundations.conv import conv2d_im2col
from dlfoundations.digits import load_digits_tensors
from dlfoundations.seed import make_generator


def best_time(fn: Callable[[], torch.Tensor], number: int) -> float:
    """Seconds per call of one repeat of ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; the best counts (default 7)")
    parser.add_argument("--number", type=int, default=50, help="calls per repeat (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--max-ratio", type=float, default=5.0, help="fail above this im2col/F.conv2d ratio (default 5)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.number < 1 or args.threads < 1:
        parser.error(f"expected --repeats, --number and --threads >= 1, got {args.repeats}, {args.number}, {args.threads}")
    torch.set_num_threads(args.threads)

    g = make_generator(0)
    X, _ = load_digits_tensors()
    X = (X[:64] / 16.0).reshape(64, 1, 8, 8)  # (N, C, H, W) = (64, 1, 8, 8)
    w1, b1 = torch.randn(16, 1, 3, 3, generator=g) / 3, torch.randn(16, generator=g) / 3
    w2, b2 = torch.randn(32, 16, 3, 3, generator=g) / 12, torch.randn(32, generator=g) / 12
    A1 = torch.relu(F.conv2d(X, w1, b1, padding=1))  # (64, 16, 8, 8): the second layer's input
    layers = [("C=1 -> O=16", X, w1, b1), ("C=16 -> O=32", A1, w2, b2)]

    print(f"N=64 digits, 8x8, kernel size F=3, padding 1; best of {args.repeats} x {args.number} calls, {args.threads} thread(s)")
    print(f"{'layer':14s} {'F.conv2d (us)':>14s} {'im2col (us)':>12s} {'ratio':>7s}")
    worst = 0.0
    with torch.no_grad():
        for name, inp, weight, bias in layers:
            ours = lambda: conv2d_im2col(inp, weight, bias, stride=1, padding=1)  # noqa: E731
            ref = lambda: F.conv2d(inp, weight, bias, stride=1, padding=1)  # noqa: E731
            torch.testing.assert_close(ours(), ref(), rtol=1e-4, atol=1e-5)
            ours(), ref()  # warm-up
            t_ours, t_ref = [], []
            for r in range(args.repeats):
                # Alternate the order (AB, BA, ...) so drifting load is shared.
                pair = [(t_ours, ours), (t_ref, ref)] if r % 2 == 0 else [(t_ref, ref), (t_ours, ours)]
                for times, fn in pair:
                    times.append(best_time(fn, args.number))
            ratio = min(t_ours) / min(t_ref)
            worst = max(worst, ratio)
            print(f"{name:14s} {min(t_ref) * 1e6:14.1f} {min(t_ours) * 1e6:12.1f} {ratio:7.2f}")
    verdict = "within" if worst <= args.max_ratio else "ABOVE"
    print(f"worst ratio im2col / F.conv2d = {worst:.2f}: {verdict} the target of {args.max_ratio:g}x")
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
