#!/usr/bin/python3
"""Counts the pixels of given colours in a PNG (8-bit RGB or RGBA, not
interlaced: what Chromium writes), so a test can tell that lines were really
drawn. Usage: png_colors.py FILE RRGGBB... ; prints {"RRGGBB": count, ...}.
A pixel counts when each channel is within 40 of the colour (antialiasing).
"""
import json
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(width):
            yield tuple(line[x * channels:x * channels + 3])
        prev = line


def main():
    wanted = {h: tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in sys.argv[2:]}
    counts = dict.fromkeys(wanted, 0)
    for px in pixels(sys.argv[1]):
        for name, rgb in wanted.items():
            if all(abs(px[i] - rgb[i]) <= 40 for i in range(3)):
                counts[name] += 1
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
