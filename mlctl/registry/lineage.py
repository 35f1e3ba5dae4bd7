"""`mlctl lineage TARGET`: where a model came from and where it went, as a tree.

TARGET is a model version (``NAME@ALIAS``, ``NAME:VERSION``, or ``NAME`` for the newest),
a run id (or unique prefix), or a data path. The tree is rooted at the target:

    model version -> its run (-> the data versions it used, pipeline stages, what it wrote)
                  -> aliases pointing at it, deployments, the last drift verdict
    run           -> data it used; model versions registered from it (-> aliases ...)
    data path     -> runs that used it (which version) -> model versions (-> aliases ...)

Each node is ``{"kind", "label", ..., "children": [...]}``; the document also lists the
runs, model versions and data paths it found, for scripts.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import PurePosixPath

from mlctl.errors import MlctlError, NotFoundError, UsageError
from mlctl.registry import deployments, index, runs
from mlctl.registry.names import parse_spec
from mlctl.registry.versions import ModelVersion, get_version
from mlctl.store.repo import Repo
from mlctl.store.times import shown_time


def lineage(repo: Repo, target: str) -> dict:
    kind, found = resolve(repo, target)
    ctx = _Context(repo)
    if kind == "model":
        root = ctx.model_node(found, upstream=True)
    elif kind == "run":
        root = ctx.run_node(found, upstream=True, downstream=True)
    else:
        root = ctx.data_root(found)
    return {"target": target, "kind": kind, "root": root, "runs": sorted(ctx.runs_seen),
            "models": sorted(ctx.models_seen, key=_spec_key), "data": sorted(ctx.data_seen)}


def resolve(repo: Repo, target: str):
    """("model", ModelVersion) | ("run", run) | ("data", relpath)."""
    if ("@" in target or ":" in target) and not os.path.exists(target):
        return "model", get_version(repo, target)
    data_path = _data_path(repo, target)
    if data_path is not None:
        return "data", data_path
    run = _find_run(repo, target)
    if run is not None:
        return "run", run
    if target in index.model_names(repo):
        return "model", get_version(repo, parse_spec(target))
    raise NotFoundError(f"{target} is not a model, a run or a data path",
                        hint="use NAME@ALIAS or NAME:VERSION, a run id, or a tracked data path")


def _data_path(repo: Repo, target: str) -> str | None:
    if target.endswith(".mlctl") and not os.path.isdir(target):  # a data pointer file names its data
        target = target[: -len(".mlctl")]
    try:
        rel = repo.relpath(target)
    except UsageError:
        return None
    if os.path.exists(repo.root / rel) or rel in _tracked(repo):
        return rel
    return None


def _find_run(repo: Repo, target: str):
    try:
        return runs.get_run(repo, target)
    except NotFoundError:
        return None
    except ImportError:  # a build without experiment tracking
        return None


def _optional(module: str):
    """A sibling component's module, or None in a build without that component."""
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    return importlib.import_module(module) if found else None


def _tracked(repo: Repo) -> dict:
    """path -> current hash of every tracked data path (empty without the data component)."""
    api = _optional("mlctl.data.api")
    return {p.path: p.hash for p in api.tracked(repo)} if api else {}


def latest_drift(repo: Repo, name: str) -> dict | None:
    """The last drift verdict recorded for the model (None without the monitoring component)."""
    records = _optional("mlctl.monitoring.records")
    return records.latest_check(repo, model=name) if records else None


def last_validation(repo: Repo, digest) -> dict | None:
    """The last recorded validation that read data version ``digest`` (None without the
    validation component, or when none did)."""
    api = _optional("mlctl.validation.api")
    if api is None or not digest:
        return None
    found = api.validations_of(repo, str(digest), limit=1)
    return found[0] if found else None


def _validation_label(record: dict) -> str:
    verdict = "passed" if record["success"] else "FAILED"
    return (f"last validation: {verdict} ({record['failed']} failed of {record['expectations']})"
            f"  suite {record['suite']}  {shown_time(record['time'])}  {record['id']}")


def _related(a: str, b: str) -> bool:
    """Same path, or one inside the other (a run may name a folder holding the file)."""
    pa, pb = PurePosixPath(a), PurePosixPath(b)
    return pa == pb or pb in pa.parents or pa in pb.parents


