"""`python -m server.cli` runs the m99kg command line."""

import sys

from server.cli import main

sys.exit(main())
