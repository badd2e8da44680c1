"""Every `docs/<file>.md#<section>` the code, tests and docs cite names a section that exists.

Sections are the markdown headings of the cited file, as GitHub renders their anchors
(lower case, punctuation dropped, spaces to hyphens).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"docs/([A-Za-z0-9_-]+\.md)(?:#([a-z0-9-]+))?")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
CITING = (".py", ".md", ".toml", ".yaml", ".yml")


def anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(doc: Path) -> set[str]:
    return {anchor(heading) for heading in HEADING.findall(doc.read_text(encoding="utf-8"))}


def citing_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [ROOT / name for name in listed if name.endswith(CITING) and (ROOT / name).is_file()]


def test_the_anchor_rule_matches_github():
    assert anchor("Roles and maker-checker") == "roles-and-maker-checker"
    assert anchor("HTTP contract") == "http-contract"
    assert anchor("Fees and taxes") == "fees-and-taxes"


def test_every_cited_document_and_section_exists():
    broken: list[str] = []
    cited = 0
    for path in citing_files():
        for match in REFERENCE.finditer(path.read_text(encoding="utf-8", errors="replace")):
            cited += 1
            name, section = match.groups()
            doc = ROOT / "docs" / name
            where = f"{path.relative_to(ROOT)}: {match.group(0)}"
            if not doc.exists():
                broken.append(f"{where} (no such document)")
            elif section and section not in anchors_of(doc):
                broken.append(f"{where} (no such section)")
    assert cited > 20, "the code cites the project's docs"
    assert not broken, "\n".join(broken)
