"""``python -m gmmlit``: the command line (see :mod:`gmmlit.cli`)."""

import sys

from .cli import main

sys.exit(main())
