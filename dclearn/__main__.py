"""``python -m dclearn demo | bench | cluster``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
