"""Paired A/B of two ganlib builds on a training step (DCGAN, toy GAN or Real NVP), in one process.

On a shared VM the step rate drifts by 10-15 % within a minute, more than most single
changes are worth; timing build A, then build B, mostly measures the drift.  This loads
both builds into one process (the package uses relative imports, so build B's ``ganlib``
directory is imported under the name ``ganlib_b``), alternates short runs of the two
(A B, B A, A B, ...) and reports the median of the per-pair speed ratios with its
interquartile range.

Usage:
    python benchmarks/ab_builds.py BUILD_A BUILD_B [--bench dcgan|gan_toy|wgan_toy] [--threads 2]
                                   [--pairs 24] [--steps 10] [--cpu-time]

BUILD_A / BUILD_B are source trees with the extension built in place
(``python setup.py build_ext --inplace``).  Example: 30 pairs on 2 threads of the thread
pool's 0.3 ms poll against the 30 us one gave B/A 1.093, IQR [1.04, 1.18].
``--bench realnvp`` is the MNIST Real NVP maximum-likelihood step of bench_flows.py (batch 64).
``--cpu-time`` times with ``time.process_time`` (the process's CPU time, all its threads) instead of
wall-clock time: with one thread, other processes' load on a shared machine then counts less.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_a")
    p.add_argument("build_b")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pairs", type=int, default=24)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--bench", choices=("dcgan", "gan_toy", "wgan_toy", "realnvp"), default="dcgan",
                   help="the DCGAN step on MNIST, bench_gan_toy's non-saturating / WGAN-GP step, or "
                        "bench_flows' Real NVP MLE step on MNIST")
    p.add_argument("--cpu-time", action="store_true", help="time.process_time instead of wall-clock time "
                   "(realnvp only)")
    p.add_argument("--data", default=None, help="MNIST directory (default: $GANLIB_DATA or ../shared/data/mnist)")
    a = p.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data_dir = a.data or os.environ.get("GANLIB_DATA") or os.path.join(root, "..", "shared", "data", "mnist")
    with tempfile.TemporaryDirectory() as tmp:
        for build, name in ((a.build_a, "ganlib"), (a.build_b, "ganlib_b")):
            src = os.path.join(build, "ganlib")
            if not any(f.startswith("_C") for f in os.listdir(src)):
                p.error(f"{build}: no built extension in {src} (run setup.py build_ext --inplace there)")
            shutil.copytree(src, os.path.join(tmp, name), symlinks=True)
        sys.path.insert(0, tmp)  # before bench_dcgan imports ganlib: build A
        sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
        libs = [importlib.import_module(m) for m in ("ganlib", "ganlib_b")]
        for lib in libs:
            lib.set_num_threads(a.threads)
        if a.bench == "realnvp":
            import bench_flows
            X, _ = libs[0].datasets.mnist(data_dir, "train", scale=None)
            clock = time.process_time if a.cpu_time else time.perf_counter

            def nvp_runner(lib):
                nvp = lib.models.RealNVP(bench_flows.SHAPE, couplings=bench_flows.COUPLINGS, width=bench_flows.WIDTH,
                                         alpha=bench_flows.ALPHA, lr=bench_flows.LR, seed=0)
                nvp.fit(X, steps=3, batch_size=bench_flows.BATCH, log_every=3, progress=False)  # compile, warm up

                def run() -> float:
                    t0 = clock()
                    nvp.fit(X, steps=a.steps, batch_size=bench_flows.BATCH, log_every=a.steps, progress=False)
                    return a.steps / (clock() - t0)
                return run
            runs = [nvp_runner(lib) for lib in libs]
        elif a.bench == "dcgan":
            from bench_dcgan import ganlib_runner
            X, _ = libs[0].datasets.mnist(data_dir, "train", limit=10_000)
            runs = [ganlib_runner(X, a.steps, lib) for lib in libs]
        else:
            import bench_gan_toy
            X = libs[0].datasets.ring(n=50_000, seed=0)
            loss = "nonsaturating" if a.bench == "gan_toy" else "wgan-gp"
            runs = [bench_gan_toy.ganlib_runner(loss, X, a.steps, lib) for lib in libs]
        rates: list[list[float]] = [[], []]
        for k in range(a.pairs):
            for j in ((0, 1) if k % 2 == 0 else (1, 0)):
                rates[j].append(runs[j]())
    ratios = sorted(rb / ra for ra, rb in zip(*rates))
    rate = [statistics.median(r) for r in rates]
    q1, q3 = ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]
    print(f"{a.bench}: A {rate[0]:.2f} steps/s, B {rate[1]:.2f} steps/s ({a.threads} threads, {a.pairs} pairs of "
          f"{a.steps} steps); "
          f"B/A speed: median {statistics.median(ratios):.3f}, IQR [{q1:.3f}, {q3:.3f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
