"""mlctl data versioning against DVC 3.x on the same data, run alternately in one process.

    python benchmarks/data_vs_dvc.py [--files 20000] [--file-kb 50] [--big-mib 1024] [--rounds 3]

DVC is installed into benchmarks/.venvs/dvc (never into the project). Both tools get an
identical copy of the data: N files of K KB in data/ and one big file. Each round runs
every operation for both tools, in alternating order, and the table shows medians and the
mlctl/DVC ratio with the issue's target. Before each timed step the disk is flushed
(sync), so a tool never pays for writeback the step before it left behind.

`cp -r` is timed in mlctl's turn, next to its checkout (before it in even rounds, after it
in odd ones), writing the same folder at the same place, right after the same deletion of
the 20,000 files there: on a filesystem that is slow to reuse freshly freed inodes (ext4
without a journal, as on the VM this was tuned on) a create costs up to 30 times more
near a big deletion, so a reference taken elsewhere, or at another moment, measures the
allocator rather than the copy. A second pair times both writing a folder that was not
just deleted (the old one moved aside, removed after the last round). Equivalent commands:

    cold add (empty store and stat cache)     dvc add data        | mlctl data add data
    status, nothing changed                   dvc status          | mlctl data status
    add after one file changed                dvc add data        | mlctl data add data
    checkout (copy) of the deleted folder     dvc checkout        | mlctl data checkout     (and cp -r)
    push to a local folder remote (empty)     dvc push            | mlctl data push
    pull into an empty store                  dvc fetch           | mlctl data fetch
    pull (fetch + checkout) into an empty store and folder   dvc pull data.dvc | mlctl data pull data
                                         (the data part of `mlctl pull`, for the same folder)
    status of the big file, cold stat cache   dvc status big.bin.dvc | mlctl data status big.bin
    gc keeping every commit (history below)   dvc gc -A -f        | mlctl gc --grace 0
    hashing alone (in-process) vs `cat big.bin > /dev/null` (warm page cache)

For gc, each round first commits --history versions of data/ (one file changed each) and
leaves one uncommitted version behind as garbage, so both tools walk a history, keep every
committed version's objects and remove the garbage.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import WORK_ROOT, add_smoke_flag, anchor_venv, mlctl_env, print_table  # noqa: E402

WORK = WORK_ROOT / "data_vs_dvc"
DVC_ENV = {"DVC_NO_ANALYTICS": "1", "DVC_NO_UPDATER": "1"}


def sh(cmd, cwd, env=None, check=True) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall


def generate(src: Path, files: int, kb: int, big_mib: int) -> None:
    marker = src / f".done-{files}-{kb}-{big_mib}"
    if marker.exists():
        return
    shutil.rmtree(src, ignore_errors=True)
    rng = random.Random(42)
    for i in range(files):
        folder = src / "data" / f"shard{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img{i:06d}.bin").write_bytes(rng.randbytes(kb * 1024))
    with open(src / "big.bin", "wb") as f:
        for _ in range(big_mib):
            f.write(rng.randbytes(1 << 20))
    marker.touch()


class Tool:
    name = ""

    def __init__(self, root: Path, src: Path, remote: Path):
        self.root, self.src, self.remote = root, src, remote

    def setup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        subprocess.run(["git", "init", "-q"], cwd=self.root, check=True)
        subprocess.run(["cp", "-r", str(self.src / "data"), str(self.root / "data")], check=True)
        subprocess.run(["cp", str(self.src / "big.bin"), str(self.root / "big.bin")], check=True)
        self.init()

    def run(self, *args) -> float:
        return sh(self.cmd(*args), self.root, self.env())


class Dvc(Tool):
    name = "dvc"

    def __init__(self, root, src, remote, bin_dir: Path):
        super().__init__(root, src, remote)
        self.bin = bin_dir / "dvc"

    def cmd(self, *args):
        return [str(self.bin), *args]

    def env(self):
        return {**os.environ, **DVC_ENV}

    def init(self):
        self.run("init", "-q")
        self.run("config", "core.analytics", "false")
        self.run("config", "cache.type", "copy")
        self.run("config", "core.site_cache_dir", str(self.root / ".dvc-site"))
        self.run("remote", "add", "-d", "local", str(self.remote))

    def clear_store(self):
        for p in (".dvc/cache", ".dvc-site", ".dvc/tmp"):
            shutil.rmtree(self.root / p, ignore_errors=True)

    def add(self, target="data"):
        return self.run("add", "-q", target)

    def status(self, target="data"):
        return self.run("status", target + ".dvc")

    def checkout(self):
        return self.run("checkout", "-q", "data.dvc")

    def push(self):
        return self.run("push", "-q", "data.dvc")

    def pull(self):
        return self.run("fetch", "-q", "data.dvc")

    def pull_checkout(self):
        return self.run("pull", "-q", "data.dvc")

    pointer = "data.dvc"

    def gc(self):
        return self.run("gc", "--all-commits", "--force", "-q")


class Mlctl(Tool):
    name = "mlctl"

    def cmd(self, *args):
        return [sys.executable, "-m", "mlctl", *args]

    def env(self):
        return mlctl_env()

    def init(self):
        self.run("init")
        self.run("remote", "add", "local", str(self.remote), "--default")

    def clear_store(self):
        shutil.rmtree(self.root / ".mlctl" / "objects", ignore_errors=True)
        for p in (self.root / ".mlctl" / "cache").glob("stat.sqlite*"):
            p.unlink()

    def add(self, target="data"):
        return self.run("-q", "data", "add", target)

    def status(self, target="data"):
        return self.run("data", "status", target)

    def checkout(self):
        return self.run("-q", "data", "checkout", "data")

    def push(self):
        return self.run("-q", "data", "push", "data")

    def pull(self):
        return self.run("-q", "data", "fetch", "data")  # like `dvc fetch`: pull now checks out too

    def pull_checkout(self):
        return self.run("-q", "data", "pull", "data")  # fetch + checkout of the same folder as dvc pull

    pointer = "data.mlctl"

    def gc(self):
        return self.run("-q", "gc", "--grace", "0")


def quiet_disk() -> None:
    """Flush everything written so far before a timed step, so no tool pays for the
    writeback of what the previous step (or the other tool) left in the page cache: mlctl
    makes its objects durable, and its flush would otherwise include DVC's dirty pages."""
    os.sync()
    time.sleep(0.2)


