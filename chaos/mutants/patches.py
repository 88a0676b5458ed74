"""Mutant patch files: a unified diff with a header that says what bug it is and which rule must catch it.

    # mutant: central commits offsets before its transaction
    # rule: no-lost-acknowledged-message
    # why: a crash between the commit and the transaction loses the batch
    --- a/system/evcharge/central/service.py
    +++ b/system/evcharge/central/service.py
    @@ ...

``git apply`` ignores the lines before the first ``---``, so the header costs nothing to the patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HEADER = re.compile(r"^#\s*(mutant|rule|why):\s*(.+?)\s*$")


class MutantError(ValueError):
    """A patch file is unreadable or lacks its header; the message names the file and the fix."""


@dataclass(frozen=True)
class Mutant:
    name: str
    path: Path
    title: str
    rule: str
    why: str = ""


def load(path: Path) -> Mutant:
    """One patch file; its header must name the mutant and the rule that must kill it."""
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("--- "):
            break
        match = HEADER.match(line)
        if match:
            fields[match.group(1)] = match.group(2)
    missing = [name for name in ("mutant", "rule") if name not in fields]
    if missing:
        raise MutantError(
            f"{path}: the header lacks {', '.join('# ' + m + ':' for m in missing)} "
            "(write '# mutant: what the bug is' and '# rule: the check that must catch it' above the diff)"
        )
    return Mutant(path.stem, path, fields["mutant"], fields["rule"], fields.get("why", ""))


def discover(folder: Path, only: list[str] | None = None) -> list[Mutant]:
    """Every ``*.patch`` in ``folder`` (by name order), or just those named in ``only``."""
    if not folder.is_dir():
        raise MutantError(f"no mutants folder {folder}; give --patches DIR with *.patch files")
    mutants = [load(path) for path in sorted(folder.glob("*.patch"))]
    if only:
        unknown = sorted(set(only) - {m.name for m in mutants})
        if unknown:
            raise MutantError(f"no mutant named {', '.join(unknown)}; mutants: {', '.join(m.name for m in mutants)}")
        mutants = [m for m in mutants if m.name in only]
    if not mutants:
        raise MutantError(f"no *.patch files in {folder}")
    return mutants
