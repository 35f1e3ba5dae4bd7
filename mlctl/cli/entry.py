"""The console script and `python -m mlctl`: answers `--version` before building the CLI,
since shell prompts and scripts call it most and it needs nothing else."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from mlctl import __version__

        sys.stdout.write(f"mlctl {__version__}\n")
        sys.exit(0)
    from mlctl.cli.main import main as cli_main

    cli_main()
