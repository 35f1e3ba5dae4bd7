"""docs/json.md held to the code: every command that takes `--json` (read from the CLI
itself) is run on one fixture repository, and its keys are compared with the fields its
section of docs/json.md documents, both ways."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import PROJECT
from tests.retrain.conftest import python_on_path
from tests.ui.conftest import build_lifecycle

DOC = PROJECT / "docs" / "json.md"


# -- what docs/json.md says ------------------------------------------------------------------
def sections(text: str) -> dict[str, str]:
    """heading text -> the text under it, up to the next heading of any level."""
    out, heading, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("#"):
            if heading is not None:
                out[heading] = "\n".join(lines)
            heading, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line)
    out[heading] = "\n".join(lines)
    return out


def tables(section: str) -> list[list[list[str]]]:
    """The markdown tables of a section: rows of cells (header and rule left out)."""
    found, rows = [], None
    for line in section.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if rows is None:
                rows = []  # the header
            elif not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows is not None:
            found.append(rows)
            rows = None
    return found


def table_fields(rows: list[list[str]]) -> set[str]:
    """The top-level names of a field table's first column (`a`, `b.c`, `d[].e` -> a, b, d)."""
    names = set()
    for row in rows:
        for token in re.findall(r"`([^`]+)`", row[0]):
            name = re.split(r"[.\[]", token)[0]
            if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                names.add(name)
    return names


