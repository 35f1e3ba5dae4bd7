"""The `mlctl` entry point: a typer group that loads command modules lazily.

Every module in mlctl/cli/commands/ is a top-level command (``foo_bar.py`` -> ``foo-bar``)
exposing a typer ``app``; its docstring's first line is the short help shown by
``mlctl --help``, read from the file so that listing commands imports none of them.
Errors become one line on stderr and an exit code here, and nowhere else.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import sys
from pathlib import Path

import typer
from typer import _click
from typer.core import TyperGroup, TyperOption
from typer.exceptions import Abort, Exit

from mlctl import __version__
from mlctl.errors import EXIT_DAMAGE, EXIT_INTERNAL, EXIT_USAGE, MlctlError

COMMANDS_DIR = Path(__file__).with_name("commands")


def command_modules() -> dict[str, str]:
    """command name -> module stem, from the files in mlctl/cli/commands/."""
    found = {}
    for entry in os.scandir(COMMANDS_DIR):
        if entry.name.endswith(".py") and not entry.name.startswith("_"):
            stem = entry.name[:-3]
            found[stem.replace("_", "-")] = stem
    return found


def short_help(stem: str) -> str:
    with open(COMMANDS_DIR / f"{stem}.py", encoding="utf-8") as f:
        first = f.readline().strip()
    return first.strip('"').strip("'").rstrip(".")


class RootGroup(TyperGroup):
    def list_commands(self, ctx):
        return sorted(command_modules())

    def get_command(self, ctx, name):
        stem = command_modules().get(name)
        if stem is None:
            return None
        module = importlib.import_module(f"mlctl.cli.commands.{stem}")
        command = typer.main.get_command(module.app)
        command.name = name
        _add_quiet(command)
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # typer would turn it into a silent exit 130
            raise MlctlError("interrupted", exit_code=130) from None
        except BrokenPipeError:  # click would turn it into a silent exit 1 ("found something")
            raise StdoutClosed() from None

    def format_commands(self, ctx, formatter):
        rows = [(name, short_help(stem)) for name, stem in sorted(command_modules().items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        code = run(self, args, prog_name or "mlctl", **extra)
        if standalone_mode:
            sys.exit(code)
        return code


def _add_quiet(command) -> None:
    """Every command takes -q/--quiet after its name too (`mlctl data add -q x`)."""
    if not any("-q" in getattr(p, "opts", ()) for p in command.params):
        command.params.append(TyperOption(
            param_decls=["-q", "--quiet"], is_flag=True, expose_value=False, default=False,
            callback=lambda ctx, param, value: _quiet(value), help="No progress or chatter on stderr."))
    for sub in getattr(command, "commands", {}).values():
        _add_quiet(sub)


class StdoutClosed(Exception):
    """The reader of stdout went away (`mlctl run list | head`): exit quietly."""


def run(group: TyperGroup, args, prog_name: str, **extra) -> int:
    args = list(sys.argv[1:] if args is None else args)
    _error_format["json"] = _wants_json(args)
    try:
        rv = TyperGroup.main(group, args, prog_name, standalone_mode=False, **extra)
        sys.stdout.flush()  # a closed pipe found here, not by the interpreter's exit
        return rv if isinstance(rv, int) else 0
    except (Exception, KeyboardInterrupt) as exc:  # every error ends here: one message, one exit code
        return _report(exc, prog_name)


def _debug() -> bool:
    return os.environ.get("MLCTL_DEBUG", "") not in ("", "0")


def _report(exc: BaseException, prog_name: str) -> int:
    if _debug() and not isinstance(exc, (_click.exceptions.ClickException, Exit, StdoutClosed, BrokenPipeError)):
        _print_traceback()
    if isinstance(exc, MlctlError):
        return _error(exc.message, exc.hint, exc.exit_code)
    if isinstance(exc, _click.exceptions.NoArgsIsHelpError):
        sys.stdout.write(exc.ctx.get_help() + "\n")
        return EXIT_USAGE
    if isinstance(exc, _click.exceptions.UsageError):
        path = exc.ctx.command_path if exc.ctx else prog_name
        return _error(exc.format_message(), f"see `{path} --help`", EXIT_USAGE)
    if isinstance(exc, _click.exceptions.ClickException):
        return _error(exc.format_message(), None, EXIT_USAGE)
    if isinstance(exc, Exit):
        return exc.exit_code
    if isinstance(exc, (Abort, KeyboardInterrupt)):
        return _error("interrupted", None, 130)
    if isinstance(exc, (StdoutClosed, BrokenPipeError)):
        _silence_stdout()
        return EXIT_SIGPIPE
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        # the machine failing a write is store trouble (SPEC: exit 3); anything else is input
        code = EXIT_DAMAGE if exc.errno in _MACHINE_ERRNOS else EXIT_USAGE
        return _error(f"{exc.strerror or exc}{where}", None, code)
    trouble = _sqlite_trouble(exc) or _backend_trouble(exc)
    if trouble:
        return _error(*trouble, EXIT_DAMAGE)
    # a bug, not a user error: say so, and how to see more
    return _error(f"internal error: {type(exc).__name__}: {exc}", "MLCTL_DEBUG=1 shows the traceback", EXIT_INTERNAL)


_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})
EXIT_SIGPIPE = 141  # what a shell reports for a process killed by SIGPIPE (128 + 13)
_error_format = {"json": False}


def _wants_json(args: list[str]) -> bool:
    """--json among mlctl's own arguments (not those after `--`, which belong to a command)."""
    own = args[: args.index("--")] if "--" in args else args
    return "--json" in own


