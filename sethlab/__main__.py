"""`python -m sethlab` runs the command line."""

import sys

from sethlab.app.cli import main

sys.exit(main())
