"""Measure mlctl's walls: cross-component imports, where they land, cycles, function-level imports.

    python scripts/walls.py          # the figures issue 19 asks for
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from import_graph import OPEN_COMPONENTS, component, cycles, edges  # noqa: E402


def main() -> None:
    graph = edges()
    cross = [e for e in graph if component(e.source) != component(e.target)]
    into_rooms = [e for e in cross if component(e.target) not in OPEN_COMPONENTS]
    to_api = [e for e in into_rooms if e.target.endswith(".api")]
    landing = Counter(e.target for e in into_rooms)
    print(f"cross-component import edges (excluding store and base): {len(into_rooms)}")
    print(f"  landing in {len(landing)} modules; {len(to_api)} go to an api module")
    for target, count in landing.most_common():
        print(f"    {count:3d}  {target}")
    private = [e for e in graph if any(n.startswith("_") and not n.startswith("__") for n in e.names)
               and e.source != e.target]
    print(f"private names imported from another module: {len(private)}")
    for e in private:
        print(f"    {e.source} <- {e.target}: {', '.join(e.names)}")
    found = cycles(graph)
    print(f"import cycles: {len(found)}")
    for members in found:
        print("    " + " <-> ".join(members))
    own = [e for e in graph if e.in_function]
    print(f"function-level imports of mlctl modules: {len(own)}")
    by_comp = Counter((component(e.source), component(e.target)) for e in into_rooms)
    print("component edges:")
    for (a, b), count in sorted(by_comp.items()):
        print(f"    {a:>11} -> {b:<11} {count}")


if __name__ == "__main__":
    main()
