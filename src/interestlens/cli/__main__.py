"""``python -m interestlens.cli``."""

import sys

from interestlens.cli import main

sys.exit(main())
