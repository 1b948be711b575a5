"""The CLI's two consoles: messages and progress on stderr, results on stdout."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
