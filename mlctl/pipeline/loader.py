"""Load and validate pipeline.yaml and params.yaml together: one call, every check."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mlctl.data.api import pull_command
from mlctl.pipeline import dag
from mlctl.pipeline.params import check_params, load_params
from mlctl.pipeline.spec import PIPELINE_FILE, Pipeline, PipelineError, parse, read_yaml
from mlctl.store import paths
from mlctl.store.repo import Repo


@dataclass
class Project:
    """A validated pipeline and the params it reads."""

    pipeline: Pipeline
    params: dict | None


def exists(repo: Repo) -> bool:
    return (repo.root / PIPELINE_FILE).is_file()


def load(repo: Repo, check_deps: bool = True) -> Project:
    pipeline = dag.link(parse(read_yaml(repo.root / PIPELINE_FILE, PIPELINE_FILE), repo.root))
    params = load_params(repo.root, pipeline.params_file)
    check_params(pipeline, params)
    check_paths(repo, pipeline)
    if check_deps:
        check_dependencies(repo, pipeline)
    return Project(pipeline, params)


def check_paths(repo: Repo, pipeline: Pipeline) -> None:
    """Every path a stage reads or writes resolves inside the repository (no symlinked
    folder leading out or into .git): refused before anything is deleted or written."""
    for stage in pipeline.stages.values():
        for key in ("deps", "outs", "metrics"):
            for rel in getattr(stage, key):
                paths.resolve(repo.root, rel, f"{PIPELINE_FILE}: stages.{stage.name}.{key}", error=PipelineError)


def check_dependencies(repo: Repo, pipeline: Pipeline) -> None:
    """A dep no stage writes must exist in the workspace (else: an unknown dependency)."""
    for stage in pipeline.stages.values():
        for dep in stage.deps:
            if dag.producers(pipeline, dep, exclude=stage.name):
                continue
            if os.path.lexists(repo.root / dep):
                continue
            pointer = repo.root / (dep + ".mlctl")
            hint = (f"it is tracked data that is not here: `{pull_command(dep)}`"
                    if pointer.is_file() else "add a stage whose outs include it, or fix the path")
            raise PipelineError(f"{PIPELINE_FILE}: stages.{stage.name}.deps: {dep} does not exist and no stage writes it",
                                hint=hint)
