"""One error base for the whole project; the CLI maps it to a message and an exit code.

"Found something" outcomes (drift, a failed gate, changed data) are results, not errors:
they are returned to the CLI, which maps them to exit code 1.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_DAMAGE = 3
EXIT_INTERNAL = 4  # a bug in mlctl, never the user's input


class MlctlError(Exception):
    """A user-facing error: one line of message, an optional hint, an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        """Pickle by state, not by __init__ arguments (subclasses take different ones), so
        an error raised in a worker process arrives in the command unchanged."""
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls, args, state):
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UsageError(MlctlError):
    """Bad arguments or malformed input files."""


class NotFoundError(MlctlError):
    """An unknown name: run, model, path, remote, key."""


class NotARepositoryError(MlctlError):
    def __init__(self, message: str = "not an mlctl repository (or any parent)"):
        super().__init__(message, hint="run `mlctl init` to create one here")


class ObjectMissingError(MlctlError):
    """An object is not in the local store. The hint names the command that fetches it;
    callers that know where the object comes from (a tracked path, a revision) say so,
    the default fetches everything the team shares."""

    def __init__(self, digest: str, what: str = "object", hint: str | None = None):
        super().__init__(
            f"{what} {digest} is not in the local store",
            hint=hint or "run `mlctl pull --all-commits` to fetch it from the remote",
        )
        self.digest = digest


class StoreDamageError(MlctlError):
    """The store is damaged: a corrupt object, an unreadable ref."""

    exit_code = EXIT_DAMAGE


class CorruptObjectError(StoreDamageError):
    def __init__(self, digest: str, actual: str | None = None):
        detail = f" (content hashes to {actual})" if actual else ""
        super().__init__(
            f"object {digest} is corrupt{detail}",
            hint="run `mlctl fsck --repair`, then `mlctl pull --all-commits` to fetch a good copy",
        )
        self.digest = digest


class LockTimeoutError(MlctlError):
    exit_code = EXIT_DAMAGE
