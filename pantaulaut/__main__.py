"""``python -m pantaulaut`` runs the command line."""

import sys

from pantaulaut.cli import main

sys.exit(main())
