"""A generated Alembic project of N revisions shaped like the large real histories.

Two bases, many branch points and merges (one merging three parents), branch
labels, ``depends_on`` across branches, multi-paragraph docstrings: what made
588-revision public projects slow and hard to read. Deterministic for a seed.
"""

from __future__ import annotations

import random
from pathlib import Path

ENV = '''
from alembic import context

config = context.config
conn = config.attributes.get("connection")
if context.is_offline_mode():
    context.configure(url="postgresql://", literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(connection=conn)
    with context.begin_transaction():
        context.run_migrations()
'''

INI = "[alembic]\nscript_location = %(here)s\npath_separator = os\n"


def _write(versions: Path, rev: str, down, message: str, labels=None, depends=None) -> None:
    text = (
        f'"""{message}\n\nThis revision was generated for the large-history tests;\n'
        f'it changes nothing.\n\nRevision ID: {rev}\nRevises: {down}\n"""\n'
        "from alembic import op\n\n"
        f"revision = {rev!r}\ndown_revision = {down!r}\n"
        f"branch_labels = {labels!r}\ndepends_on = {depends!r}\n\n\n"
        "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )
    (versions / f"{rev}_{message.replace(' ', '_')[:30]}.py").write_text(text)


def make_big_project(root: Path, n: int = 600, seed: int = 14) -> Path:
    """Write ``n`` revisions under ``root`` (with alembic.ini and env.py); returns ``root``."""
    rng = random.Random(seed)
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "env.py").write_text(ENV)
    (root / "alembic.ini").write_text(INI)
    made: list[str] = []
    heads: list[str] = []
    three_way_done = False
    for i in range(n):
        rev = f"{rng.getrandbits(48):012x}"
        labels = depends = None
        if i in (0, n // 3):  # two bases; the second is a labelled line of its own
            down = None
            labels = ("reports",) if i else None
            message = f"base {i}"
            heads.append(rev)
        elif len(heads) >= 3 and not three_way_done and i > n // 2:
            down = tuple(heads[:3])
            heads = [rev, *heads[3:]]
            three_way_done = True
            message = f"merge three lines {i}"
        elif len(heads) >= 2 and rng.random() < 0.08:
            a, b = rng.sample(heads, 2)
            down = (a, b)
            heads = [h for h in heads if h not in (a, b)] + [rev]
            message = f"merge {i}"
        elif rng.random() < 0.08 and len(made) > 5:
            down = rng.choice(made[-40:])  # a branch point (or a new head off an older revision)
            if down in heads:
                heads.remove(down)
            heads.append(rev)
            message = f"branch {i}"
        else:
            head = rng.choice(heads)
            down = head
            heads[heads.index(head)] = rev
            message = f"change {i} of the schema"
        if i % 97 == 50 and len(made) > 20:
            depends = rng.choice(made[:len(made) // 2])
        _write(versions, rev, down, message, labels, depends)
        made.append(rev)
    return root
