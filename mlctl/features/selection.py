"""FEATURES: ``VIEW:FEATURE`` references, comma-separated, the option repeatable; ``VIEW`` or
``VIEW:*`` means every feature of the view. Output names are ``FEATURE``, or
``VIEW__FEATURE`` with full names (required when two views share a feature name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from mlctl.errors import UsageError
from mlctl.features.definitions import Definitions, FeatureView


@dataclass(frozen=True)
class Selection:
    """The requested features, grouped by view in first-mention order."""

    views: tuple[FeatureView, ...]
    features: dict  # view name -> tuple of feature names
    names: dict  # (view, feature) -> output column name

    def refs(self) -> list[str]:
        return [f"{v.name}:{f}" for v in self.views for f in self.features[v.name]]

    def output_names(self) -> list[str]:
        return [self.names[(v.name, f)] for v in self.views for f in self.features[v.name]]


def parse(defs: Definitions, specs: Iterable[str] | str, full_names: bool = False) -> Selection:
    if isinstance(specs, str):
        specs = [specs]
    chosen: dict[str, list[str]] = {}
    for spec in specs:
        for item in str(spec).split(","):
            item = item.strip()
            if not item:
                continue
            view_name, _, feature = item.partition(":")
            view = defs.view(view_name.strip())
            wanted = view.features if feature.strip() in ("", "*") else [_feature(view, feature.strip())]
            bucket = chosen.setdefault(view.name, [])
            bucket.extend(f for f in wanted if f not in bucket)
    if not chosen:
        raise UsageError("no features given", hint="use --features VIEW:FEATURE[,VIEW:FEATURE...] or VIEW:*")
    views = tuple(defs.views[name] for name in chosen)
    names = {(v, f): (f"{v}__{f}" if full_names else f) for v, fs in chosen.items() for f in fs}
    _check_unique(names, full_names)
    return Selection(views, {k: tuple(v) for k, v in chosen.items()}, names)


def _feature(view: FeatureView, feature: str) -> str:
    if feature not in view.features:
        raise UsageError(f"feature view {view.name!r} has no feature {feature!r} "
                         f"(it has: {', '.join(view.features)})")
    return feature


def _check_unique(names: dict, full_names: bool) -> None:
    seen: dict[str, str] = {}
    for (view, _feature), name in names.items():
        if name in seen:
            raise UsageError(f"feature {name!r} is in both {seen[name]!r} and {view!r}",
                             hint="use --full-names to name columns VIEW__FEATURE")
        seen[name] = view
