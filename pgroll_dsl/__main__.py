"""``python -m pgroll_dsl`` runs the command line."""

from pgroll_dsl.cli import main

main()
