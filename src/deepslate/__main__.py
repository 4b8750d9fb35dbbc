"""``python -m deepslate``: the same as the ``deepslate`` command."""
import sys

from .cli import main

sys.exit(main())
