"""Brain 3D T1 case with a known mamillopontine distance (MPD). Deliberately simple.

A head built from ellipsoids and slabs in head coordinates (mm; +x left, +y posterior, +z up,
origin near the centre of the brain): scalp fat, skull with diploe, subarachnoid CSF, cerebrum
with cortex and white matter (a midline base at the hypothalamus, temporal lobes lower), lateral
and third ventricles, chiasm, pituitary in the sella above an air-filled sphenoid sinus, clivus
(fatty marrow), midbrain, pons (bulging anteriorly), medulla, cerebellum with the fourth
ventricle, and the mamillary bodies as one paramedian pair merged at the midline. Brain sagging
is modelled only as the mamillary bodies / hypothalamic floor descending by `sag` mm toward the
pons, so MPD = baseline - sag (truth computed numerically from the drawn surfaces on the
midsagittal plane). The head is rotated by a few degrees and sampled as a sagittal 3D T1
(1.0 x 1.0 mm, 1.1 mm slices) with a bias field and Rician noise.

This is not a plausible brain for anything but the midline landmarks of MPD; every other brain
finding is out of scope of this case.
"""

from __future__ import annotations

import math

import numpy as np

import common as cm

AIR, FAT, BONE, DIPLOE, CSF, GM, WM, PIT, MARROW = range(9)
T1 = np.array([0, 1900, 180, 900, 330, 1150, 1750, 1350, 1500], float)


def ell(p, c, r):
    return (((p[0] - c[0]) / r[0]) ** 2 + ((p[1] - c[1]) / r[1]) ** 2 + ((p[2] - c[2]) / r[2]) ** 2) <= 1.0


