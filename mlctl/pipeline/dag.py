"""The stage graph: edges from outputs to the deps that read them (and `after:`), checks
that name the stages involved, a stable topological order and target selection."""

from __future__ import annotations

import difflib

from mlctl.pipeline.spec import PIPELINE_FILE, Pipeline, PipelineError
from mlctl.store.paths import overlaps

LOCK_FILE = "pipeline.lock"


def link(pipeline: Pipeline) -> Pipeline:
    """Fill upstream/downstream/order; raise PipelineError on any inconsistency."""
    check_outputs(pipeline)
    upstream = {name: _upstream_of(pipeline, name) for name in pipeline.stages}
    pipeline.upstream = {name: tuple(sorted(ups, key=_position(pipeline))) for name, ups in upstream.items()}
    downstream: dict[str, list[str]] = {name: [] for name in pipeline.stages}
    for name, ups in pipeline.upstream.items():
        for up in ups:
            downstream[up].append(name)
    pipeline.downstream = {name: tuple(sorted(d, key=_position(pipeline))) for name, d in downstream.items()}
    pipeline.order = topological_order(pipeline)
    return pipeline


def _position(pipeline: Pipeline):
    index = {name: i for i, name in enumerate(pipeline.stages)}
    return index.__getitem__


def check_outputs(pipeline: Pipeline) -> None:
    """No two products overlap; no stage writes its own input or the files mlctl reads."""
    reserved = {pipeline.params_file: "the params file (an input of every stage with params)",
                PIPELINE_FILE: "the pipeline definition", LOCK_FILE: "the pipeline's lock file"}
    written: list[tuple[str, str]] = []
    for stage in pipeline.stages.values():
        for out in stage.products:
            kind = "metrics" if out in stage.metrics else "outs"
            for path, what in reserved.items():
                if overlaps(out, path):
                    raise PipelineError(f"{PIPELINE_FILE}: stages.{stage.name}.{kind}: {out} would overwrite {path}, {what}")
            for dep in stage.deps:
                if overlaps(out, dep):
                    raise PipelineError(
                        f"{PIPELINE_FILE}: stages.{stage.name}.{kind}: {out} is also an input of the same stage "
                        f"(deps: {dep}); a stage may not overwrite what it reads",
                        hint="write the result to a new path and point the next stage's deps at it")
            for other_stage, other in written:
                if overlaps(out, other):
                    who = "stage " + stage.name if other_stage == stage.name else f"stages {other_stage} and {stage.name}"
                    raise PipelineError(f"{PIPELINE_FILE}: {who} both write {_outer(out, other)} "
                                        f"({other_stage}: {other}, {stage.name}: {out})",
                                        hint="every path may be written by one stage only")
            written.append((stage.name, out))


def _outer(a: str, b: str) -> str:
    return a if len(a) <= len(b) else b


def _upstream_of(pipeline: Pipeline, name: str) -> set[str]:
    stage = pipeline.stages[name]
    ups: set[str] = set()
    for after in stage.after:
        if after not in pipeline.stages and after not in pipeline.groups:
            raise PipelineError(f"{PIPELINE_FILE}: stages.{name}.after: unknown stage {after!r}", hint=_did_you_mean(after, pipeline))
        if after in (name, stage.group):
            raise PipelineError(f"{PIPELINE_FILE}: stages.{name}.after: a stage cannot come after itself")
        ups.update(pipeline.resolve(after))  # a sweep stage: after all its instances
    for dep in stage.deps:
        ups.update(producers(pipeline, dep, exclude=name))
    return ups


def producers(pipeline: Pipeline, path: str, exclude: str | None = None) -> list[str]:
    """The stages whose outputs are ``path``, contain it, or lie inside it."""
    return [s.name for s in pipeline.stages.values()
            if s.name != exclude and any(overlaps(path, out) for out in s.products)]


def _did_you_mean(name: str, pipeline: Pipeline) -> str:
    close = difflib.get_close_matches(name, [*pipeline.names(), *pipeline.stages], n=1)
    return f"did you mean {close[0]!r}?" if close else "stages: " + ", ".join(pipeline.names())


def topological_order(pipeline: Pipeline) -> tuple[str, ...]:
    """Kahn's algorithm, taking ready stages in file order; a cycle is named in full."""
    position = _position(pipeline)
    waiting = {name: len(ups) for name, ups in pipeline.upstream.items()}
    ready = sorted((n for n, count in waiting.items() if count == 0), key=position)
    order: list[str] = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for down in pipeline.downstream[name]:
            waiting[down] -= 1
            if waiting[down] == 0:
                ready.append(down)
                ready.sort(key=position)
    if len(order) < len(pipeline.stages):
        cycle = find_cycle(pipeline, [n for n in pipeline.stages if n not in order])
        raise PipelineError(f"{PIPELINE_FILE}: stages form a cycle: {' -> '.join(cycle)}",
                            hint="a stage's deps may not come, directly or not, from its own outputs")
    return tuple(order)


def find_cycle(pipeline: Pipeline, candidates: list[str]) -> list[str]:
    """One cycle among ``candidates``, as a closed path (first == last)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for up in pipeline.upstream[name]:
            if state.get(up) == 1:
                return path[path.index(up):] + [up]
            if up not in state:
                found = visit(up)
                if found:
                    return found
        state[name] = 2
        path.pop()
        return None

    for name in candidates:
        if name not in state:
            found = visit(name)
            if found:
                return list(reversed(found))
    return candidates  # unreachable: Kahn's leftovers always contain a cycle


def select(pipeline: Pipeline, targets: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The targets and everything they need, in run order; no targets means every stage.
    A sweep stage's name selects all its instances."""
    if not targets:
        return list(pipeline.order)
    wanted: set[str] = set()
    todo = [name for t in targets for name in pipeline.resolve(t)]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(pipeline.upstream[name])
    return [name for name in pipeline.order if name in wanted]


def ancestors(pipeline: Pipeline, name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(pipeline.upstream[name])
    while todo:
        up = todo.pop()
        if up not in seen:
            seen.add(up)
            todo.extend(pipeline.upstream[up])
    return seen
