"""``python -m lifecast.worker``: the same as ``lifecast worker``.

The panels start this form, so a venv's Python is all they need to know (no console script on the PATH).
"""

from __future__ import annotations

import sys

from lifecast.cli import main

if __name__ == "__main__":
    sys.exit(main(["worker", *sys.argv[1:]]))
