"""``python -m capillary``: the ``capillary`` command."""

from capillary.entrypoints.cli.app import main

main()
