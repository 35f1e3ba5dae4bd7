"""`mlctl hooks install`: git hooks that keep data in step with git.

    post-checkout   after a branch checkout, `mlctl data checkout` (data follows the branch)
    pre-push        `mlctl push` to the default remote: the data of the commits being pushed
                    (git names them on stdin), runs, pipeline run-cache, model registry; a
                    failed push stops git push, conflicts (exit 1) are shown and let it go on
    pre-commit      warn when tracked data changed but was not re-added (never blocks)

A hook already in place that is not ours is kept as ``<hook>.pre-mlctl`` and run first,
with the same arguments and stdin; its failure stops the hook as it would have alone.
Installing again updates our hooks in place; ``uninstall`` puts the originals back.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlctl.errors import UsageError
from mlctl.store.atomic import atomic_write_text
from mlctl.store.repo import Repo

MARKER = "# mlctl-managed hook"
CHAINED_SUFFIX = ".pre-mlctl"
HOOKS = ("post-checkout", "pre-push", "pre-commit")

PRELUDE = """#!/bin/sh
{marker} ({name}): installed by `mlctl hooks install`; `mlctl hooks uninstall` removes it.
chained="$(dirname "$0")/{name}{suffix}"
mlctl_run() {{
    if [ -x {python} ]; then {python} -m mlctl "$@"; else mlctl "$@"; fi
}}
"""

BODIES = {
    "post-checkout": """if [ -x "$chained" ]; then "$chained" "$@" || exit $?; fi
# $3 is 1 for a branch checkout, 0 for a file checkout (`git checkout -- FILE`)
[ "$3" = "1" ] || exit 0
mlctl_run -q data checkout || echo "mlctl: data checkout failed; fix the above and run it again" >&2
exit 0
""",
    "pre-push": """input=$(cat)
if [ -x "$chained" ]; then
    { [ -n "$input" ] && printf '%s\\n' "$input"; } | "$chained" "$@" || exit $?
fi
if mlctl_run remote list 2>/dev/null | grep -q .; then
    printf '%s\n' "$input" | mlctl_run -q push --pre-push "$1"
    case $? in
        0) ;;
        1) echo "mlctl: warning: mlctl push reported conflicts (above); git push goes on" >&2 ;;
        *) echo "mlctl: push failed, so git push stopped (git push --no-verify skips this)" >&2
           exit 1 ;;
    esac
fi
exit 0
""",
    "pre-commit": """if [ -x "$chained" ]; then "$chained" "$@" || exit $?; fi
mlctl_run -q data status >/dev/null 2>&1
case $? in
    0) ;;
    1) echo "mlctl: warning: tracked data changed; \\`mlctl data status\\` lists it, \\`mlctl data add PATH\\` records it" >&2 ;;
    *) echo "mlctl: warning: \\`mlctl data status\\` failed; run it to see why" >&2 ;;
esac
exit 0
""",
}


@dataclass
class HookChange:
    hook: str
    action: str  # installed | updated | removed | restored | absent
    chained: str | None = None

    def to_json(self) -> dict:
        return {"hook": self.hook, "action": self.action, "chained": self.chained}


def hooks_dir(repo: Repo) -> Path:
    try:
        proc = subprocess.run(["git", "rev-parse", "--git-path", "hooks"], cwd=repo.root,
                              capture_output=True, text=True)
    except FileNotFoundError:
        raise UsageError("git is not installed") from None
    if proc.returncode != 0:
        raise UsageError("this workspace is not a git repository", hint="run `git init` first")
    path = Path(proc.stdout.strip())
    return path if path.is_absolute() else repo.root / path


def script(name: str) -> str:
    prelude = PRELUDE.format(marker=MARKER, name=name, suffix=CHAINED_SUFFIX, python=shlex.quote(sys.executable))
    return prelude + BODIES[name]


def is_ours(path: Path) -> bool:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return MARKER in f.read(4096)
    except (FileNotFoundError, IsADirectoryError):
        return False


def install(repo: Repo) -> list[HookChange]:
    folder = hooks_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    changes = [_install_one(folder, name) for name in HOOKS]
    return changes


def _install_one(folder: Path, name: str) -> HookChange:
    target = folder / name
    chained = folder / (name + CHAINED_SUFFIX)
    action = "installed"
    if is_ours(target):
        action = "updated"
    elif os.path.lexists(target):
        if os.path.lexists(chained):
            raise UsageError(f"{target} exists and so does {chained.name}; mlctl will not overwrite either",
                             hint="merge them by hand, then run `mlctl hooks install` again")
        os.rename(target, chained)
    atomic_write_text(target, script(name))
    os.chmod(target, 0o755)
    return HookChange(name, action, str(chained) if os.path.lexists(chained) else None)


def uninstall(repo: Repo) -> list[HookChange]:
    folder = hooks_dir(repo)
    changes = []
    for name in HOOKS:
        target, chained = folder / name, folder / (name + CHAINED_SUFFIX)
        if not is_ours(target):
            changes.append(HookChange(name, "absent"))
            continue
        os.unlink(target)
        if os.path.lexists(chained):
            os.rename(chained, target)
            changes.append(HookChange(name, "restored", str(target)))
        else:
            changes.append(HookChange(name, "removed"))
    return changes
