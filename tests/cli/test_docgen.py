"""man/ and completions/ are generated from the CLI and must match it exactly."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mlctl.cli.docgen import build_tree, iter_nodes, render_all
from tests.conftest import PROJECT


def test_generated_files_are_up_to_date():
    files = render_all()
    stale = [rel for rel, text in files.items()
             if not (PROJECT / rel).is_file() or (PROJECT / rel).read_text(encoding="utf-8") != text]
    extra = [p.name for p in (PROJECT / "man").glob("*.1") if f"man/{p.name}" not in files]
    assert not stale and not extra, (
        f"stale: {stale}, extra: {extra}; run `python scripts/gen_docs.py` and commit the result")


def test_every_command_has_a_man_page_and_completion():
    root = build_tree()
    files = render_all()
    bash = files["completions/mlctl.bash"]
    fish = files["completions/mlctl.fish"]
    zsh = files["completions/_mlctl"]
    for child in root.children:
        assert f"man/mlctl-{child.path[0]}.1" in files
    for node in iter_nodes(root):
        if node.path:
            assert f'" {" ".join(node.path)}")' in bash
            assert f"'{node.path[-1]}" in fish
            assert f'(" {" ".join(node.path)}")' in zsh
        for p in node.params:
            for opt in p.opts if p.is_option else []:
                assert opt in bash


def test_bash_completion_works(tmp_path):
    script = PROJECT / "completions" / "mlctl.bash"
    out = subprocess.run(
        ["bash", "-c", f'source {script}; COMP_WORDS=(mlctl con); COMP_CWORD=1; _mlctl; echo "${{COMPREPLY[@]}}";'
                       'COMP_WORDS=(mlctl -C dir config ""); COMP_CWORD=4; _mlctl; echo "${COMPREPLY[@]}"'],
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "config"
    assert out[1].split() == ["get", "set", "unset", "list"]


def test_man_pages_render():
    if not shutil.which("groff"):
        pytest.skip("groff is not installed")
    for page in (PROJECT / "man").glob("*.1"):
        proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(page)], capture_output=True, text=True)
        assert proc.returncode == 0, page
        assert "warning" not in proc.stderr, (page, proc.stderr)
