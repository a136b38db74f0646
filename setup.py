"""Compiled helpers of the engine, built by ``pip install -e .`` (setuptools reads the rest from pyproject).

Every ``migrations_ops/**/_*.c`` becomes the extension module of the same dotted
name, linked against the system SQLite (``libsqlite3-dev``) that Python's own
``sqlite3`` module uses. The engine imports each one inside ``try`` and falls
back to its pure-Python path when it is missing, so a machine without a C
compiler still runs everything, only slower.
"""

from pathlib import Path

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    return [
        Extension(".".join(c.with_suffix("").parts), [str(c)], libraries=["sqlite3"],
                  extra_compile_args=["-O2", "-std=c11", "-Wall", "-Werror=implicit-function-declaration"])
        for c in sorted(Path("migrations_ops").rglob("_*.c"))
    ]


setup(ext_modules=_extensions())