def _spec_key(spec: str):
    name, _, number = spec.partition(":")
    return name, int(number or 0)


class _Context:
    def __init__(self, repo: Repo):
        self.repo = repo
        self.runs_seen: set[str] = set()
        self.models_seen: set[str] = set()
        self.data_seen: set[str] = set()
        self._tracked = None
        self._validations: dict = {}

    @property
    def tracked(self) -> dict:
        if self._tracked is None:
            self._tracked = _tracked(self.repo)
        return self._tracked

    # -- nodes ---------------------------------------------------------------------------
    def model_node(self, version: ModelVersion, upstream: bool) -> dict:
        self.models_seen.add(version.spec)
        aliases = index.read_aliases(self.repo, version.name)["aliases"]
        children = []
        if upstream:
            children.append(self._run_of(version))
        children += [self._alias_node(version, a, aliases) for a in sorted(aliases) if int(aliases[a]) == version.version]
        children += [self._deployment_node(d) for d in deployments.list_deployments(self.repo, version.name)
                     if d.get("version") == version.version]
        drift = self._drift_node(version, aliases)
        children += [drift] if drift else []
        what = version.model_class.rsplit(".", 1)[-1] if version.model_class else version.flavor
        return {"kind": "model", "label": f"model {version.spec}  {version.flavor} {what}  registered {shown_time(version.created)}",
                "spec": version.spec, "name": version.name, "version": version.version, "flavor": version.flavor,
                "created": version.created, "run_id": version.run_id, "children": [c for c in children if c]}

    def _run_of(self, version: ModelVersion) -> dict | None:
        if version.run_id:
            try:
                return self.run_node(runs.get_run(self.repo, version.run_id), upstream=True, downstream=False)
            except (MlctlError, ImportError):
                self.runs_seen.add(version.run_id)
                return {"kind": "run", "label": f"run {version.run_id}  (not in this repository)", "id": version.run_id,
                        "missing": True, "children": [self.data_node(p, h) for p, h in sorted(version.data.items())]}
        if version.data:
            return {"kind": "run", "label": "no run recorded", "id": None,
                    "children": [self.data_node(p, h) for p, h in sorted(version.data.items())]}
        return None

    def run_node(self, run, upstream: bool, downstream: bool, used: tuple | None = None) -> dict:
        facts = runs.facts(run)
        self.runs_seen.add(facts["id"])
        children = []
        if upstream:
            children += [self.data_node(p, h) for p, h in sorted(facts["data"].items())]
            children += self._stage_nodes(run)
            children += [self.output_node(p, h) for p, h in sorted(facts["outputs"].items())]
        if downstream:
            children += [self.model_node(v, upstream=False) for v in self._versions_from(facts["id"])]
        label = f"run {facts['id']}"
        for key in ("experiment", "name", "status"):
            if facts.get(key):
                label += f"  {key} {facts[key]}" if key != "status" else f"  {facts[key]}"
        if facts.get("start_time"):
            label += f"  {shown_time(facts['start_time'])}"
        if used:
            label += f"  used {used[0]} {str(used[1])[:12]}{' (current)' if used[2] else ''}"
        node = {"kind": "run", "label": label, **{k: facts[k] for k in ("id", "experiment", "name", "status",
                                                                      "start_time", "git_commit", "metrics")}}
        if used:
            node["used"] = {"path": used[0], "hash": used[1], "current": used[2]}
        node["children"] = children
        return node

    def data_node(self, path: str, digest) -> dict:
        self.data_seen.add(path)
        current = self.tracked.get(path)
        state = "" if current is None else ("  (current)" if current == digest else f"  (now {str(current)[:12]})")
        return {"kind": "data", "label": f"data {path}  {str(digest)[:12]}{state}", "path": path, "hash": digest,
                "current_hash": current, "children": self._validation_nodes(digest)}

    def output_node(self, path: str, digest) -> dict:
        """What the run wrote (a pipeline stage's output): shown, but not as data it used."""
        current = self.tracked.get(path)
        state = "" if current is None else ("  (current)" if current == digest else f"  (now {str(current)[:12]})")
        return {"kind": "output", "label": f"output {path}  {str(digest)[:12]}{state}", "path": path, "hash": digest,
                "current_hash": current, "children": self._validation_nodes(digest)}

    def data_root(self, path: str) -> dict:
        self.data_seen.add(path)
        current = self.tracked.get(path)
        children = self._validation_nodes(current)
        for run in self._runs_using(path):
            facts = runs.facts(run)
            for used_path, digest in sorted(facts["data"].items()):
                if _related(used_path, path):
                    children.append(self.run_node(run, upstream=False, downstream=True,
                                                  used=(used_path, digest, current is not None and digest == current)))
                    break
        label = f"data {path}" + (f"  {current[:12]} (current)" if current else "")
        return {"kind": "data", "label": label, "path": path, "hash": current, "current_hash": current, "children": children}

    def _validation_nodes(self, digest) -> list[dict]:
        """[the data version's last validation] or []; looked up once per version."""
        if digest not in self._validations:
            self._validations[digest] = last_validation(self.repo, digest)
        record = self._validations[digest]
        return [{"kind": "validation", "label": _validation_label(record), "validation": record,
                 "children": []}] if record else []

    def _alias_node(self, version: ModelVersion, alias: str, aliases: dict) -> dict:
        since = next((e["time"] for e in reversed(index.read_aliases(self.repo, version.name)["history"])
                      if e.get("alias") == alias and e.get("moved", True)), None)
        return {"kind": "alias", "label": f"alias {version.name}@{alias}" + (f"  since {shown_time(since)}" if since else ""),
                "alias": alias, "since": since, "children": []}

    def _deployment_node(self, d: dict) -> dict:
        state = {True: "stale", False: "running", None: f"on {d.get('hostname')}"}[d.get("stale")]
        return {"kind": "deployment", "label": f"deployed at {d['host']}:{d['port']}  pid {d['pid']} ({state})",
                **{k: d.get(k) for k in ("id", "host", "port", "pid", "hostname", "started", "stale")}, "children": []}

    def _drift_node(self, version: ModelVersion, aliases: dict) -> dict | None:
        check = latest_drift(self.repo, version.name)
        if not check:
            return None
        applies = check.get("version") == version.version if check.get("version") is not None else (
            aliases.get("production", max(int(v) for v in index.read_index(self.repo, version.name)["versions"]))
            == version.version)
        if not applies:
            return None
        drifted = check.get("dataset_drift", check.get("drift"))
        when = check.get("time") or check.get("created") or check.get("checked_at") or ""
        verdict = "drift detected" if drifted else "no drift"
        if check.get("number_of_columns"):
            verdict += f" ({check.get('number_of_drifted_columns', 0)}/{check['number_of_columns']} columns)"
        return {"kind": "drift", "label": f"last drift check: {verdict}" + (f"  {shown_time(when)}" if when else ""),
                "check": check, "children": []}

    def _stage_nodes(self, run) -> list[dict]:
        """Pipeline stages, from the tags a `pipeline run` records on its run
        (``stage.NAME.outcome``, ``stage.NAME.cache``, metric ``stage.NAME.duration_s``)."""
        tags = getattr(run, "tags", None) or {}
        metrics = getattr(run, "metrics", None) or {}
        names = sorted(k[len("stage."):-len(".outcome")] for k in tags
                       if k.startswith("stage.") and k.endswith(".outcome") and len(k) > len("stage..outcome"))
        nodes = []
        for name in names:
            outcome, cache = tags.get(f"stage.{name}.outcome"), tags.get(f"stage.{name}.cache")
            duration = metrics.get(f"stage.{name}.duration_s")
            label = f"pipeline stage {name}  {outcome}" + (f", cache {cache}" if cache else "")
            if isinstance(duration, (int, float)):
                label += f", {duration:.1f}s"
            nodes.append({"kind": "stage", "label": label, "stage": name, "outcome": outcome, "cache": cache,
                          "duration_s": duration, "children": []})
        return nodes

    # -- searches ------------------------------------------------------------------------
    def _versions_from(self, run_id: str) -> list[ModelVersion]:
        out = []
        for name in index.model_names(self.repo):
            for number, entry in sorted(index.read_index(self.repo, name)["versions"].items(), key=lambda kv: int(kv[0])):
                if entry.get("run") == run_id:
                    out.append(get_version(self.repo, f"{name}:{number}"))
        return out

    def _runs_using(self, path: str) -> list:
        try:
            every = runs.list_runs(self.repo)
        except ImportError:
            return []
        return [r for r in every if any(_related(p, path) for p in runs.inputs(r))]