def seg_dist(p, a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    ab = b - a
    t = ((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1] + (p[2] - a[2]) * ab[2]) / float(ab @ ab)
    t = np.clip(t, 0, 1)
    return np.sqrt((p[0] - a[0] - t * ab[0]) ** 2 + (p[1] - a[1] - t * ab[1]) ** 2 + (p[2] - a[2] - t * ab[2]) ** 2)


class Head:
    def __init__(self, rng, sag):
        self.sag = sag
        self.s = float(rng.uniform(0.95, 1.05))
        self.mb_c = np.array([0.0, -10.0, -10.0 - sag])
        self.mb_r = np.array([4.5, 3.2, 2.6])
        self.pons_c = np.array([0.0, -1.0, -31.0])
        self.pons_r = np.array([17.0, 15.0, 13.0])

    def labels(self, x, y, z):
        s = self.s
        p = (x / s, y / s, z / s)
        lab = np.zeros(x.shape, np.int8)
        lab[ell(p, (0, 0, 5), (78, 98, 88))] = FAT
        lab[ell(p, (0, 0, 5), (73, 93, 83))] = BONE
        lab[ell(p, (0, 0, 5), (71, 91, 81)) & ~ell(p, (0, 0, 5), (68, 88, 78))] = DIPLOE
        inside = ell(p, (0, 0, 5), (66, 86, 76))
        lab[inside] = CSF
        # cerebrum: midline base at the hypothalamic floor, temporal lobes lower laterally
        base_z = np.where(np.abs(p[0]) < 20, -7.0 - self.sag * (np.abs(p[0]) < 20) * 0.8, -36.0)
        cer = ell(p, (0, 2, 12), (63, 82, 62)) & (p[2] > base_z) & ~((p[1] > 22) & (p[2] < -5))
        cer &= ~((np.abs(p[0]) < 1.2) & (p[2] > 28))  # interhemispheric fissure
        lab[cer] = GM
        wm = ell(p, (0, 2, 14), (57, 76, 55)) & cer & ~(np.abs(p[0]) < 1.2)
        lab[wm] = WM
        lab[ell(p, (-10, 2, 22), (6, 24, 6)) | ell(p, (10, 2, 22), (6, 24, 6))] = CSF  # lateral ventricles
        lab[(np.abs(p[0]) < 2.5) & (p[1] > -14) & (p[1] < 6) & (p[2] > -6 - self.sag * 0.8) & (p[2] < 10)] = CSF  # third ventricle
        lab[ell(p, (0, -21, -2), (7, 3, 1.6))] = WM  # chiasm
        # sphenoid sinus, sella, pituitary, clivus
        lab[ell(p, (0, -36, -28), (14, 11, 9))] = AIR
        lab[ell(p, (0, -31, -13), (7, 5, 3.4))] = PIT
        cl = seg_dist(p, (0, -30, -6), (0, -20, -55)) < 4.2
        cl &= np.abs(p[0]) < 11
        lab[cl] = MARROW
        lab[cl & (seg_dist(p, (0, -30, -6), (0, -20, -55)) > 3.2)] = BONE
        # brainstem and cerebellum
        mid = seg_dist(p, (0, 6.5, -6 - self.sag * 0.8), (0, 5.0, -22)) < 9.0
        mid &= (np.abs(p[0]) < 12)
        lab[mid] = WM
        lab[ell(p, self.pons_c, self.pons_r)] = WM
        lab[seg_dist(p, (0, 5, -38), (0, 8, -62)) < 8.5] = WM
        cb = ell(p, (0, 42, -30), (50, 30, 24)) & ~ell(p, (0, 42, -30), (0.1, 0.1, 0.1))
        lab[cb & (lab != WM)] = GM
        lab[ell(p, (0, 42, -30), (30, 16, 12)) & cb] = WM
        lab[ell(p, (0, 15, -30), (6, 4, 8))] = CSF  # fourth ventricle
        lab[ell(p, self.mb_c, self.mb_r)] = GM  # mamillary bodies
        return lab

    def mpd_truth(self):
        """Shortest distance between the mamillary bodies and the pons surface on x = 0 (head frame)."""
        g = np.arange(-60, 10, 0.05)
        yy, zz = np.meshgrid(np.arange(-30, 20, 0.05), g, indexing="ij")
        x0 = np.zeros_like(yy)
        mb = ell((x0, yy, zz), self.mb_c, self.mb_r)
        po = ell((x0, yy, zz), self.pons_c, self.pons_r)
        pm = np.argwhere(mb)
        pp = np.argwhere(po)
        # the lowest mamillary point and its nearest pons point
        k = pm[np.argmin(zz[mb])]
        ym, zm = yy[k[0], k[1]], zz[k[0], k[1]]
        pts = np.stack([yy[po], zz[po]], 1)
        d = np.sqrt((pts[:, 0] - ym) ** 2 + (pts[:, 1] - zm) ** 2)
        j = int(np.argmin(d))
        del pp
        return float(d[j]) * self.s, (ym * self.s, zm * self.s), (float(pts[j, 0]) * self.s, float(pts[j, 1]) * self.s)


def rot(ax, ay, az):
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def generate(study: cm.Study, kind: str, seed: int) -> dict:
    rng = cm.seeded_rng(seed, "brain/" + kind)
    sag = float(rng.choice([0.0, 0.0, 2.0, 3.5, 5.0]))
    head = Head(rng, sag)
    R = rot(*np.radians(rng.uniform(-5, 5, 3)))  # world_from_head rotation
    centre = np.array([float(rng.uniform(-3, 3)), float(rng.uniform(5, 20)), float(rng.uniform(20, 40))])
    lut = T1 * rng.uniform(0.93, 1.07, len(T1))
    sigma = float(rng.uniform(25, 45))
    nx, ny, nz = 140, 200, 190  # slices (x), columns (y), rows (z)
    dx, px = 1.1, [1.0, 1.0]
    row = np.array([0.0, 1.0, 0.0])
    col = np.array([0.0, 0.0, -1.0])
    nrm = np.cross(row, col)  # (-1, 0, 0)
    jj, ii = np.meshgrid(np.arange(nz), np.arange(ny), indexing="ij")
    frames = []
    origins = []
    nrng = cm.seeded_rng(seed, "brain/noise")
    Rt = R.T
    for k in range(nx):
        o = centre + np.array([(nx - 1) / 2 * dx - k * dx, -(ny - 1) / 2 * px[1], (nz - 1) / 2 * px[0]])
        P = o[None, None, :] + ii[..., None] * px[1] * row + jj[..., None] * px[0] * col
        Q = (P - centre) @ Rt.T  # head coordinates: R^T (p - c)
        lab = head.labels(Q[..., 0], Q[..., 1], Q[..., 2])
        img = lut[lab]
        bias = 1.0 + 0.12 * (P[..., 2] - centre[2]) / 90.0 - 0.08 * ((P[..., 1] - centre[1]) / 100.0) ** 2
        img = cm.rician(img * bias, sigma, nrng)
        frames.append(cm.to_u16(img))
        origins.append(o)
    sn = study.next_series_number()
    series_uid = cm.uid(study.case, seed, "t1")
    desc = ["t1_mprage_sag_p2_iso", "Sag 3D T1 BRAVO", "3D_T1W_TFE_SAG", "sag 3D T1 MPRAGE brain"][seed % 4]
    for k, (f, o) in enumerate(zip(frames, origins)):
        ds = study.base("MR", cm.MR_STORAGE, series_uid, sn, desc, cm.add_time(study.time, 3))
        ds.SOPInstanceUID = cm.uid(series_uid, k)
        ds.InstanceNumber = k + 1
        ds.ProtocolName = desc
        ds.BodyPartExamined = "HEAD" if seed % 3 else "BRAIN"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND", "NORM"]
        ds.ScanningSequence = ["GR", "IR"]
        ds.SequenceVariant = ["SK", "SP", "MP"]
        ds.MRAcquisitionType = "3D"
        ds.EchoTime = "2.3"
        ds.RepetitionTime = "2000"
        ds.InversionTime = "900"
        ds.FlipAngle = "8"
        ds.SliceThickness = cm.ds_str(dx)
        ds.SpacingBetweenSlices = cm.ds_str(dx)
        ds.ImagePositionPatient = [cm.ds_str(v) for v in o]
        ds.ImageOrientationPatient = [cm.ds_str(v) for v in list(row) + list(col)]
        ds.PixelSpacing = [cm.ds_str(px[0]), cm.ds_str(px[1])]
        cm.set_pixels_u16(ds, f)
        study.write(ds, f"S{sn:02d}", f"IM{k + 1:04d}.dcm", "rle" if seed % 2 else "explicit")
    mpd, pm, pp = head.mpd_truth()
    study.series.append({"series_instance_uid": series_uid, "series_number": sn, "role": "brain_t1",
                         "description": desc, "n_images": nx, "noise_sigma": sigma})
    to_world = lambda y, z: (centre + R @ np.array([0.0, y, z])).tolist()
    return {
        "description": f"brain 3D T1, sag {sag} mm, MPD {mpd:.2f} mm",
        "brain": {"mamillopontine_distance_mm": mpd, "sag_mm": sag,
                  "landmarks": {"mamillary_inferior": to_world(*pm), "pons_superior": to_world(*pp)},
                  "scope": "only the mamillopontine distance is modelled"},
    }
