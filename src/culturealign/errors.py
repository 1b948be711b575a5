"""The one error type users see: a message naming the problem and a hint naming the fix."""

from __future__ import annotations


class CultureAlignError(Exception):
    """A problem the user can act on. The CLI prints it without a traceback and exits 2."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"
