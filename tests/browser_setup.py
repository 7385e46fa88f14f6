"""Make sure Debian's Chromium is installed for the browser tests (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    if os.geteuid() != 0:
        print(f"error: {CHROMIUM} is missing. Run: sudo apt-get install -y chromium", file=sys.stderr)
        return 1
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("installing Debian's chromium for the browser tests ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=900)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=1200,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    if not shutil.which("chromium"):
        print("error: chromium still missing after apt-get install", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
