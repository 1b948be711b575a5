"""``python -m culturealign``: the CLI, so launchers that take a module can start it
(``accelerate launch --num_processes 2 --cpu -m culturealign train dpo ...``)."""

from culturealign.cli import main

if __name__ == "__main__":
    main()
