"""Options and helpers shared by the command modules."""

from __future__ import annotations

import os

import typer

from mlctl.errors import EXIT_FOUND, EXIT_OK

JSON_HELP = "Print one JSON document on stdout (fields: docs/json.md)."


def json_option():
    return typer.Option(False, "--json", help=JSON_HELP)


def quiet_option():
    return typer.Option(False, "-q", "--quiet", help="No progress or chatter on stderr.",
                        callback=_set_quiet, is_eager=True)


def _set_quiet(value: bool) -> bool:
    from mlctl.cli.render import set_quiet

    set_quiet(value)
    return value


def repo():
    from mlctl.store.repo import find_repo

    return find_repo()


def repo_or_none():
    """The repository, or None outside one (for commands that also work on plain files)."""
    from mlctl.errors import NotARepositoryError
    from mlctl.store.repo import find_repo

    try:
        return find_repo()
    except NotARepositoryError:
        if os.environ.get("MLCTL_DIR"):  # asked for one that is not there: say so
            raise
        return None


def found(flag: bool) -> int:
    """Exit code of a check: 1 when it found what it looks for."""
    return EXIT_FOUND if flag else EXIT_OK


def new_app(help: str, group: bool = True) -> typer.Typer:
    """A typer app for a command module; ``group`` apps keep their sub-commands even
    when they have only one."""
    app = typer.Typer(help=help, add_completion=False, no_args_is_help=group,
                      rich_markup_mode=None, pretty_exceptions_enable=False)
    if group:
        app.callback()(lambda: None)
    return app
