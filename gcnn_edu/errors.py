"""The package's error for input it cannot use, found after the arguments were parsed."""

from __future__ import annotations

__all__ = ["GcnnEduError"]


class GcnnEduError(ValueError):
    """A file, folder, device or argument that gcnn-edu cannot use; the message names it and the fix.

    It is a ``ValueError``, so ``except ValueError`` still catches it. The ``gcnn-edu`` command
    prints it as one line, ``gcnn-edu <command>: error: <message>``, and exits with code 2;
    any other exception is a bug and keeps its traceback.
    """
