"""``--workers`` / ``--ray-address``: the Ray options every generation-heavy command shares."""

from __future__ import annotations

from typing import Annotated

import typer

Workers = Annotated[
    int | None,
    typer.Option(
        help="Generate on N Ray actors, each holding its own model (docs/scaling.md); sampled "
        "outputs are the same for any N."
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(help="With --workers: join this Ray cluster (e.g. auto); else local Ray."),
]
