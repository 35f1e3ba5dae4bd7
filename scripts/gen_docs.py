#!/usr/bin/env python3
"""Regenerate man/ and completions/ from the CLI. Run after adding or changing a command."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlctl.cli.docgen import write_all  # noqa: E402

if __name__ == "__main__":
    for rel in write_all(ROOT):
        print(rel)
