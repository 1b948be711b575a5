"""``python -m culturealign.cli``: the same entry point as the ``culturealign`` script."""

from culturealign.cli import main

main()
