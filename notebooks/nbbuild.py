"""Shared by the notebook builders: assemble cells, execute with nbclient, write.

Each ``make_*.py`` script defines its cells and calls :func:`main`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def build(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        nb.cells.append(new_code_cell(src) if kind == "code" else new_markdown_cell(src))
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 3600) -> nbformat.NotebookNode:
    from nbclient import NotebookClient
    env_path = os.environ.get("PYTHONPATH", "")
    if ROOT not in env_path.split(os.pathsep):
        os.environ["PYTHONPATH"] = ROOT + (os.pathsep + env_path if env_path else "")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": HERE}})
    client.execute()
    return nb


def main(cells: list, path: str, doc: str, argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--execute", action="store_true", help="run the notebook and store its outputs")
    p.add_argument("-o", "--output", default=path, help="where to write the notebook")
    a = p.parse_args(argv)
    nb = build(cells)
    if a.execute:
        t = time.perf_counter()
        execute(nb)
        print(f"executed in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    nbformat.validate(nb)
    nbformat.write(nb, a.output)
    print(f"wrote {a.output} ({os.path.getsize(a.output) / 1e6:.2f} MB)", file=sys.stderr)
    return 0

