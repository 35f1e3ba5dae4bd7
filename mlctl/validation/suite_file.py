"""Adding a dataset's expectations to a suite file, all or nothing.

A new dataset is appended to the file's text, so the user's comments and layout stay,
when the result reads back as the old suite plus that dataset; otherwise (a replaced
dataset, a file laid out differently) the whole suite is written anew from its parsed
form. Either way the new text must parse as a suite before it atomically replaces the file.
"""

from __future__ import annotations

from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.atomic import atomic_write_text
from mlctl.store.schema import load_yaml, parse_yaml
from mlctl.validation import suite as suites


def _flow(value) -> str:
    """One line of YAML, quoted wherever YAML would misread it (dumped inside a list, as a
    bare scalar would end with a document marker)."""
    import yaml

    return yaml.safe_dump([value], default_flow_style=True, sort_keys=False, allow_unicode=True,
                          width=float("inf")).strip()[1:-1]


def dataset_block(target: str, items: list[dict]) -> str:
    """The dataset as it sits under ``datasets:`` (two spaces in), one expectation a line."""
    lines = [f"  {_flow(target)}:", "    expectations:"]
    lines += [f"      - {_flow(item)}" for item in items]
    return "\n".join(lines) + "\n"


def _existing_key(datasets: dict, target: str) -> str | None:
    return next((key for key in datasets if str(key).rstrip("/") == target.rstrip("/")), None)


def add_dataset(path: Path, label: str, target: str, items: list[dict], force: bool = False) -> dict:
    """Write ``items`` as ``target``'s expectations in the suite at ``path``; returns
    ``{"created": bool, "replaced": bool}``. An existing entry for ``target`` is a
    UsageError unless ``force``."""
    if not path.exists():
        text = "datasets:\n" + dataset_block(target, items)
        _write(path, label, text)
        return {"created": True, "replaced": False}
    document = load_yaml(path, label)  # a folder, not UTF-8, not YAML: one line naming it
    old_text = path.read_text(encoding="utf-8")
    suites.parse(document, label)  # a suite that does not read now is fixed first, not written over
    key = _existing_key(document["datasets"], target)
    if key is not None and not force:
        raise UsageError(f"{label} already has expectations for {key!r}",
                         hint="edit them, or pass --force to replace them with the suggestion")
    wanted = {**document, "datasets": {**document["datasets"]}}
    if key is not None:
        wanted["datasets"][key] = {"expectations": items}  # keeps the dataset's place
    else:
        wanted["datasets"][target] = {"expectations": items}
    text = _appended(old_text, target, items, wanted, label) if key is None else None
    _write(path, label, text or _dump(wanted))
    return {"created": False, "replaced": key is not None}


def _appended(old_text: str, target: str, items: list[dict], wanted: dict, label: str) -> str | None:
    text = old_text + ("" if old_text.endswith("\n") else "\n") + dataset_block(target, items)
    try:
        return text if parse_yaml(text, label) == wanted else None
    except UsageError:
        return None


def _dump(document: dict) -> str:
    """The suite from its parsed form: top-level keys in block style, one expectation a line."""
    lines = [f"{_flow(key)}: {_flow(value)}" for key, value in document.items() if key != "datasets"]
    lines.append("datasets:")
    text = "\n".join(lines) + "\n"
    for target, body in document["datasets"].items():
        text += dataset_block(str(target), body["expectations"])
    return text


def _write(path: Path, label: str, text: str) -> None:
    suites.parse(parse_yaml(text, label), label)  # never leave a suite that does not read
    atomic_write_text(path, text)
