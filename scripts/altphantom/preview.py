"""Debug previews: write a grey PNG of a 2D array (no imaging library needed)."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def write_png(path: str, img: np.ndarray, lo: float | None = None, hi: float | None = None) -> None:
    a = np.asarray(img, float)
    lo = float(np.percentile(a, 1)) if lo is None else lo
    hi = float(np.percentile(a, 99.5)) if hi is None else hi
    g = np.clip((a - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    raw = b"".join(b"\0" + g[r].tobytes() for r in range(g.shape[0]))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", g.shape[1], g.shape[0], 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    import sys
    import pydicom
    ds = pydicom.dcmread(sys.argv[1])
    a = ds.pixel_array
    if a.ndim == 3:
        a = a[int(sys.argv[3]) if len(sys.argv) > 3 else a.shape[0] // 2]
    write_png(sys.argv[2], a * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0)))
