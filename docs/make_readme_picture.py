"""Shrink a summary sheet of ``explain`` / ``demo`` into ``docs/summary_sheet.png`` for the README (< 300 KB).

    python docs/make_readme_picture.py demo_output/explain/summary.png [--out docs/summary_sheet.png]

Keeps the sheet's first ``--max-height`` pixels (the first track of ``summary.png``, whose tracks are
stacked), scales to 900 px wide (box filter) and stores it as a palette PNG.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

MAX_BYTES = 300_000


def shrink(source: Path, out: Path, width: int = 900, max_height: int = 994) -> int:
    image = Image.open(source).convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, max_height)))
    image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.BOX)
    for colours in (256, 128, 64):
        image.quantize(colours, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
        if out.stat().st_size < MAX_BYTES:
            break
    return out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summary_png", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("summary_sheet.png"))
    parser.add_argument("--max-height", type=int, default=994, help="pixels kept from the top (one track)")
    args = parser.parse_args()
    print(f"{args.out}: {shrink(args.summary_png, args.out, max_height=args.max_height)} bytes")


if __name__ == "__main__":
    main()
