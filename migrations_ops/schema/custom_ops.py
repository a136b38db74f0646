"""Custom Alembic operations: the project's modules that register them, and revisions calling unknown ones.

A project may add ``op.<name>`` operations with
``Operations.register_operation`` / ``implementation_for`` in a module its
``env.py`` imports. Portal mode never runs that env.py, so the project
declares those modules (a ``.py`` path inside the project, or an installed
module name) and ``load_operation_modules`` imports them before any revision
runs. The static side reads, without importing anything, the ``op.<name>``
calls of each revision and the names the declared modules register, so a plan
can flag a call that nothing provides, with its revision, file and line,
before anything runs.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import alembic
from alembic.operations.base import AbstractOperations

from ..errors import OpsError
from .project import ResolvedProject
from .safety import DANGER, Finding

# Instance attributes the ``op`` proxy also exposes.
_OP_ATTRIBUTES = frozenset({"impl", "migration_context", "schema_obj"})
_LOCK = threading.Lock()


class OperationModuleError(OpsError):
    code = "operation_module_error"
    explanation = (
        "A module the project declares for its custom operations cannot be found or imported. Nothing was "
        "run; fix the project's 'operation modules' setting or install the module on the workers."
    )

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(f"Custom operation module {module!r}: {reason}", module=module, reason=reason)


@dataclass(frozen=True, slots=True)
class OpCall:
    """One ``op.<name>`` use in a revision file."""

    name: str
    line: int


@cache
def alembic_operation_names() -> frozenset[str]:
    """What ``alembic.op`` offers by itself: the functions of Alembic's ``op.pyi`` and the base methods.

    Read from Alembic's files, not from ``dir(Operations)``, which also holds
    whatever custom operations this process has registered so far.
    """
    names = set(_OP_ATTRIBUTES)
    stub = Path(alembic.__file__).with_name("op.pyi")
    if stub.is_file():
        tree = ast.parse(stub.read_text(encoding="utf-8"))
        names.update(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
    names.update(n for n in vars(AbstractOperations) if not n.startswith("_"))
    return frozenset(names)


def op_aliases(tree: ast.Module) -> set[str]:
    """Local names bound to ``alembic.op`` (``from alembic import op [as x]``); ``op`` when none is found."""
    found = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "alembic" for a in node.names if a.name == "op"}
    return found or {"op"}


def op_calls(tree: ast.Module) -> tuple[OpCall, ...]:
    """Every ``op.<name>`` attribute used in the file (calls and references), in line order."""
    aliases = op_aliases(tree)
    calls = [OpCall(node.attr, node.lineno) for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases]
    return tuple(sorted(calls, key=lambda c: (c.line, c.name)))


def registered_names(source: str) -> set[str]:
    """Names a module registers: ``Operations.register_operation("name"[, "sourcename"])`` literal arguments."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    out = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "register_operation" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.add(node.args[0].value)
    return out


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec


def module_file(project: ResolvedProject, spec: str) -> Path:
    """The file of a declared module: a path inside the project, or an installed module's origin."""
    if _is_path(spec):
        path = (project.root / spec).resolve()
        if not path.is_relative_to(project.root.resolve()):
            raise OperationModuleError(spec, "a path must stay inside the project's directory")
        if not path.is_file():
            raise OperationModuleError(spec, f"no file {path}")
        return path
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError) as exc:
        raise OperationModuleError(spec, f"{type(exc).__name__}: {exc}") from None
    if found is None or not found.origin or not Path(found.origin).is_file():
        raise OperationModuleError(spec, "no installed module of this name")
    return Path(found.origin)


def provided_names(project: ResolvedProject) -> frozenset[str]:
    """Alembic's own operations and those the project's declared modules register (read, not imported)."""
    names = set(alembic_operation_names())
    for spec in project.source.operation_modules:
        path = module_file(project, spec)
        names |= registered_names(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(names)


def load_operation_modules(project: ResolvedProject) -> list[str]:
    """Import the project's declared modules (once per content), so their operations exist; returns their names."""
    loaded = []
    for spec in project.source.operation_modules:
        path = module_file(project, spec)
        with _LOCK:
            if _is_path(spec):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                name = f"_mop_operations_{digest}"
                if name not in sys.modules:
                    mod_spec = importlib.util.spec_from_file_location(name, path)
                    assert mod_spec is not None and mod_spec.loader is not None
                    module = importlib.util.module_from_spec(mod_spec)
                    sys.modules[name] = module
                    try:
                        mod_spec.loader.exec_module(module)
                    except Exception as exc:  # noqa: BLE001 - any error of the project's module
                        del sys.modules[name]
                        raise OperationModuleError(spec, f"{type(exc).__name__}: {exc}") from None
            else:
                name = spec
                try:
                    importlib.import_module(spec)
                except Exception as exc:  # noqa: BLE001
                    raise OperationModuleError(spec, f"{type(exc).__name__}: {exc}") from None
        loaded.append(name)
    return loaded


def unknown_operations(path: Path, calls: tuple[OpCall, ...], provided: frozenset[str]) -> list[OpCall]:
    """The calls of one file that nothing provides."""
    return [c for c in calls if c.name not in provided]


def review_operations(project: ResolvedProject, path: Path, revision: str,
                      provided: frozenset[str] | None = None) -> list[Finding]:
    """One ``danger`` finding per ``op.<name>`` of the revision file that neither Alembic nor the modules provide."""
    if provided is None:
        provided = provided_names(project)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return []
    rel = path.relative_to(project.script_location).as_posix() if path.is_relative_to(project.script_location) \
        else str(path)
    declared = ", ".join(project.source.operation_modules) or "none declared"
    return [
        Finding(
            rule="unknown_operation", level=DANGER, revision=revision, statement=f"op.{c.name}(...)",
            message=f"Revision {revision} ({rel}, line {c.line}) calls op.{c.name}, which neither Alembic nor the "
                    f"project's operation modules ({declared}) provide: the run would fail with AttributeError.",
            help="Declare the module that registers it (Operations.register_operation) in the project's "
                 "'operation modules', or fix the revision.",
        )
        for c in unknown_operations(path, op_calls(tree), provided)
    ]
