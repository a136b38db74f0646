"""Run a copy in a child process that the test SIGKILLs in the middle of a range.

Usage: python copy_kill_script.py SQLITE COPY_ID MARKER [OPTIONS_JSON]  (target URL in MOP_COPY_TARGET_URL)

Once one range has committed and the next has sent rows inside its open
transaction, it writes MARKER (the range's lo) and sleeps, waiting to be killed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from migrations_ops.copy import CopyOptions, copy_database
from migrations_ops.progress import Progress
from migrations_ops.target import TargetConn


def main() -> None:
    sqlite_path, copy_id, marker = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    target = TargetConn.from_url(os.environ["MOP_COPY_TARGET_URL"])
    seen: set[tuple[str, int]] = set()

    def progress(p: Progress) -> None:
        if p.step != "copy":
            return
        key = (p.data["table"], p.data["range_lo"])
        seen.add(key)
        if len(seen) >= 3 and p.data["copied"] > 0:
            marker.write_text(f"{key[0]}\n{key[1]}\n")
            time.sleep(120)

    extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    copy_database(sqlite_path, target, CopyOptions(range_rows=500, batch_rows=100, **extra), progress=progress,
                  copy_id=copy_id)


if __name__ == "__main__":
    main()
