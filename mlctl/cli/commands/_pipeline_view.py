"""How `pipeline run` shows progress: a live per-stage table on a terminal, plain lines when
piped (CI logs), and always the failing stage's command and log tail."""

from __future__ import annotations

import sys
import threading
import time

from mlctl.cli import render
from mlctl.pipeline.api import FAILED, INTERRUPTED, RAN, RESTORED, SKIPPED, UP_TO_DATE, RunReport
from mlctl.pipeline.api import Observer

OUTCOME_TEXT = {UP_TO_DATE: "up to date", RESTORED: "restored from the run-cache", RAN: "ran",
                FAILED: "FAILED", SKIPPED: "skipped", INTERRUPTED: "interrupted", "not-run": "not run"}
ICONS = {UP_TO_DATE: "[green]✓[/]", RESTORED: "[cyan]↺[/]", RAN: "[green]✔[/]", FAILED: "[red]✗[/]",
         SKIPPED: "[yellow]-[/]", INTERRUPTED: "[red]![/]", "not-run": "[dim]·[/]"}


def make_observer(verbose: bool = False) -> "PlainObserver":
    if not render.is_quiet() and render.stderr_is_tty():
        return LiveObserver(verbose)
    return PlainObserver(verbose)


def failure_lines(result) -> list[str]:
    lines = [f"mlctl: stage {result.stage} failed ({result.error}): {result.cmd}"]
    lines += [f"  | {line}" for line in result.log_tail]
    if result.log:
        lines.append(f"  full log: {result.log}  (`mlctl pipeline log {result.stage}`)")
    return lines


class PlainObserver(Observer):
    """One line per event on stderr; -q keeps only failures."""

    live = False

    def __init__(self, verbose: bool):
        self.verbose = self.wants_lines = verbose
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def _say(self, text: str, always: bool = False) -> None:
        with self._lock:
            if always:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            else:
                render.info(text)

    def waiting_for_lock(self, holder: str) -> None:
        self._say(f"waiting for another `mlctl pipeline run` to finish{holder}")

    def stage_started(self, stage, action, reasons, cmd) -> None:
        why = "; ".join(r.text() for r in reasons)
        self._say(f"{stage}: {action}{f' ({why})' if why else ''}" + (f"\n  $ {cmd}" if action == "running" else ""))

    def stage_output(self, stage, line) -> None:
        if self.verbose:
            self._say(f"[{stage}] {line}")

    def stage_finished(self, result) -> None:
        if result.outcome == FAILED:
            self._say("\n".join(failure_lines(result)), always=True)
            return
        text = OUTCOME_TEXT.get(result.outcome, result.outcome)
        if result.outcome == RAN:
            text += f" in {result.duration:.1f}s"
        elif result.error:
            text += f" ({result.error})"
        self._say(f"{result.stage}: {text}")


class LiveObserver(PlainObserver):
    """A rich live table on stderr: one row per stage with its state, time and last output line."""

    live = True

    def __init__(self, verbose: bool):
        super().__init__(verbose)
        self.rows: dict[str, dict] = {}

    def __enter__(self):
        from rich.live import Live

        self._live = Live(self, console=render.get_console(stderr=True), refresh_per_second=8, transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc):
        self._live.__exit__(*exc)

    def _say(self, text: str, always: bool = False) -> None:
        from rich.text import Text

        self._live.console.print(Text(text))

    def planned(self, stages) -> None:
        with self._lock:
            self.rows = {name: {"state": "waiting", "line": "", "started": None, "duration": None} for name in stages}

    def stage_started(self, stage, action, reasons, cmd) -> None:
        from rich.spinner import Spinner

        with self._lock:  # one spinner per stage: a new one each frame would never turn
            self.rows[stage].update(state=action, started=time.monotonic(), line=cmd, spinner=Spinner("dots"))

    def stage_output(self, stage, line) -> None:
        with self._lock:
            self.rows[stage]["line"] = line
        super().stage_output(stage, line)

    def stage_finished(self, result) -> None:
        with self._lock:
            note = result.error or ("; ".join(r.text() for r in result.reasons) if result.outcome != UP_TO_DATE else "")
            self.rows[result.stage].update(state=result.outcome, duration=result.duration, line=note)
        if result.outcome == FAILED:
            self._say("\n".join(failure_lines(result)))

    def __rich__(self):
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 1))
        with self._lock:
            for name, row in self.rows.items():
                state = row["state"]
                busy = state in ("running", "restoring")
                icon = row["spinner"] if busy else Text.from_markup(ICONS.get(state, "[dim]·[/]"))
                seconds = time.monotonic() - row["started"] if busy else row["duration"]
                table.add_row(icon, Text(name, style="bold"), Text(OUTCOME_TEXT.get(state, state)),
                              Text(f"{seconds:.1f}s" if seconds is not None else "", style="dim"),
                              Text(row["line"][-100:], style="dim", no_wrap=True, overflow="ellipsis"))
        return table


def print_summary(report: RunReport, live: bool = False) -> None:
    """The table on stdout, unless the live view already shows it on this same terminal."""
    if not (live and render.stdout_is_tty()):
        render.table(["stage", "outcome", "cache", "seconds", "why"],
                     [(r.stage, OUTCOME_TEXT.get(r.outcome, r.outcome), r.cache, f"{r.duration:.2f}",
                       r.error or "; ".join(x.text() for x in r.reasons)) for r in report.results])
    counts = [f"{report.count(o)} {OUTCOME_TEXT[o]}" for o in (RAN, RESTORED, UP_TO_DATE, FAILED, SKIPPED, INTERRUPTED)
              if report.count(o)]
    verdict = "interrupted" if report.interrupted else ("done" if report.ok else "failed")
    render.info(f"pipeline {verdict} in {report.duration:.1f}s: {', '.join(counts) or 'nothing to do'}"
                + (f"; recorded as run {report.run_id}" if report.run_id else ""))
