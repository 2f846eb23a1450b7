"""Shared benchmark helpers: timing, machine description, RESULTS.md sections."""
from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "RESULTS.md")


def time_per_call(fn: Callable[[], object], min_time: float = 0.2, repeats: int = 7) -> float:
    """Median seconds per call over ``repeats`` blocks, each running >= min_time."""
    fn()  # warm up (compile, caches)
    n, t0 = 1, time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / one))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``## name`` of RESULTS.md."""
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n\n"
    stamp = datetime.date.today().isoformat()
    section = f"## {name}\n\n_{stamp} — {machine()}_\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"## {re.escape(name)}\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _: section.rstrip() + "\n", text) if pattern.search(text) else text + section
    with open(RESULTS, "w") as f:
        f.write(text)