def touch_one(root: Path, round_no: int) -> None:
    victim = root / "data" / "shard007" / "img000007.bin"
    data = bytearray(victim.read_bytes())
    data[:8] = round_no.to_bytes(8, "little")
    victim.write_bytes(bytes(data))


def one_round(tool: Tool, round_no: int, samples: dict, status_repeat: int) -> None:
    rec = lambda op, t: samples.setdefault((op, tool.name), []).append(t)  # noqa: E731
    tool.clear_store()
    for pointer in ("data.dvc", "data.mlctl"):
        (tool.root / pointer).unlink(missing_ok=True)
    quiet_disk()
    rec("cold add (20k files)", tool.add())
    tool.status()  # settles racy stat-cache entries (files written just before the add)
    for _ in range(status_repeat):
        rec("status, unchanged", tool.status())
    touch_one(tool.root, round_no)
    quiet_disk()
    rec("add after 1 file changed", tool.add())
    shutil.rmtree(tool.root / "data")
    paired = tool.name == "mlctl"
    if paired and round_no % 2 == 0:
        cp_reference(tool, samples)
    quiet_disk()
    rec("checkout (copy)", tool.checkout())
    if paired and round_no % 2 == 1:
        cp_reference(tool, samples)
    shutil.rmtree(tool.remote, ignore_errors=True)
    quiet_disk()
    rec("push to local remote", tool.push())
    tool.clear_store()
    quiet_disk()
    rec("pull from local remote", tool.pull())
    tool.checkout()
    tool.clear_store()
    shutil.rmtree(tool.root / "data")
    quiet_disk()
    rec("pull (fetch + checkout)", tool.pull_checkout())


def cp_reference(tool: Tool, samples: dict) -> None:
    """`cp -r` of the source folder to where checkout writes it, under checkout's
    conditions: right after a deletion of the 20,000 files there, on a synced disk. Leaves
    the folder deleted, as checkout found it."""
    dest = tool.root / "data"
    shutil.rmtree(dest, ignore_errors=True)
    quiet_disk()
    samples.setdefault(("checkout (copy)", "cp -r"), []).append(sh(["cp", "-r", str(tool.src / "data"), str(dest)], WORK))
    shutil.rmtree(dest)