def inline_objects(text: str) -> list[set[str]]:
    """The keys of every outermost `{"a": ..., "b", ...}` literal in the text: quoted names
    right after `{` or `,` at the literal's own depth."""
    out, depth, keys, previous = [], 0, set(), ""
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{[":
            depth += 1
            if depth == 1:
                keys = set()
        elif char in "}]":
            depth -= 1
            if depth == 0 and char == "}":
                out.append(keys)
        elif char == '"':
            end = text.index('"', i + 1)
            if depth == 1 and previous in "{,":
                keys.add(text[i + 1:end])
            i, previous = end, '"'
            i += 1
            continue
        if not char.isspace():
            previous = char
        i += 1
    return [k for k in out if k]


@dataclass
class Shape:
    """Where a document's keys are documented: a section of docs/json.md (a heading
    substring), and in it a table (``table=N``), an inline literal (``inline=N``), or the
    ``row`` of a command table whose second cell holds the literal. ``at`` is the part of
    the output checked: "" the document, "[]" its first item, "views[]" the first item of
    its ``views`` list, "pipeline" a nested object."""

    heading: str
    table: int | None = None
    inline: int | None = None
    row: str | None = None
    at: str = ""
    optional: frozenset = frozenset()  # documented as present only sometimes
    also: frozenset = frozenset()      # documented in the section's prose ("adds `aliases`")

    def documented(self, doc_sections: dict[str, str]) -> set[str]:
        matches = [h for h in doc_sections if self.heading == h] or [h for h in doc_sections if self.heading in h]
        assert len(matches) == 1, f"docs/json.md: {len(matches)} headings contain {self.heading!r}"
        text = doc_sections[matches[0]]
        if self.table is not None:
            return table_fields(tables(text)[self.table]) | self.also | components(self, doc_sections)
        if self.row is not None:
            rows = [r for t in tables(text) for r in t if r[0].strip("`").startswith(self.row)]
            assert rows, f"docs/json.md {self.heading}: no row {self.row!r}"
            text = rows[0][1]
        literals = inline_objects(text)
        assert len(literals) > (self.inline or 0), f"docs/json.md {self.heading}: no {{...}} literal"
        return literals[self.inline or 0] | self.also

    def actual(self, document) -> set[str] | None:
        value = document
        for part in filter(None, self.at.split(".")):
            name, is_item = part.removesuffix("[]"), part.endswith("[]")
            value = value[name] if name else value
            if is_item:
                if not value:
                    return None
                value = value[0]
        return set(value)


def components(shape: Shape, doc_sections: dict[str, str]) -> set[str]:
    """`mlctl status --json`'s `<component>` row: the keys that sections document as a part
    of it, by heading ("`mlctl status --json`: `models`", "... the `data` section") or in
    passing ("`drift` in `mlctl status --json`")."""
    if shape.heading != "`mlctl status --json`":
        return set()
    names = set()
    for heading, text in doc_sections.items():
        if heading and "status --json`:" in heading:
            names.update(re.findall(r"`(\w+)`", heading.split("status --json`:")[1]))
        names.update(re.findall(r"`(\w+)` in `mlctl status --json`", text))
    return names - {"<component>"}


@dataclass
class Case:
    args: list[str]                        # after `mlctl`, without --json
    shapes: list[Shape] = field(default_factory=list)
    exit_codes: tuple = (0,)
    free_form: str = ""                    # why the keys are data, not fields


# -- the fixture repository ------------------------------------------------------------------
FEATURES_YAML = """\
entities:
  customer: {join_key: customer_id}
sources:
  usage:
    path: features/usage.csv
    timestamp: ts
feature_views:
  usage_daily:
    entity: customer
    source: usage
    ttl: 30d
    features: [calls, minutes]
"""

VALIDATE = "`mlctl data validate --json`"  # exactly: `... --suggest --json` is a section too
SUITE = """\
datasets:
  data/train.csv:
    expectations:
      - {expect: not_null, column: tenure}
      - {expect: between, column: charges, min: 0}
"""

RETRAIN_YAML = """\
model: churn
triggers: {drift: true, new_data: false}
drift: {reference: drift/reference.csv, current: drift/shifted.csv}
pipeline: {stages: [train], model_output: model.bin}
evaluate: {data: drift/reference.csv, target: plan}
gates: ["accuracy>=0.5"]
cooldown: 0s
performance_floor: {metric: accuracy, min: 0.5, min_rows: 1}
"""


def build(root: Path) -> dict:
    """A repository holding one of everything a `--json` command reports on; returns the
    ids of its runs by name."""
    from mlctl.registry.aliases import record_event
    from mlctl.predlog.api import PredictionLogWriter
    from mlctl.store.repo import init_repo
    from tests.factories import pickle_bytes

    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    repo, _ = init_repo(root)
    build_lifecycle(repo)  # runs, models churn and fraud with history, drift checks, a stale pipeline
    (root / "model.pkl").write_bytes(pickle_bytes("sklearn.linear_model._logistic", "LogisticRegression"))
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("tenure,charges\n1,10.5\n2,20.0\n3,30.25\n")
    (root / "features").mkdir()
    (root / "features" / "usage.csv").write_text(
        "customer_id,ts,calls,minutes\n1,2024-01-01T00:00:00Z,3,12.5\n2,2024-01-01T01:00:00Z,5,30\n")
    (root / "entities.csv").write_text("customer_id,event_timestamp\n1,2024-01-02T00:00:00Z\n")
    (root / "features.yaml").write_text(FEATURES_YAML)
    (root / "expectations.yaml").write_text(SUITE)
    (root / "retrain.yaml").write_text(RETRAIN_YAML)
    with PredictionLogWriter(repo, "churn") as writer:
        writer.append([{"request_id": f"r{i}", "version": 1, "prediction": "a", "inputs": {"tenure": i}}
                       for i in range(4)])
    (root / "labels.csv").write_text("request_id,plan\nr0,a\nr1,a\nr2,b\nr3,a\n")
    record_event(repo, "churn", "retrain-await-approval", alias="production", version=3, reason="passed the gates")
    (root / "remote").mkdir()
    return repo.known_runs


def setup_commands(root: Path) -> list[list[str]]:
    """CLI steps after build(): tracked data committed to git, a remote, a config key."""
    return [["data", "add", "data/train.csv"], ["remote", "add", "origin", str(root / "remote"), "--default"],
            ["config", "set", "core.jobs", "4"], ["feature", "materialize"],
            ["model", "register", "scratch", "model.pkl"], ["model", "register", "scratch", "model.pkl"],
            ["model", "promote", "scratch:1", "--to", "production"],
            ["model", "promote", "scratch:2", "--to", "production"]]


# -- every command with --json, and where docs/json.md documents it --------------------------
# "`run show --json` adds `metric_points` (...) and, with `--history`, `metric_history`"
RUN_SHOW = Shape("The run record", table=0, also=frozenset({"metric_points", "metric_history"}),
                 optional=frozenset({"metric_history"}))
RUN_RECORD = Shape("The run record", table=0)
VERSION = Shape("Model version object", table=0)
HISTORY = Shape("History entry", table=0, optional=frozenset({
    "eval", "comparison", "must_beat", "skipped_deleted", "id", "parent", "to_record", "lost", "lost_to"}))
# an expectation result "holds the expectation as parsed (...) and its own keys: ..."
EXPECTATION_KEYS = frozenset({"expect", "name", "level", "severity", "mostly", "column", "columns", "min", "max",
                              "strict_min", "strict_max", "values", "pattern", "strict", "exact", "q", "condition",
                              "type", "max_age"})
PLAN_ITEM = Shape("pipeline status --json` and", table=1, at="stages[]")

CASES: dict[str, Case] = {
    # "the section is absent before the first validation"
    "status": Case(["status"], [Shape("`mlctl status --json`", table=0, optional=frozenset({"validation"}))]),
    "config get": Case(["config", "get", "core.jobs"], [Shape("config get KEY", inline=0)]),
    "config list": Case(["config", "list"], free_form="dotted config keys -> values"),
    "config list --all": Case(["config", "list", "--all"], [Shape("config list", inline=0, at="[]")]),
    "remote list": Case(["remote", "list"], [Shape("remote list", inline=0, at="[]")]),
    "fsck": Case(["fsck"], [Shape("mlctl fsck", table=0)]),
    "backend status": Case(["backend", "status"], [Shape("backend status", table=0),
                                                   Shape("backend status", table=1, at="locations")]),
    "gc": Case(["gc", "--dry-run"], [Shape("`mlctl gc --json`", table=0)]),
    "gc --remote": Case(["gc", "--remote", "origin", "--dry-run"], [Shape("gc --remote", table=0)]),
    "feature list": Case(["feature", "list"], [Shape("feature list", table=0),
                                                 Shape("feature list", table=1, at="views[]")]),
    "feature materialize": Case(["feature", "materialize"], [Shape("feature materialize", inline=0),
                                                              Shape("feature materialize", table=0, at="views[]")]),
    "feature get": Case(["feature", "get", "--features", "usage_daily", "--entity", "customer_id=1"],
                        [Shape("feature get", inline=0), Shape("feature get", table=0, at="rows[]")]),
    "feature join": Case(["feature", "join", "entities.csv", "--features", "usage_daily", "-o", "train.parquet"],
                         [Shape("feature join", table=0)]),
    "lineage": Case(["lineage", "churn@production"], [Shape("mlctl lineage", table=0)]),
    "model list": Case(["model", "list"], [Shape("model list", inline=0, at="[]")]),
    # "(`versions`) each with `aliases` (list)"; "`model show NAME:VERSION --json` adds `aliases` ... and
    # `deployments`"
    "model show": Case(["model", "show", "churn"], [Shape("model show NAME --json", table=0),
                                                    Shape("Model version object", table=0, at="versions[]",
                                                          also=frozenset({"aliases"}))]),
    "model show NAME:VERSION": Case(["model", "show", "churn:1"], [Shape("Model version object", table=0,
                                                                         also=frozenset({"aliases", "deployments"}))]),
    "model history": Case(["model", "history", "churn"], [
        Shape("History entry", table=0, at="[]", optional=HISTORY.optional | {"gates"})]),
    "model deployments": Case(["model", "deployments"], [Shape("model deployments", inline=0),
                                                          Shape("Deployment object", inline=0, at="deployments[]")]),
    "monitor drift": Case(["monitor", "drift", "--reference", "drift/reference.csv", "--current", "drift/shifted.csv"],
                          [Shape("monitor drift", table=0), Shape("monitor drift", table=1, at="columns[]"),
                           Shape("monitor drift", table=2, at="check")], exit_codes=(1,)),
    "monitor performance": Case(["monitor", "performance", "churn", "--labels", "labels.csv"],
                                [Shape("monitor performance NAME", table=0)], exit_codes=(0, 1)),
    "pipeline status": Case(["pipeline", "status"], [Shape("pipeline status --json` and", table=0,
                                                           optional=frozenset({"dry_run"})),
                                                     PLAN_ITEM], exit_codes=(1,)),
    "pipeline run --dry-run": Case(["pipeline", "run", "--dry-run"], [
        Shape("pipeline status --json` and", table=0, optional=frozenset({"stale"})),
        Shape("pipeline status --json` and", table=1, at="stages[]", optional=frozenset({"state", "restorable", "last_ran"}))]),
    "pipeline show": Case(["pipeline", "show"], [Shape("pipeline show", table=0)]),
    "retrain": Case(["retrain", "churn", "--dry-run"], [Shape("`mlctl retrain --json`", table=0)]),
    "retrain --print-schedule": Case(["retrain", "churn", "--print-schedule"], [Shape("print-schedule", inline=0)]),
    "run list": Case(["run", "list"], [Shape("The run record", table=0, at="[]")]),
    "run show": Case(["run", "show", "{run}"], [RUN_SHOW]),
    "run show --metric": Case(["run", "show", "{run}", "--metric", "acc"],
                              [Shape("Other run commands", row="run show", at="[]")]),
    "run compare": Case(["run", "compare", "{run}", "{run2}"], [Shape("Other run commands", row="run compare")]),
    "run artifacts": Case(["run", "artifacts", "{run}"], free_form="artifact names -> object hashes"),
    "run tag": Case(["run", "tag", "{run}", "reviewed=yes"], free_form="the run's tags"),
    "run log": Case(["run", "log", "-p", "a=1"], [RUN_RECORD]),
    "data status": Case(["data", "status"], [Shape("data status --json", table=0)]),
    "data list": Case(["data", "list"], [Shape("data list", inline=0, at="[]")]),
    "data diff": Case(["data", "diff"], [Shape("`mlctl data diff --json`", table=0)]),
    "data diff --rows": Case(["data", "diff", "--rows", "data/train.csv"], [Shape("data diff --rows", table=0)]),
    "data log": Case(["data", "log", "data/train.csv"], [Shape("data log", inline=0),
                                                        Shape("data log", table=0, at="versions[]")]),
    "data query": Case(["data", "query", 'select * from "data/train.csv"'], free_form="result rows: column -> value"),
    "data validate": Case(["data", "validate"], [Shape(VALIDATE, table=0),
                                                 Shape(VALIDATE, table=1, at="datasets[].expectations[]",
                                                       also=EXPECTATION_KEYS, optional=EXPECTATION_KEYS)]),
    "data validate --suggest": Case(["data", "validate", "data/train.csv", "--suggest", "--force",
                                     "--suite", "suggested.yaml"], [Shape("data validate --suggest", table=0)]),
    "data checkout": Case(["data", "checkout"], [Shape("data checkout", table=0)]),
    "data add": Case(["data", "add", "features/usage.csv"], [Shape("data add", table=0)]),
    "hooks install": Case(["hooks", "install"], [Shape("hooks install", inline=0, at="[]")]),
    "hooks uninstall": Case(["hooks", "uninstall"], [Shape("hooks install", inline=0, at="[]")]),
    "pipeline run": Case(["pipeline", "run"], [Shape("`mlctl pipeline run --json`", table=0),
                                               Shape("`mlctl pipeline run --json`", table=1, at="stages[]")]),
    "pipeline log": Case(["pipeline", "log", "train"], [Shape("pipeline log", inline=0)]),
    "model register": Case(["model", "register", "scratch", "model.pkl"], [VERSION]),
    "model promote": Case(["model", "promote", "scratch:3", "--to", "staging"], [Shape("model promote", table=0)]),
    "model unalias": Case(["model", "unalias", "churn@staging"], [HISTORY]),
    "model rollback": Case(["model", "rollback", "scratch"], [HISTORY]),
    "model reject": Case(["model", "reject", "churn:3", "--reason", "too slow"], [Shape("model approve", table=0)]),
    "run delete": Case(["run", "delete", "{run2}"], [Shape("Other run commands", row="run delete")]),
    "run restore": Case(["run", "restore", "{run2}"], [Shape("Other run commands", row="run restore")]),
    "push": Case(["push"], [Shape("`mlctl push --json`", table=0), Shape("`mlctl push --json`", table=1,
                                                                          at="parts.data")]),
    "data push": Case(["data", "push"], [Shape("data push", table=0, optional=frozenset({"checkout"}))]),
    "run push": Case(["run", "push"], [Shape("Other run commands", row="run push")]),
    "model push": Case(["model", "push"], [Shape("model push", table=0)]),
    "pipeline push": Case(["pipeline", "push"], [Shape("pipeline push", table=0)]),
    "pull": Case(["pull"], [Shape("`mlctl push --json`", table=0)]),
    "data pull": Case(["data", "pull"], [Shape("data push", table=0)]),
    "data fetch": Case(["data", "fetch"], [Shape("data push", table=0)]),
    "run pull": Case(["run", "pull"], [Shape("Other run commands", row="run push")]),
    "model pull": Case(["model", "pull"], [Shape("model push", table=0)]),
    "pipeline pull": Case(["pipeline", "pull"], [Shape("pipeline push", table=0)]),
    "model delete": Case(["model", "delete", "fraud:1"], [Shape("model delete", inline=0)]),
    "status, every section": Case(["status"], [
        Shape("`mlctl status --json`", table=0),
        Shape("the `data` section", table=0, at="data", optional=frozenset({"error"})),  # "only when ..."
        Shape("the `pipeline` section", table=0, at="pipeline"),
        Shape("`mlctl status --json`: `serving`", table=0, at="serving"),
        Shape("`mlctl status --json`: `runs`", inline=0, at="runs"),
        Shape("`mlctl status --json`: `features`", inline=0, at="features"),
        Shape("`mlctl status --json`: `retrain`", inline=0, at="retrain"),
        Shape("`mlctl status --json`: `models`", inline=0, at="models.churn"),
        Shape("monitor drift", table=2, at="drift"),
        Shape(VALIDATE, table=2, at="validation"),
    ]),
}

# commands whose --json output this test does not produce, and why
EXEMPT = {
    "backend init": "it needs a PostgreSQL server; tests/store/test_backend.py checks its document against "
                    "`mlctl backend init --json` here",
    "backend import": "it needs a PostgreSQL server; tests/tracking/test_backend.py and tests/registry/"
                      "test_backend.py check every field of its document",
    "model approve": "approving judges a trained model against production (tests/retrain/test_approval.py); "
                     "it prints the same Approval.to_json() document as `model reject`, checked here",
}


# -- the tests -------------------------------------------------------------------------------
def json_commands() -> set[str]:
    """Every command (as its words) that takes --json, walked from the CLI itself."""
    from typer import _click

    from mlctl.cli.main import cli

    ctx = _click.Context(cli)
    found = set()

    def walk(command, path):
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
        elif any("--json" in getattr(p, "opts", ()) for p in command.params):
            found.add(" ".join(path))

    walk(cli, [])
    return found


def command_of(case: Case, commands: set[str]) -> str:
    words = [a for a in case.args if not a.startswith("-")]
    return max((c for c in commands if words[:len(c.split())] == c.split()), key=len)


def test_every_json_command_has_a_case_and_a_doc_section():
    commands = json_commands()
    covered = {command_of(case, commands) for case in CASES.values()}
    assert commands - covered - set(EXEMPT) == set(), "add a case (and a docs/json.md section) for these"
    text = DOC.read_text(encoding="utf-8")
    undocumented = [c for c in commands if not re.search(rf"`(mlctl )?{re.escape(c)}\b[^`]*--json", text)]
    assert undocumented == [], "docs/json.md names no `COMMAND ... --json` for these"


def test_every_case_points_at_a_documented_shape():
    doc_sections = sections(DOC.read_text(encoding="utf-8"))
    for name, case in CASES.items():
        for shape in case.shapes:
            assert shape.documented(doc_sections), (name, shape.heading)


def run_case(cli, case: Case, ids: dict):
    res = cli(*[a.format(**ids) for a in case.args], "--json")
    assert res.exit_code in case.exit_codes, (case.args, res.exit_code, res.stderr)
    return res.json()


def mismatches(name: str, case: Case, document, doc_sections) -> list[str]:
    problems = []
    for shape in case.shapes:
        actual = shape.actual(document)
        if actual is None:
            problems.append(f"{name} {shape.at}: empty, nothing to check")
            continue
        documented = shape.documented(doc_sections)
        if actual - documented:
            problems.append(f"{name} {shape.at or '.'}: not in docs/json.md: {sorted(actual - documented)}")
        if documented - actual - shape.optional:
            problems.append(f"{name} {shape.at or '.'}: documented, not in the output: "
                            f"{sorted(documented - actual - shape.optional)}")
    return problems


def test_json_output_matches_docs(cli, tmp_path, monkeypatch):
    """One test over one repository, the cases in order (later ones change it: push, delete):
    under xdist a module fixture shared by per-command tests would be built once per worker.
    Every mismatch is listed, not only the first."""
    python_on_path(monkeypatch)  # the fixture pipeline's stages say `python`
    root = tmp_path / "repo"
    root.mkdir()
    runs = build(root)
    monkeypatch.chdir(root)
    for step in setup_commands(root):
        assert cli(*step).exit_code == 0, step
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "fixture"], cwd=root, check=True)
    ids = {"run": runs["rf-0"], "run2": runs["lr-1"]}
    doc_sections = sections(DOC.read_text(encoding="utf-8"))
    problems = []
    for name, case in CASES.items():
        try:
            document = run_case(cli, case, ids)
        except AssertionError as exc:
            problems.append(f"{name}: {exc}")
            continue
        assert isinstance(document, (dict, list)), name
        problems += mismatches(name, case, document, doc_sections)
    assert problems == [], "\n".join(problems)
