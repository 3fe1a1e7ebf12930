"""The README's port table is the launcher's port table."""

from __future__ import annotations

import re

from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import PORTS


def test_readme_port_table_matches_the_launcher() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Ports", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| *(\w+) *\| *(\d+) *\|", section, flags=re.MULTILINE)
    assert {(name, int(number)) for name, number in rows} == {(p.component, p.number)
                                                             for p in PORTS}


def test_ports_are_unique() -> None:
    numbers = [p.number for p in PORTS]
    assert len(numbers) == len(set(numbers))
