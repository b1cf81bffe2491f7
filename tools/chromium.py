"""Find the Chromium that the browser tests drive (Playwright pointed at the system browser).

    python tools/chromium.py     # prints the browser's path, or the line saying how to get one

Order: ``DCLEARN_CHROMIUM`` (a path), then ``chromium``, ``chromium-browser``,
``google-chrome`` on the PATH. Nothing is downloaded: Playwright's own browsers are not used.
"""

from __future__ import annotations

import os
import shutil
import sys

INSTALL_HINT = ("browser tests skipped: no Chromium found; install it with "
                "`sudo apt-get install chromium` (Debian/Ubuntu) or point DCLEARN_CHROMIUM "
                "at a Chromium or Chrome executable")


def find_chromium() -> str | None:
    """The path of a Chromium executable, or None."""
    given = os.environ.get("DCLEARN_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


if __name__ == "__main__":
    path = find_chromium()
    if path is None and os.environ.get("DCLEARN_REQUIRE_BROWSER") == "1":
        print(INSTALL_HINT.replace("browser tests skipped", "error: the browser tests cannot run "
                                   "(DCLEARN_REQUIRE_BROWSER=1)"))
    else:
        print(path or INSTALL_HINT)
    sys.exit(0 if path else 1)
