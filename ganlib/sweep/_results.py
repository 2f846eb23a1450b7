"""The table a sweep returns, and its per-group summary (mean, std, count).

Examples
--------
>>> res = SweepResults([
...     {"config": {"loss": "ns", "seed": 0}, "status": "done", "result": {"modes": 6}},
...     {"config": {"loss": "ns", "seed": 1}, "status": "done", "result": {"modes": 8}}])
>>> row = res.summary(by=["loss"])[0]
>>> row["loss"], row["count"], row["modes_mean"], round(row["modes_std"], 3)
('ns', 2, 7.0, 1.414)
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

__all__ = ["SweepResults", "Summary"]

_META = ("status", "seconds", "attempts", "host", "key", "error")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("to_pandas() needs pandas, which is not installed: pip install pandas") from None
    return pandas


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


class Summary(list):
    """Rows of per-group statistics: a list of dicts, one per group, in first-seen order.

    Each row holds the grouping keys, ``count`` (records that finished with a
    result), ``failed`` (records that failed) and, for every numeric result
    ``m``: ``m_mean``, ``m_std`` (sample standard deviation, ddof = 1; NaN for a
    single value) and ``m_sem`` (standard error, ``std / sqrt(count)``).

    Examples
    --------
    >>> s = Summary([{"loss": "ns", "count": 2, "failed": 0, "modes_mean": 7.0, "modes_std": 1.0,
    ...               "modes_sem": 0.7}], by=["loss"], metrics=["modes"])
    >>> s.row(loss="ns")["modes_mean"]
    7.0
    """

    def __init__(self, rows: Iterable[dict], by: Sequence[str], metrics: Sequence[str]) -> None:
        super().__init__(rows)
        self.by, self.metrics = list(by), list(metrics)

    def row(self, **values: Any) -> dict:
        """The row whose grouping keys have these values (KeyError if there is none)."""
        unknown = set(values) - set(self.by)
        if unknown:
            raise KeyError(f"Summary.row: {sorted(unknown)} are not grouping keys ({self.by})")
        for r in self:
            if all(r[k] == v for k, v in values.items()):
                return r
        raise KeyError(f"Summary.row: no group with {values}")

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` (needs pandas)."""
        return _pandas().DataFrame(list(self))

    def to_markdown(self, metrics: Sequence[str] | None = None, digits: int = 3, err: str = "std") -> str:
        """A Markdown table with ``mean ± std`` (or ``± sem``) cells.

        Examples
        --------
        >>> print(Summary([{"k": 1, "count": 3, "failed": 0, "m_mean": 0.5, "m_std": 0.1, "m_sem": 0.06}],
        ...               by=["k"], metrics=["m"]).to_markdown(digits=2))
        | k | n | m |
        |---|---:|---:|
        | 1 | 3 | 0.50 ± 0.10 |
        """
        if err not in ("std", "sem"):
            raise ValueError(f"Summary.to_markdown: err must be 'std' or 'sem', got {err!r}")
        metrics = self.metrics if metrics is None else list(metrics)
        head = "| " + " | ".join(self.by + ["n"] + metrics) + " |"
        rule = "|" + "---|" * len(self.by) + "---:|" + "---:|" * len(metrics)
        lines = [head, rule]
        for r in self:
            cells = [str(r[k]) for k in self.by] + [str(r["count"]) + (f" ({r['failed']} failed)" if r["failed"]
                                                                        else "")]
            for m in metrics:
                mean, e = r.get(f"{m}_mean", math.nan), r.get(f"{m}_{err}", math.nan)
                cells.append(f"{mean:.{digits}f} ± {e:.{digits}f}" if not math.isnan(e) else f"{mean:.{digits}f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()


class SweepResults(list):
    """The records of a sweep, one per configuration of the grid, in grid order.

    Each record is a dict: ``key``, ``config``, ``status`` (``"done"`` or
    ``"failed"``), ``result`` (the trial's dict, or None), ``error`` (a
    traceback or the reason a worker died, or None), ``cause``, ``attempts``,
    ``started``, ``finished``, ``seconds``, ``host``, ``pid``, ``threads``,
    ``ganlib_version``, ``python``, ``trial``.

    Attributes
    ----------
    ran, loaded : int
        Configurations run by this call, and records found in ``out`` from before.
    wall_seconds : float
        Wall time of this call.
    """

    def __init__(self, records: Iterable[dict] = (), ran: int = 0, loaded: int = 0,
                 wall_seconds: float = 0.0) -> None:
        super().__init__(records)
        self.ran, self.loaded, self.wall_seconds = ran, loaded, wall_seconds

    @property
    def done(self) -> list[dict]:
        """The records of trials that returned a result."""
        return [r for r in self if r["status"] == "done"]

    @property
    def failed(self) -> list[dict]:
        """The records of trials that raised, or whose worker died ``retries + 1`` times."""
        return [r for r in self if r["status"] == "failed"]

    def _config_keys(self) -> list[str]:
        keys: list[str] = []
        for r in self:
            keys += [k for k in r["config"] if k not in keys]
        return keys

    def rows(self) -> list[dict]:
        """Flat rows: configuration keys, result keys (suffixed `` (result)`` on a clash), then metadata."""
        out = []
        for r in self:
            row = dict(r["config"])
            for k, v in (r.get("result") or {}).items():
                row[k if k not in r["config"] else f"{k} (result)"] = v
            for k in _META:
                row[k] = r.get(k)
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of :meth:`rows` (needs pandas)."""
        return _pandas().DataFrame(self.rows())

    def summary(self, by: Sequence[str] = (), metrics: Sequence[str] | None = None) -> Summary:
        """Mean, std, standard error and count of each numeric result, per group of configurations.

        Parameters
        ----------
        by : list of str
            Configuration keys to group by (every other key, e.g. the seed, is averaged
            over). Empty: one group.
        metrics : list of str, optional
            Result keys to summarise; default every result key whose values are numbers.

        Returns
        -------
        Summary
            Statistics use the ``done`` records that have the metric; NaN values
            propagate (a diverged run shows as NaN, not as a silently dropped seed).
        """
        if isinstance(by, str):
            by = [by]
        by = list(by)
        known = self._config_keys()
        for k in by:
            if k not in known:
                raise KeyError(f"summary: {k!r} is not a configuration key (keys: {known})")
        if metrics is None:
            metrics = []
            for r in self.done:
                metrics += [k for k, v in r["result"].items() if _is_number(v) and k not in metrics]
        groups: dict[tuple, list[dict]] = {}
        for r in self:
            groups.setdefault(tuple(_hashable(r["config"].get(k)) for k in by), []).append(r)
        rows = []
        for gkey, recs in groups.items():
            done = [r for r in recs if r["status"] == "done"]
            row: dict = dict(zip(by, (recs[0]["config"].get(k) for k in by)))
            row["count"], row["failed"] = len(done), len(recs) - len(done)
            for m in metrics:
                vals = [float(r["result"][m]) for r in done if _is_number(r["result"].get(m))]
                n = len(vals)
                mean = sum(vals) / n if n else math.nan
                std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else math.nan
                row[f"{m}_mean"], row[f"{m}_std"] = mean, std
                row[f"{m}_sem"] = std / math.sqrt(n) if n > 1 else math.nan
            rows.append(row)
        return Summary(rows, by, metrics)
