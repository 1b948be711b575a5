"""Warnings a library raises about its own calls, kept out of the user's log.

transformers 5 deprecated ``gradient_checkpointing`` for ``activation_checkpointing``; PEFT
(every ``PeftModel``) and TRL (trainer set-up and training) still call the old names inside
their own code. Those warnings are the libraries' to fix and say nothing about the user's run,
so the calls we make into them go through :func:`quiet_library_deprecations`. Nothing else is
filtered: a warning about *our* use of an API still shows (and fails tests/progress).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LIBRARY_INTERNAL = r"`(is_)?gradient_checkpointing\w*` is deprecated"


@contextmanager
def quiet_library_deprecations() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_LIBRARY_INTERNAL, category=FutureWarning)
        yield