def _sqlite_trouble(exc: BaseException) -> tuple[str, str] | None:
    """SQLite's word that a file is damaged, unwritable or locked (found mid-query, after it
    opened): store trouble (exit 3), as message and hint. Other SQLite errors are bugs."""
    if type(exc).__module__ != "sqlite3":
        return None
    from mlctl.store.sqlite import is_damage, is_unwritable

    if is_damage(exc):
        return f"a database under .mlctl is damaged: {exc}", "`mlctl fsck` names it; `mlctl fsck --repair` rebuilds it"
    if is_unwritable(exc):
        return f"a database under .mlctl cannot be written: {exc}", "free disk space or make .mlctl writable"
    if "locked" in str(exc).lower():
        return f"a database under .mlctl stayed locked: {exc}", "another mlctl process holds it; try again"
    return None


def _backend_trouble(exc: BaseException) -> tuple[str, str] | None:
    """The PostgreSQL backend lost or failing mid-command (after it connected): store
    trouble (exit 3). Other psycopg errors are bugs."""
    if not type(exc).__module__.startswith("psycopg"):
        return None
    import psycopg

    if isinstance(exc, psycopg.OperationalError):
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"the backend failed: {detail}", "the change in progress was rolled back; run the command again"
    return None


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def _error(message: str, hint: str | None, code: int) -> int:
    """Say what went wrong on stderr: a line (and hint), or with --json one JSON object."""
    if _error_format["json"]:
        body = {"error": {"message": message, "hint": hint, "code": code}}
        sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        from mlctl.cli.render import error_line

        error_line(message, hint)
    return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _chdir(value: list[str] | None):
    for folder in value or ():
        try:
            os.chdir(folder)
        except OSError as exc:
            raise MlctlError(f"cannot change to {folder}: {exc.strerror}") from None
    return value


def _quiet(value: bool) -> bool:
    if value:
        from mlctl.cli.render import set_quiet

        set_quiet(True)
    return value


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mlctl {__version__}\n")
        raise Exit(0)


app = typer.Typer(
    cls=RootGroup,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="mlctl: data versioning, experiment tracking, features, pipelines, model registry, "
    "serving, monitoring and retraining, in one git-style CLI.",
)


@app.callback(no_args_is_help=True)
def _root(
    chdir: list[str] = typer.Option(None, "-C", metavar="DIR", callback=_chdir, is_eager=True,
                                    help="Run as if mlctl was started in DIR."),
    quiet: bool = typer.Option(False, "-q", "--quiet", callback=_quiet, help="No progress or chatter on stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    pass


cli = typer.main.get_command(app)


def main(argv=None) -> None:
    cli.main(args=argv, prog_name="mlctl")

