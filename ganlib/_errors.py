"""The exception type ganlib raises for failures that are not ValueError/TypeError."""
from __future__ import annotations

from . import _C

GanlibError = _C.GanlibError
