"""Screenshot a run's report.html in headless Chromium (the picture in the README).

    python scripts/screenshot_report.py runs/demo docs/img/demo_report.png [--width 1280]

Fails if the page fetched anything (a report must be self-contained).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from culturealign.reports.browser import check_page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run folder (with report.html) or an HTML file")
    parser.add_argument("png", type=Path, help="where to write the screenshot")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    html = args.run / "report.html" if args.run.is_dir() else args.run
    args.png.parent.mkdir(parents=True, exist_ok=True)
    seen = check_page(html, screenshot=args.png, width=args.width)
    print(f"{args.png}: {seen.tables} tables, {seen.decoded_images}/{seen.images} images shown")
    if seen.requests:
        print(f"the report fetched {seen.requests}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
