"""`python -m vidassets.cli ...` is `vidassets ...`."""

import sys

from vidassets.cli import main

sys.exit(main())
