"""Run mlctl as `python -m mlctl` would, with the stand-in registry when the real one is absent."""

import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

if importlib.util.find_spec("mlctl.registry") is None:
    from tests.serving import fake_registry

    fake_registry.install()

from mlctl.cli.main import main  # noqa: E402

main(sys.argv[1:])
