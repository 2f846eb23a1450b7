"""Class labels given to a conditional model: checked once, with messages that name the problem."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_labels", "labels_for_sample", "one_hot"]


def check_labels(y: Any, n: int, k: int, what: str, every_class: bool = False) -> np.ndarray:
    """``y`` as int64 class indices, or an error: missing, not integers, not 1-D, not ``n`` of
    them, outside ``[0, k)``, or (``every_class``) a class that never occurs.

    Examples
    --------
    >>> check_labels([0, 2, 1], 3, 3, "fit")
    array([0, 2, 1])
    """
    if y is None:
        raise ValueError(f"{what}: class labels are required (y=...), one integer in [0, {k}) per row")
    arr = np.asarray(y)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        hint = " (cast whole-number floats with y.astype(int))" if arr.dtype.kind == "f" else ""
        raise TypeError(f"{what}: labels must be integers, got dtype {arr.dtype}{hint}")
    if arr.ndim != 1:
        hint = " (one-hot rows? pass y.argmax(axis=1))" if arr.ndim == 2 else ""
        raise ValueError(f"{what}: labels must be a 1-D array of class indices, got shape {arr.shape}{hint}")
    if arr.shape[0] != n:
        raise ValueError(f"{what}: {arr.shape[0]} labels for {n} rows of data")
    bad = (arr < 0) | (arr >= k)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{what}: labels must lie in [0, {k}), got {int(arr[i])} at index {i} "
                         f"({int(bad.sum())} out of range)")
    if every_class:
        missing = np.flatnonzero(np.bincount(arr, minlength=k) == 0)
        if missing.size:
            raise ValueError(f"{what}: class(es) {missing.tolist()} of the {k} classes never occur in the labels; "
                             "a conditional model cannot learn a class it never sees")
    return arr.astype(np.int64)


def labels_for_sample(labels: Any, n: int, k: int, what: str, required: bool = False) -> np.ndarray:
    """The class of each of ``n`` samples: one int for all, ``n`` ints, or (None) the classes in turn."""
    if labels is None:
        if required:
            raise ValueError(f"{what}: labels are required (an int, or one int in [0, {k}) per row)")
        return np.arange(n, dtype=np.int64) % k
    if np.ndim(labels) == 0:
        arr = np.asarray(labels)
        if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
            raise TypeError(f"{what}: a label must be an integer, got {labels!r}")
        labels = np.full(n, int(arr), np.int64)
    return check_labels(labels, n, k, what)


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """float32 one-hot rows (n, k) of int class indices."""
    out = np.zeros((y.shape[0], k), np.float32)
    out[np.arange(y.shape[0]), y] = 1.0
    return out
