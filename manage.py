#!/usr/bin/env python
"""Django's manage.py for developers; ``trubka`` is the same thing as a console script."""

import sys

from trubka.cli import main

if __name__ == "__main__":
    sys.exit(main())
