"""`mlctl run log -- CMD`: pass-through, exit codes, signals, metrics files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from mlctl.tracking.runs import count_runs, get_run
from tests.conftest import PROJECT, run_mlctl


def _script(tmp_path, body: str) -> str:
    path = tmp_path / "cmd.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def _run_id(tmp_path) -> str:
    return (tmp_path / "id").read_text().strip()


def test_output_passes_through_unchanged_and_exit_code_is_kept(repo, tmp_path):
    script = _script(tmp_path, """
        import sys
        sys.stdout.buffer.write(b"line one\\n\\x00\\xff binary\\r\\nno newline")
        sys.stderr.buffer.write(b"warning: careful\\n")
        sys.exit(7)
    """)
    proc = subprocess.run([sys.executable, "-m", "mlctl", "run", "log", "-p", "a=1", "--id-file", str(tmp_path / "id"),
                           "--", sys.executable, script], cwd=repo.root, capture_output=True,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert proc.returncode == 7
    assert proc.stdout == b"line one\n\x00\xff binary\r\nno newline"
    err = proc.stderr.decode().splitlines()
    assert err[0] == "warning: careful"
    run = get_run(repo, _run_id(tmp_path))
    assert err[-1].startswith(f"mlctl: run {run.id} failed (exit 7")
    assert run.status == "failed" and run.exit_code == 7 and run.params == {"a": 1}
    assert run.command == f"{sys.executable} {script}"
    assert run.env["output_tail"]["stderr"] == "warning: careful\n"
    assert "no newline" in run.env["output_tail"]["stdout"]


def test_success_and_quiet(repo, tmp_path):
    script = _script(tmp_path, "print('ok')\n")
    proc = run_mlctl("-q", "run", "log", "--id-file", tmp_path / "id", "--", sys.executable, script, cwd=repo.root)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")
    run = get_run(repo, _run_id(tmp_path))
    assert run.status == "finished" and run.exit_code == 0 and run.duration > 0


def test_command_killed_by_a_signal(repo, tmp_path):
    script = _script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    proc = run_mlctl("run", "log", "--id-file", tmp_path / "id", "--", sys.executable, script, cwd=repo.root)
    assert proc.returncode == 128 + signal.SIGTERM
    assert get_run(repo, _run_id(tmp_path)).status == "killed"


def test_sigterm_to_mlctl_is_forwarded(repo, tmp_path):
    script = _script(tmp_path, """
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *a: (print("got term", flush=True), sys.exit(5)))
        print("ready", flush=True)
        time.sleep(30)
    """)
    with subprocess.Popen([sys.executable, "-m", "mlctl", "run", "log", "--id-file", str(tmp_path / "id"), "--",
                           sys.executable, script], cwd=repo.root, stdout=subprocess.PIPE, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT))) as proc:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 5 and proc.stdout.read() == "got term\n"
    run = get_run(repo, _run_id(tmp_path))
    assert run.status == "failed" and run.exit_code == 5


def test_metrics_files_written_during_the_run_are_picked_up(repo, tmp_path):
    (repo.root / "metrics.yaml").write_text("stale: 1\n")  # written before: ignored
    old = time.time() - 60
    os.utime(repo.root / "metrics.yaml", (old, old))
    script = _script(tmp_path, """
        import json
        json.dump({"acc": 0.91, "per_class": {"a": 0.8}}, open("metrics.json", "w"))
        open("extra.yaml", "w").write("auc: 0.77\\n")
    """)
    proc = run_mlctl("run", "log", "--metrics-file", "extra.yaml", "--id-file", tmp_path / "id", "--",
                     sys.executable, script, cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    assert get_run(repo, _run_id(tmp_path)).metrics == {"acc": 0.91, "per_class.a": 0.8, "auc": 0.77}


def test_unreadable_metrics_file_after_the_command(repo, tmp_path):
    script = _script(tmp_path, "open('metrics.json', 'w').write('{broken')\n")
    proc = run_mlctl("run", "log", "--id-file", tmp_path / "id", "--", sys.executable, script, cwd=repo.root)
    assert proc.returncode == 2
    assert "mlctl: error: metrics file metrics.json is not valid JSON" in proc.stderr
    run = get_run(repo, _run_id(tmp_path))
    assert run.status == "finished" and run.exit_code == 0  # the command itself succeeded


def test_artifact_written_by_the_command(repo, tmp_path):
    script = _script(tmp_path, "open('model.pkl', 'wb').write(b'trained')\n")
    proc = run_mlctl("run", "log", "--artifact", "model.pkl", "--id-file", tmp_path / "id", "--",
                     sys.executable, script, cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    run = get_run(repo, _run_id(tmp_path))
    assert repo.objects.get_bytes(run.artifacts["model.pkl"]) == b"trained"


def test_a_command_that_cannot_start_exits_127_or_126_and_is_a_failed_run(cli, repo, tmp_path):
    # like `time` and `env`: 127 not found, 126 found but not executable; the attempt is a run
    (tmp_path / "plain.txt").write_text("not a program")
    (tmp_path / "orphan.sh").write_text("#!/no/such/interpreter\n")
    (tmp_path / "orphan.sh").chmod(0o755)
    cases = [("definitely-not-a-command-xyz", 127, "command not found: definitely-not-a-command-xyz"),
             (str(tmp_path / "missing"), 127, "command not found: "),
             (str(tmp_path / "plain.txt"), 126, "command is not executable: "),
             (str(tmp_path), 126, "command is not executable: "),
             (str(tmp_path / "orphan.sh"), 126, "command is not executable: ")]
    for program, code, reason in cases:
        res = cli("run", "log", "-e", "exp", "--id-file", str(tmp_path / "id"), "--", program, "arg")
        assert res.exit_code == code, (program, res.stderr)
        assert res.stderr.startswith(f"mlctl: error: {reason}")
        run = get_run(repo, _run_id(tmp_path))
        assert run.status == "failed" and run.exit_code == code and run.experiment == "exp"
        assert run.env["error"].startswith(reason) and run.command.endswith(" arg")
    assert count_runs(repo) == len(cases)


def test_json_with_a_command_records_nothing(cli, repo):
    res = cli("run", "log", "--json", "--", "true")
    assert res.exit_code == 2 and "--json cannot be used with a command" in res.stderr
    assert count_runs(repo) == 0


def test_child_python_api_joins_without_extra_runs(repo, tmp_path):
    script = _script(tmp_path, """
        import mlctl
        with mlctl.start_run(experiment="ignored", params={"depth": 3}) as run:
            run.log_metrics({"loss": 0.25}, step=1)
        print(run.id)
    """)
    proc = run_mlctl("run", "log", "-e", "exp", "--id-file", tmp_path / "id", "--", sys.executable, script, cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    run_id = _run_id(tmp_path)
    assert proc.stdout.strip() == run_id and count_runs(repo) == 1
    run = get_run(repo, run_id)
    assert run.experiment == "exp" and run.params == {"depth": 3} and run.metrics == {"loss": 0.25}
    assert run.env["executable"] == sys.executable


def test_log_json_metric_values_in_files(repo, tmp_path):
    (repo.root / "m.json").write_text(json.dumps({"x": "NaN"}))
    proc = run_mlctl("run", "log", "--metrics-file", "m.json", "--json", cwd=repo.root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["metrics"] == {"x": "NaN"}
    assert json.loads(proc.stdout)["command"] == "mlctl run log --metrics-file m.json --json"


def test_run_show_names_why_the_command_could_not_start(cli, repo, tmp_path):
    assert cli("run", "log", "--id-file", str(tmp_path / "id"), "--", "no-such-cmd-xyz").exit_code == 127
    shown = cli("run", "show", _run_id(tmp_path))
    assert shown.exit_code == 0 and "command not found: no-such-cmd-xyz" in shown.stdout
