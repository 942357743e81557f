"""Print docs/security.md's table of hostile inputs from tests/test_hardening.py: ``python -m tests.hostile_table``."""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from tests.test_hardening import table

    print(table(), end="")
