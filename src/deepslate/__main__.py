"""``python -m deepslate``: the ``deepslate`` command, for a Python without its script on PATH."""
import sys

from .cli import main

sys.exit(main())
