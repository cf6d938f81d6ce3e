"""Render a version report (or any HTML file) in headless Chromium and save a screenshot.

    sftops report sftops-sentiment@champion -o report.html
    python scripts/render_report.py report.html -o report.png [--width 1200 --height 5000]

Checks by eye that the self-contained page renders offline (no network, images inline). Needs Debian's
`chromium` (apt-get install chromium); CI has none, so this is a script, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(html: Path, png: Path, width: int, height: int, timeout: float = 120.0) -> Path:
    """Load `html` in headless Chromium with the network off and write a `width` x `height` PNG of the page."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no chromium on PATH: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="render-report-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # any fetch from the page would fail
               f"--window-size={width},{height}", f"--screenshot={png.resolve()}", html.resolve().as_uri()]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not png.is_file():
        raise SystemExit(f"chromium failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the report (from `sftops report ... -o FILE`)")
    parser.add_argument("-o", "--output", type=Path, help="PNG to write (default: the HTML's name with .png)")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=5000, help="viewport height: the part of the page captured")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        raise SystemExit(f"{args.html}: no such file")
    png = screenshot(args.html, args.output or args.html.with_suffix(".png"), args.width, args.height)
    print(f"{args.html} -> {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
