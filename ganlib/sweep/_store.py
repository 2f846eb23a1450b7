"""Where a sweep keeps its records: one JSON file per finished trial.

Layout of an ``out`` directory::

    out/sweep.json              the sweep's identity: format, trial name and code fingerprint
    out/trials/<key>.json       one record per finished configuration (done or failed)

Every file is written atomically (a temporary file renamed over the target), so
a reader, or a rerun after a kill at any moment, sees whole records only. A
record's name is its configuration's key, so a configuration has at most one
record whatever happens.

Examples
--------
>>> store = open_store("runs/ring", {"name": "mytrials.ring", "code": "0123456789abcdef"})   # doctest: +SKIP
>>> store.keys()                                                                             # doctest: +SKIP
{'3f2a...'}
"""
from __future__ import annotations

import datetime
import json
import os
from typing import Any

from ..io.atomic import write_atomic
from ._config import config_key

__all__ = ["FORMAT", "RECORD_FORMAT", "DiskStore", "MemoryStore", "open_store"]

FORMAT = "ganlib.sweep/1"
RECORD_FORMAT = "ganlib.sweep.record/1"
MANIFEST = "sweep.json"
TRIALS = "trials"


def _write_json(path: str, obj: Any) -> None:
    data = (json.dumps(obj, indent=1, sort_keys=False, allow_nan=True) + "\n").encode()
    write_atomic(path, lambda f: f.write(data))


class MemoryStore:
    """Records kept in memory only (``out=None``): nothing survives the process."""

    def __init__(self) -> None:
        self._records: dict[str, dict] = {}
        self.path = None

    def keys(self) -> set[str]:
        return set(self._records)

    def get(self, key: str) -> dict | None:
        return self._records.get(key)

    def write(self, record: dict) -> None:
        self._records[record["key"]] = record


class DiskStore(MemoryStore):
    """Records in ``path/trials/<key>.json``; see the module docstring."""

    def __init__(self, path: str, trial: dict) -> None:
        super().__init__()
        self.path = os.path.abspath(path)
        self.trials = os.path.join(self.path, TRIALS)
        manifest = os.path.join(self.path, MANIFEST)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"sweep: out={path!r} is a file, not a directory")
        if os.path.exists(manifest):
            self._check_manifest(manifest, trial)
        else:
            entries = [e for e in (os.listdir(self.path) if os.path.isdir(self.path) else []) if not e.startswith(".")]
            if entries:
                raise ValueError(f"sweep: out={path!r} is not empty and holds no {MANIFEST}, so it is not a ganlib "
                                 f"sweep directory (found {sorted(entries)[:5]}); give an empty or new directory")
            os.makedirs(self.trials, exist_ok=True)
            _write_json(manifest, {"format": FORMAT, "trial": trial["name"], "code": trial["code"],
                                   "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                                       timespec="seconds")})
        os.makedirs(self.trials, exist_ok=True)
        for e in os.listdir(self.trials):          # temporary files of writes cut short by a kill
            if e.startswith(".tmp-"):
                try:
                    os.unlink(os.path.join(self.trials, e))
                except OSError:
                    pass

    def _check_manifest(self, manifest: str, trial: dict) -> None:
        try:
            with open(manifest) as f:
                m = json.load(f)
            fmt, name, code = m["format"], m["trial"], m["code"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"sweep: {manifest} is damaged ({type(e).__name__}: {e}); give another out "
                             "directory") from None
        if fmt != FORMAT:
            raise ValueError(f"sweep: {manifest} has format {fmt!r}, this ganlib writes {FORMAT!r}")
        if name != trial["name"]:
            raise ValueError(f"sweep: out={self.path!r} holds the records of another sweep (trial {name!r}, not "
                             f"{trial['name']!r}); records of different trials are never mixed: give another "
                             "out directory")
        if code != trial["code"]:
            raise ValueError(f"sweep: out={self.path!r} holds records of {name!r} from different code (fingerprint "
                             f"{code}, the trial now has {trial['code']}); records of a changed trial are never "
                             "mixed with new ones: give a new out directory (or delete this one to start over)")

    def _file(self, key: str) -> str:
        return os.path.join(self.trials, key + ".json")

    def keys(self) -> set[str]:
        return {e[:-5] for e in os.listdir(self.trials) if e.endswith(".json") and not e.startswith(".")}

    def get(self, key: str) -> dict | None:
        rec = self._records.get(key)
        if rec is not None:
            return rec
        path = self._file(key)
        try:
            with open(path) as f:
                rec = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise ValueError(f"sweep: damaged record {path} ({type(e).__name__}: {e}); delete it to run that "
                             "configuration again") from None
        if (not isinstance(rec, dict) or rec.get("key") != key or not isinstance(rec.get("config"), dict)
                or config_key(rec["config"]) != key or rec.get("status") not in ("done", "failed")):
            raise ValueError(f"sweep: damaged record {path} (its key, configuration or status do not match); "
                             "delete it to run that configuration again")
        self._records[key] = rec
        return rec

    def write(self, record: dict) -> None:
        _write_json(self._file(record["key"]), record)
        self._records[record["key"]] = record


def open_store(out: Any, trial: dict) -> MemoryStore:
    """A :class:`DiskStore` for a directory path, a :class:`MemoryStore` for None."""
    if out is None:
        return MemoryStore()
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"sweep: out must be a directory path or None, got {type(out).__name__}")
    return DiskStore(os.fspath(out), trial)
