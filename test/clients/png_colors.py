#!/usr/bin/python3
"""Counts the pixels of given colours in a PNG, so a test can tell that lines,
bands and marks were really drawn.

Usage: png_colors.py FILE COLOUR... ; prints {"COLOUR": count, ...}.
A COLOUR is RRGGBB, or RRGGBB/T: a pixel counts when each channel is within
T of it (default 40, for antialiased lines; a small T tells a fill from the
similar colours around it).
Pillow decodes (python3-pil): a screenshot of a long page has millions of
pixels, counted per distinct colour.
"""
import json
import sys

from PIL import Image


def main():
    args = sys.argv[1:]
    image = Image.open(args.pop(0)).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height)
    counts = {}
    for spec in args:
        hex_rgb, _, tolerance = spec.partition("/")
        tolerance = int(tolerance or 40)
        rgb = tuple(int(hex_rgb[i:i + 2], 16) for i in (0, 2, 4))
        counts[spec] = sum(n for n, px in colours
                           if all(abs(px[i] - rgb[i]) <= tolerance for i in range(3)))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
