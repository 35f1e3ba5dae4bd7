"""Fixtures for pipeline tests: a repository with a pipeline.yaml built from a dict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


class Project:
    """A repository with helpers to write pipeline.yaml/params.yaml and count stage runs."""

    def __init__(self, repo, counter_dir: Path):
        self.repo = repo
        self.root = repo.root
        self.counter_dir = counter_dir

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def pipeline(self, stages: dict, **top) -> None:
        self.write("pipeline.yaml", yaml.safe_dump({**top, "stages": stages}, sort_keys=False))

    def params(self, data: dict) -> None:
        self.write("params.yaml", yaml.safe_dump(data, sort_keys=False))

    def counted(self, name: str, cmd: str) -> str:
        """``cmd`` that also appends a line to a counter outside the repository."""
        return f"echo x >> {self.counter_dir / name}; {cmd}"

    def runs(self, name: str) -> int:
        path = self.counter_dir / name
        return len(path.read_text().splitlines()) if path.exists() else 0

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def lock(self) -> dict:
        return yaml.safe_load((self.root / "pipeline.lock").read_text())


@pytest.fixture
def project(repo, tmp_path):
    counters = tmp_path / "counters"
    counters.mkdir()
    return Project(repo, counters)


@pytest.fixture
def chain(project):
    """prepare -> train -> evaluate, plus an independent `report` stage; params for two stages."""
    project.write("data/raw/a.csv", "x,y\n1,2\n")
    project.write("data/raw/b.csv", "x,y\n3,4\n")
    project.params({"prepare": {"split": 0.2}, "train": {"C": 1.0, "seed": 7}})
    project.pipeline({
        "prepare": {"cmd": project.counted("prepare", "mkdir -p data/prepared && cat data/raw/*.csv > data/prepared/all.csv"),
                    "deps": ["data/raw"], "params": ["prepare.split"], "outs": ["data/prepared"]},
        "train": {"cmd": project.counted("train", "cat data/prepared/all.csv params.yaml > model.pkl"),
                  "deps": ["data/prepared"], "params": ["train"], "outs": ["model.pkl"]},
        "evaluate": {"cmd": project.counted("evaluate", "cksum < model.pkl > eval.txt; "
                                                        "echo '{\"acc\": 0.91, \"loss\": 0.2}' > metrics.json"),
                     "deps": ["model.pkl"], "outs": ["eval.txt"], "metrics": ["metrics.json"]},
        "report": {"cmd": project.counted("report", "echo report > report.txt"), "outs": ["report.txt"]},
    })
    return project


def dump(data) -> str:
    return json.dumps(data, indent=1)
