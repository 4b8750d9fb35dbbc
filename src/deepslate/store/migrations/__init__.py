"""Numbered, append-only schema migrations, one list per backend.

Files are ``{backend}_{NNNN}.sql`` in this directory; entry N (1-based) takes
the schema from version N-1 to N. The runner of each backend applies the
entries after the stored version, each in its own transaction together with
the version bump, so a failed migration leaves the version where it was.
"""
from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^(?P<backend>[a-z]+)_(?P<num>\d{4})\.sql$")


def migrations(backend: str) -> list[str]:
    """The SQL scripts of ``backend`` in order; raises if the numbering has a gap."""
    found: dict[int, str] = {}
    for entry in resources.files(__name__).iterdir():
        m = _NAME.match(entry.name)
        if m and m["backend"] == backend:
            found[int(m["num"])] = entry.read_text(encoding="utf-8")
    nums = sorted(found)
    if nums != list(range(1, len(nums) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 1..n without gaps: {nums}")
    return [found[n] for n in nums]
