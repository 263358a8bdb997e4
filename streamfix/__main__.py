"""``python -m streamfix`` is the ``streamfix`` command."""

from streamfix.cli import main

main()
