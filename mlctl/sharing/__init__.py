"""`mlctl push` / `mlctl pull`: every component's share of a project, in one command.
Its door is ``mlctl.sharing.api``."""
