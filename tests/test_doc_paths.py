"""Every source file the docs name exists: a module that moves takes its mentions along."""

from __future__ import annotations

import re

from tests.conftest import PROJECT

COMPONENT_PATH = re.compile(r"(?<![\w/.-])(?:mlctl/)?((?:store|data|tracking|features|validation|predlog|pipeline|registry|"
                            r"serving|monitoring|retrain|sharing|ui|demo|cli)/[\w/]+\.py)\b")


def named_paths(text: str) -> set[str]:
    return {"mlctl/" + m.group(1) for m in COMPONENT_PATH.finditer(text)}


def test_every_module_the_docs_name_exists():
    pages = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
    missing = sorted(f"{page.name}: {path}" for page in pages for path in named_paths(page.read_text())
                     if not (PROJECT / path).is_file())
    assert missing == []


def test_the_path_reader_sees_both_spellings_and_skips_test_paths():
    text = "see `mlctl/store/tree.py`, registry/promotion.py and tests/cli/test_x.py"
    assert named_paths(text) == {"mlctl/store/tree.py", "mlctl/registry/promotion.py"}