def fresh_pair(tool: Tool, round_no: int, samples: dict) -> None:
    """checkout and `cp -r` each writing a folder that was not just deleted: the workspace
    folder is moved aside (not deleted) first, and cp writes a new folder; both are
    deleted only after the last round. Alternating order, as for the paired step."""
    moved = WORK / "moved"
    moved.mkdir(exist_ok=True)
    key = "checkout into a new folder"

    def checkout():
        (tool.root / "data").rename(moved / f"data-{round_no}")
        quiet_disk()
        samples.setdefault((key, "mlctl"), []).append(tool.checkout())

    def cp():
        quiet_disk()
        samples.setdefault((key, "cp -r"), []).append(
            sh(["cp", "-r", str(tool.src / "data"), str(moved / f"cp-{round_no}")], WORK))

    for step in (checkout, cp) if round_no % 2 else (cp, checkout):
        step()


def gc_round(tool: Tool, round_no: int, samples: dict, history: int) -> None:
    """Commit ``history`` versions of data/, leave one more uncommitted (garbage once the
    pointer is restored), then time gc keeping every commit."""
    git = lambda *a: subprocess.run(["git", *a], cwd=tool.root, check=True, capture_output=True)  # noqa: E731
    for k in range(history):
        touch_one(tool.root, 1000 * round_no + k)
        tool.add()
        git("add", tool.pointer, ".gitignore")
        git("-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", f"v{round_no}.{k}")
    touch_one(tool.root, 1000 * round_no + 999)
    tool.add()
    git("checkout", "--", tool.pointer)
    shutil.rmtree(tool.root / "data")
    tool.checkout()
    quiet_disk()
    samples.setdefault(("gc, all commits kept", tool.name), []).append(tool.gc())


HASH_PROBE = """
import os, sys, time
from mlctl.store.repo import find_repo
from mlctl.data.hasher import TreeHasher
repo = find_repo()
os.utime("big.bin")  # a new mtime: the stat cache misses
time.sleep(0.1)
start = time.perf_counter()
with TreeHasher(repo, store=False) as hasher:
    hasher.hash_path("big.bin")
print(time.perf_counter() - start)
"""


