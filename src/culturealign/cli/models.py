"""``culturealign models``: the embedded default models and their converted caches.

``export`` (merge an adapter into its base model) still lives in culturealign.cli.train with the
train/prefs group; cli/__init__.py registers it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from culturealign.cli.consoles import console, out
from culturealign.errors import CultureAlignError


def models(
    rebuild: Annotated[
        str | None, typer.Option(help="Delete and re-convert this embedded model's cache.")
    ] = None,
    convert: Annotated[
        bool, typer.Option("--convert", help="Convert every installed model not yet cached.")
    ] = False,
) -> None:
    """List the embedded default models and whether they are installed and converted."""
    from rich.table import Column, Table

    from culturealign.models.embedded import (
        EMBEDDED,
        converted_dir,
        ensure_converted,
        is_converted,
        is_installed,
    )

    if rebuild is not None:
        if rebuild not in EMBEDDED:
            raise CultureAlignError(
                f"unknown embedded model {rebuild!r}", f"choose one of: {', '.join(EMBEDDED)}"
            )
        with console.status(f"converting {rebuild} (30-90 s)"):
            ensure_converted(rebuild, rebuild=True)
    for m in EMBEDDED.values() if convert else ():
        if is_installed(m) and not is_converted(m.name):
            with console.status(f"converting {m.name} (30-90 s, once)"):
                ensure_converted(m.name)
    table = Table(
        Column("name", no_wrap=True), "kind", "installed", "converted cache", "description"
    )
    for m in EMBEDDED.values():
        cached = str(converted_dir(m.name)) if is_converted(m.name) else "not yet (first use)"
        installed = "yes" if is_installed(m) else f"no: {m.install}"
        table.add_row(m.name, "chat" if m.chat else "base", installed, cached, m.description)
    out.print(table)
    out.print("Any local transformers folder or Hugging Face hub id works as --model too.")
