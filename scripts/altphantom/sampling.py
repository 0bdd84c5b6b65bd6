"""Sampling an analytic model on DICOM slice grids, with partial volume."""

from __future__ import annotations

import numpy as np


def plane_points(origin, row_dir, col_dir, rows, cols, spacing_rc, ss=2):
    """World points of a slice (rows x cols) supersampled ss x ss per pixel.

    `spacing_rc` is DICOM Pixel Spacing: [row spacing (between rows, along col_dir), column
    spacing (between columns, along row_dir)]. `origin` is the centre of the first pixel.
    Returns arrays of shape (rows*ss, cols*ss, 3).
    """
    dr, dc = spacing_rc
    offs = (np.arange(ss) + 0.5) / ss - 0.5
    jj = (np.arange(rows)[:, None] + offs[None, :]).ravel()
    ii = (np.arange(cols)[:, None] + offs[None, :]).ravel()
    J, I = np.meshgrid(jj, ii, indexing="ij")
    o = np.asarray(origin, float)
    r = np.asarray(row_dir, float)
    c = np.asarray(col_dir, float)
    return o[None, None, :] + I[..., None] * dc * r[None, None, :] + J[..., None] * dr * c[None, None, :]


def render_slice(value_fn, origin, row_dir, col_dir, normal, rows, cols, spacing_rc, thickness, ss=2, nz=3, blur=0.0):
    """Mean of value_fn over the pixel footprint and the slice thickness (box profile)."""
    acc = np.zeros((rows, cols))
    n = np.asarray(normal, float)
    zoffs = ((np.arange(nz) + 0.5) / nz - 0.5) * thickness
    for dz in zoffs:
        p = plane_points(np.asarray(origin, float) + dz * n, row_dir, col_dir, rows, cols, spacing_rc, ss)
        v = value_fn(p[..., 0].ravel(), p[..., 1].ravel(), p[..., 2].ravel()).reshape(rows * ss, cols * ss)
        acc += v.reshape(rows, ss, cols, ss).mean(axis=(1, 3))
    acc /= nz
    if blur > 0:
        acc = gauss2d(acc, blur)
    return acc


def gauss2d(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (sigma in pixels), edges replicated: the scanner's point spread."""
    n = max(1, int(3 * sigma + 0.5))
    k = np.exp(-0.5 * (np.arange(-n, n + 1) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(img, n, mode="edge")
    p = sum(k[i] * p[i:i + img.shape[0], :] for i in range(2 * n + 1))
    p = sum(k[i] * p[:, i:i + img.shape[1]] for i in range(2 * n + 1))
    return p
