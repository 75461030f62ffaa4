"""Per-module summary of the last `mutmut run` (make mutation), read from mutants/*.py.meta.

Run from the repository root after `mutmut run`: one row per mutated module (generated, killed,
survived, timeout, no tests, other), a total row, then the name of every mutant not killed
(`mutmut show NAME` prints its diff). tests/unit/MUTATION.md records the figures.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

COLUMNS = ("generated", "killed", "survived", "timeout", "no tests", "other")


def module_counts(meta: Path) -> tuple[Counter[str], list[tuple[str, str]]]:
    exit_codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))[
        "exit_code_by_key"
    ]
    counts: Counter[str] = Counter()
    left: list[tuple[str, str]] = []
    for name, code in sorted(exit_codes.items()):
        status = status_by_exit_code[code]
        column = status if status in COLUMNS else "other"
        counts["generated"] += 1
        counts[column] += 1
        if status != "killed":
            left.append((name, status))
    return counts, left


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print(f"no mutmut results under {root}/: run `make mutation` first", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    left: list[tuple[str, str]] = []
    width = max(len(str(m.relative_to(root))) for m in metas) - len(".meta")
    print(f"{'module':<{width}}  " + "  ".join(f"{c:>9}" for c in COLUMNS))
    for meta in metas:
        counts, module_left = module_counts(meta)
        total.update(counts)
        left += module_left
        name = str(meta.relative_to(root)).removesuffix(".meta")
        print(f"{name:<{width}}  " + "  ".join(f"{counts[c]:>9}" for c in COLUMNS))
    print(f"{'total':<{width}}  " + "  ".join(f"{total[c]:>9}" for c in COLUMNS))
    if left:
        print(f"\nnot killed ({len(left)}; `mutmut show NAME` for the diff):")
        for name, status in left:
            print(f"  {status:<9} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
