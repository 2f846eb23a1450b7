"""Paired A/B of two ganlib builds on single 3x3 stride-1 padding-1 convolutions, in one process.

For each shape, one compiled function computes the conv's output and the gradients of
sum(conv(x, w) * r) with respect to x and w: conv2d, its input gradient (a transposed conv) and its
weight gradient, i.e. one layer's forward + backward of a training step.  As in ab_builds.py both
builds are loaded into one process (build B's package as ``ganlib_b``) and alternate (A B, B A, ...);
each run is timed with ``time.process_time`` (CPU time of the process: on a shared machine another
process's load does not count, only cache and frequency effects do).  Reported per shape: the
median ms per call of each build and the median of the per-pair B/A speed ratios with its IQR.

Usage:
    python benchmarks/ab_conv3.py BUILD_A BUILD_B [--threads 1] [--pairs 11] [--min-time 0.15]
                                  [--shapes realnvp,cyclegan,boundary] [--op all|fwd|dx|dw] [--only NAMES] [--wall]
"""
from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

# (name, N, Ci, Co, H, W)
SHAPES = {
    "realnvp": [
        ("nvp 64x32x28x28 -> 32", 64, 32, 32, 28, 28),
        ("nvp 64x32x14x14 -> 32", 64, 32, 32, 14, 14),
        ("nvp 64x4x14x14 -> 32", 64, 4, 32, 14, 14),
        ("nvp 64x32x14x14 -> 8", 64, 32, 8, 14, 14),
        ("nvp 64x1x28x28 -> 32", 64, 1, 32, 28, 28),
        ("nvp 64x32x28x28 -> 2", 64, 32, 2, 28, 28),
        ("nvp 64x2x14x14 -> 32", 64, 2, 32, 14, 14),
        ("nvp 64x32x14x14 -> 4", 64, 32, 4, 14, 14),
    ],
    "cyclegan": [
        ("cyc 16x32x7x7 -> 32", 16, 32, 32, 7, 7),
        ("cyc 16x32x14x14 -> 32", 16, 32, 32, 14, 14),
        ("cyc 16x64x7x7 -> 64", 16, 64, 64, 7, 7),
        ("cyc 16x16x14x14 -> 16", 16, 16, 16, 14, 14),
    ],
    "acai": [  # the ACAI paper's networks at depth 8 (gl.nn.spatial_encoder / spatial_decoder), batch 64
        ("acai 64x8x32x32 -> 8", 64, 8, 8, 32, 32),
        ("acai 64x8x32x32 -> 1", 64, 8, 1, 32, 32),
        ("acai 64x8x16x16 -> 16", 64, 8, 16, 16, 16),
        ("acai 64x16x16x16 -> 8", 64, 16, 8, 16, 16),
        ("acai 64x16x8x8 -> 32", 64, 16, 32, 8, 8),
        ("acai 64x32x8x8 -> 32", 64, 32, 32, 8, 8),
        ("acai 64x64x4x4 -> 64", 64, 64, 64, 4, 4),
        ("acai 64x64x2x2 -> 128", 64, 64, 128, 2, 2),
        ("acai 64x128x2x2 -> 16", 64, 128, 16, 2, 2),
    ],
    "boundary": [  # the fewest image channels on the path (8: an im2col 72 deep)
        ("bnd 64x8x14x14 -> 32", 64, 8, 32, 14, 14),
        ("bnd 16x8x7x7 -> 8", 16, 8, 8, 7, 7),
        ("bnd 64x8x28x28 -> 1", 64, 8, 1, 28, 28),
    ],
}


def runner(lib, N, Ci, Co, H, W, min_time, op="all", clock=time.process_time):
    ops = lib.ops
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, Ci, H, W)).astype(np.float32)
    w = (rng.standard_normal((Co, Ci, 3, 3)) / np.sqrt(9 * Ci)).astype(np.float32)
    r = rng.standard_normal((N, Co, H, W)).astype(np.float32)

    def step(x, w, r):  # op: all three, or one alone (the others are pruned from the program)
        y = ops.conv2d(x, w, 1, 1)
        if op == "fwd":
            return y
        if op in ("dx", "dw"):
            return lib.grad(ops.sum(ops.mul(y, r)), [x if op == "dx" else w])
        return (y, lib.grad(ops.sum(ops.mul(y, r)), [x, w]))

    f = lib.function(step)
    f(x, w, r)
    reps = 1
    while True:  # calls per timed run: at least min_time of CPU
        t0 = clock()
        for _ in range(reps):
            f(x, w, r)
        dt = clock() - t0
        if dt >= min_time:
            break
        reps *= 2

    def run():
        t0 = clock()
        for _ in range(reps):
            f(x, w, r)
        return (clock() - t0) / reps

    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_a")
    p.add_argument("build_b")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pairs", type=int, default=11)
    p.add_argument("--min-time", type=float, default=0.15)
    p.add_argument("--shapes", default="realnvp,cyclegan")
    p.add_argument("--op", choices=("all", "fwd", "dx", "dw"), default="all",
                   help="time the three ops together, or conv2d / the input gradient / the weight gradient alone")
    p.add_argument("--wall", action="store_true", help="wall-clock time (time.perf_counter) instead of the "
                   "process's CPU time: for several threads, where CPU time sums them")
    p.add_argument("--only", default=None, help="comma-separated substrings of the shape names to run")
    a = p.parse_args(argv)
    shapes = [s for k in a.shapes.split(",") for s in SHAPES[k]]
    if a.only:
        shapes = [s for s in shapes if any(o in s[0] for o in a.only.split(","))]
    with tempfile.TemporaryDirectory() as tmp:
        for build, name in ((a.build_a, "ganlib"), (a.build_b, "ganlib_b")):
            shutil.copytree(os.path.join(build, "ganlib"), os.path.join(tmp, name), symlinks=True)
        sys.path.insert(0, tmp)
        libs = [importlib.import_module(m) for m in ("ganlib", "ganlib_b")]
        for lib in libs:
            lib.set_num_threads(a.threads)
        for name, *dims in shapes:
            clock = time.perf_counter if a.wall else time.process_time
            runs = [runner(lib, *dims, a.min_time, a.op, clock) for lib in libs]
            t = [[], []]
            for k in range(a.pairs):
                for j in ((0, 1) if k % 2 == 0 else (1, 0)):
                    t[j].append(runs[j]())
            ratios = sorted(ta / tb for ta, tb in zip(*t))
            q1, q3 = ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]
            print(f"{name:26s} {a.op:3s} A {1e3 * statistics.median(t[0]):8.2f} ms  B {1e3 * statistics.median(t[1]):8.2f} ms"
                  f"  B/A speed {statistics.median(ratios):.3f} [{q1:.3f}, {q3:.3f}]  ({a.threads} thr, "
                  f"{a.pairs} pairs, {'wall' if a.wall else 'CPU'} time)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