def big_round(tool: Tool, samples: dict) -> None:
    rec = lambda op, t: samples.setdefault((op, tool.name), []).append(t)  # noqa: E731
    big = tool.root / "big.bin"
    if not (tool.root / ("big.bin.dvc" if tool.name == "dvc" else "big.bin.mlctl")).exists():
        quiet_disk()
        rec("add 1 GiB file", tool.add("big.bin"))
    os.utime(big)  # new mtime: the stat cache misses, the file is hashed again
    time.sleep(0.1)
    rec("status 1 GiB file, cold stat cache", tool.status("big.bin"))
    if tool.name == "mlctl":  # the hashing alone, without process startup, against cat
        out = subprocess.run([sys.executable, "-c", HASH_PROBE], cwd=tool.root, env=tool.env(),
                             capture_output=True, text=True, check=True).stdout
        samples.setdefault(("hash 1 GiB in-process", "mlctl"), []).append(float(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--file-kb", type=int, default=50)
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--status-repeat", type=int, default=3)
    ap.add_argument("--history", type=int, default=3, help="commits of data/ made before each gc")
    add_smoke_flag(ap)
    args = ap.parse_args()
    if args.smoke:
        args.files, args.file_kb, args.big_mib, args.rounds, args.status_repeat, args.history = 20, 1, 1, 1, 1, 1

    src = WORK / "src"
    print(f"generating {args.files} x {args.file_kb} KB and a {args.big_mib} MiB file ...", file=sys.stderr)
    generate(src, args.files, args.file_kb, args.big_mib)
    tools = [Mlctl(WORK / "mlctl", src, WORK / "remote-mlctl")]
    version = "-"
    if not args.smoke:
        dvc_bin = anchor_venv("dvc", "dvc>=3,<4")
        version = subprocess.run([str(dvc_bin / "dvc"), "--version"], capture_output=True, text=True).stdout.strip()
        tools.insert(0, Dvc(WORK / "dvc", src, WORK / "remote-dvc", dvc_bin))
    for tool in tools:
        tool.setup()
    samples: dict = {}
    shutil.rmtree(WORK / "moved", ignore_errors=True)  # what an interrupted earlier run left
    for r in range(args.rounds):
        order = tools if r % 2 == 0 else tools[::-1]
        for tool in order:
            print(f"round {r + 1}/{args.rounds}: {tool.name}", file=sys.stderr)
            one_round(tool, r + 1, samples, args.status_repeat)
            if tool.name == "mlctl":
                fresh_pair(tool, r + 1, samples)
            gc_round(tool, r + 1, samples, args.history)
            big_round(tool, samples)
        samples.setdefault(("hash 1 GiB in-process", "cat"), []).append(
            sh(["sh", "-c", f"cat '{src / 'big.bin'}' > /dev/null"], WORK))
    shutil.rmtree(WORK / "moved", ignore_errors=True)
    if args.smoke:
        print_table(["operation", "tool", "seconds"], [[op, tool, f"{statistics.median(v):.3f}"]
                                                      for (op, tool), v in samples.items()])
        return
    report(samples, version, args)


TARGETS = {
    "cold add (20k files)": 0.33,
    "status, unchanged": 0.2,
    "add after 1 file changed": 0.2,
    "checkout (copy)": 0.5,
    "push to local remote": 0.5,
    "pull from local remote": 0.5,
}


def report(samples: dict, version: str, args) -> None:
    if not samples:
        print("no rounds run: nothing to report")
        return
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = []
    for op in [*TARGETS, "pull (fetch + checkout)", "gc, all commits kept", "add 1 GiB file", "status 1 GiB file, cold stat cache"]:
        d, m = med.get((op, "dvc")), med.get((op, "mlctl"))
        if d is None or m is None:
            continue
        target = TARGETS.get(op)
        verdict = "" if target is None else ("ok" if m / d <= target else "MISSED")
        rows.append([op, f"{d:.3f}", f"{m:.3f}", f"{m / d:.3f}", _range(samples, (op, "mlctl"), (op, "dvc")),
                     f"<= {target}" if target else "-", verdict])
    print(f"\nDVC {version} vs mlctl; {args.files} files x {args.file_kb} KB, {args.big_mib} MiB file; "
          f"medians of {args.rounds} rounds (seconds)\n")
    print_table(["operation", "dvc", "mlctl", "mlctl/dvc", "rounds' range", "target", ""], rows)
    extra = []
    for op, label in (("checkout (copy)", "checkout vs cp -r, right after rm"),
                      ("checkout into a new folder", "checkout vs cp -r, new folders")):
        cp, co = med.get((op, "cp -r")), med.get((op, "mlctl"))
        if cp and co:
            extra.append([label, f"{cp:.3f}", f"{co:.3f}", f"{co / cp:.2f}",
                          _range(samples, (op, "mlctl"), (op, "cp -r")), "<= 1.5", "ok" if co / cp <= 1.5 else "MISSED"])
    st = med.get(("status, unchanged", "mlctl"))
    if st:
        extra.append(["mlctl status absolute", "-", f"{st:.3f}", "-", "-", "< 0.5 s", "ok" if st < 0.5 else "MISSED"])
    cat, hb = med.get(("hash 1 GiB in-process", "cat")), med.get(("hash 1 GiB in-process", "mlctl"))
    if cat and hb:
        extra.append(["1 GiB cold hash vs cat > /dev/null", f"{cat:.3f}", f"{hb:.3f}", f"{hb / cat:.2f}",
                      _range(samples, ("hash 1 GiB in-process", "mlctl"), ("hash 1 GiB in-process", "cat")), "<= 1.5",
                      "ok" if hb / cat <= 1.5 else "MISSED"])
    if extra:
        print()
        print_table(["check", "reference", "mlctl", "ratio", "rounds' range", "target", ""], extra)


def _range(samples: dict, ours: tuple, reference: tuple) -> str:
    """min-max of the per-round ratios (each round's pair was measured back to back)."""
    ratios = [a / b for a, b in zip(samples[ours], samples[reference])]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


if __name__ == "__main__":
    main()
