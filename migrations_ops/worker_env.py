"""Is this process still running the code that is installed? A fingerprint taken at start, compared later.

After ``pip install`` into the workers' environment, a running worker keeps
the modules it already imported while new imports load the new files: a run
then fails with errors like ``cannot import name '_TrimmedRelease' from
'packaging.version'`` that only a restart fixes. A worker records
``environment_fingerprint`` when it starts; a run that fails to import
compares it with the environment now and says so, naming what changed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STALE_MESSAGE = "this worker's environment changed since it started: restart the workers"


@dataclass(frozen=True, slots=True)
class EnvironmentFingerprint:
    """The installed distributions (name -> version) and a sha256 of the portal's own code."""

    distributions: dict[str, str] = field(default_factory=dict)
    code: str = ""

    @property
    def distributions_hash(self) -> str:
        text = "\n".join(f"{k}=={v}" for k, v in sorted(self.distributions.items()))
        return hashlib.sha256(text.encode()).hexdigest()

    def short(self) -> str:
        """``dists:<12 hex> code:<12 hex>``, as the Workers page shows it."""
        return f"dists:{self.distributions_hash[:12]} code:{self.code[:12]}"

    def to_json(self) -> dict[str, Any]:
        return {"distributions": self.distributions_hash, "code": self.code, "count": len(self.distributions)}


def installed_distributions() -> dict[str, str]:
    """Every distribution importable from ``sys.path``, normalised name -> version (first one wins, as imports)."""
    out: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name and name not in out:
            out[name] = dist.version
    return out


def code_hash(roots: Iterable[Path]) -> str:
    """sha256 over the relative paths and contents of the ``.py`` files under ``roots``."""
    h = hashlib.sha256()
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = f"{Path(root).name}/{path.relative_to(root).as_posix()}".encode()
            h.update(len(rel).to_bytes(4, "big") + rel)
            data = path.read_bytes()
            h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def environment_fingerprint(code_roots: Iterable[Path]) -> EnvironmentFingerprint:
    """Take the fingerprint now (reads package metadata and the code files; tens of milliseconds)."""
    return EnvironmentFingerprint(installed_distributions(), code_hash(code_roots))


def changes(before: EnvironmentFingerprint, now: EnvironmentFingerprint) -> list[str]:
    """What differs, one line each: ``packaging 24.0 -> 25.0``, ``+new-dist 1.0``, ``portal code changed``."""
    out = []
    for name in sorted(set(before.distributions) | set(now.distributions)):
        old, new = before.distributions.get(name), now.distributions.get(name)
        if old != new:
            out.append(f"{name} {old or '(absent)'} -> {new or '(removed)'}")
    if before.code != now.code:
        out.append("the portal's code changed")
    return out
