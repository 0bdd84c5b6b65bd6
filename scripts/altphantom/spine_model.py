"""An analytic spine (C2..S1) in patient LPS millimetres, evaluated at arbitrary points.

Independent of csfleak's own generator. Choices (see docs/altphantom.md):
* a canal centreline with cervical lordosis, thoracic kyphosis, lumbar lordosis and a posteriorly
  sloping sacrum, plus a mild scoliosis; cross-sections are defined perpendicular to it;
* vertebral bodies as rounded boxes (superellipse, exponent 4) with cortical shell and endplates,
  discs with nucleus and annulus (lower lumbar discs degenerated, darker on T2);
* an elliptical dural sac (trefoil-shaped bony canal in the lumbar spine), 0.7 mm dura, cord
  ending at L1/2, cauda equina roots lying dorsally, root sleeves at every level, ventral epidural
  veins, epidural fat;
* optional epidural CSF collection (ventral / dorsal / circumferential crescent with cosine taper
  and a dural defect), CT leak blobs and a needle tract.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = ["C2", "C3", "C4", "C5", "C6", "C7"] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)] + ["S1"]

# tissue labels
AIR, SUBCUT, MUSCLE, PREVERT, CANC, CORT, ANNULUS, NUCLEUS, EPIFAT, VEIN, DURA, CSF, CORD, COLL, LEAK, ROOT, PLEXUS = range(17)


def level_index(name: str) -> float:
    """C2 = 0 .. S1 = 23; a disc 'L3/4' is the upper vertebra + 0.5."""
    if "/" in name:
        up = name.split("/")[0]
        return LEVELS.index(up) + 0.5
    return float(LEVELS.index(name))


def smooth(y: np.ndarray, sigma_samples: float) -> np.ndarray:
    n = int(3 * sigma_samples) + 1
    k = np.exp(-0.5 * (np.arange(-n, n + 1) / sigma_samples) ** 2)
    k /= k.sum()
    yp = np.pad(y, n, mode="edge")
    return np.convolve(yp, k, mode="valid")


class Spine:
    def __init__(self, rng: np.random.Generator, collection: dict | None = None, ct_leak: dict | None = None,
                 puncture: dict | None = None):
        s = float(rng.uniform(0.93, 1.07))  # body size
        self.scale = s
        heights = []
        for name in LEVELS:
            if name == "C2":
                b, d = 19.0, 4.5
            elif name[0] == "C":
                b, d = 13.5, 5.0
            elif name[0] == "T":
                i = int(name[1:])
                b, d = 15.5 + 0.7 * i, 4.3 + 0.2 * i
            elif name[0] == "L":
                i = int(name[1:])
                b = [26.0, 27.0, 27.5, 27.5, 26.0][i - 1]
                d = [9.0, 10.0, 10.5, 11.0, 12.0][i - 1]
            else:
                b, d = 30.0, 0.0
            heights.append((b * s, d * s))
        # along-canal coordinate s runs downward from the top of C2 at s_top.
        z = 400.0 + float(rng.uniform(-20, 20))
        self.levels = []
        for name, (b, d) in zip(LEVELS, heights):
            top = z
            bot = z - b
            dbot = bot - d
            self.levels.append({"level": name, "body_top_s": top, "body_bottom_s": bot, "disc_bottom_s": dbot})
            z = dbot
        self.s_top = self.levels[0]["body_top_s"] + 25.0
        self.s_bot = self.levels[-1]["body_bottom_s"] - 60.0  # sacrum below S1
        # centreline y(s), x(s) on a fine grid of s (s ~ z for small slopes; stored exactly as z)
        self.grid = np.arange(self.s_bot - 40, self.s_top + 40, 0.25)
        cps = []
        kc, kt, kl = rng.uniform(0.6, 1.3, 3)

        def mid(n):
            lv = self.levels[LEVELS.index(n)]
            return 0.5 * (lv["body_top_s"] + lv["body_bottom_s"])
        cps = [(self.s_top + 40, 8.0), (mid("C2"), 0.0), (mid("C5"), -11.0 * kc), (mid("T1"), 0.0),
               (mid("T7"), 28.0 * kt), (mid("T12"), 6.0), (mid("L3"), -22.0 * kl), (mid("S1"), 5.0),
               (self.s_bot, 45.0), (self.s_bot - 40, 70.0)]
        cps.sort()
        ys = np.interp(self.grid, [c[0] for c in cps], [c[1] for c in cps])
        self.yc = smooth(ys, 60.0)
        amp = float(rng.uniform(2.0, 6.0)) * (1 if rng.random() < 0.5 else -1)
        self.xc = amp * np.sin((self.grid - self.s_bot) / (self.s_top - self.s_bot) * math.pi)
        self.dyds = np.gradient(self.yc, self.grid)
        self.dxds = np.gradient(self.xc, self.grid)
        # per-level cross-section parameters interpolated along s
        self._lookup_tables()
        idx = self.level_at(self.grid)
        def by_region(c, t, l):
            return np.where(idx < 5.5, c, np.where(idx < 17.5, t, l))
        self.a_s = smooth(by_region(9.5, 7.2, 8.8) * s, 40)   # sac half-width (LR)
        self.b_s = smooth(by_region(6.5, 6.0, 7.2) * s, 40)   # sac half-depth (AP)
        # sac ends in the sacrum
        sac_end = self.levels[-1]["body_bottom_s"] - 14.0
        self.sac_end = sac_end
        taper = np.clip((self.grid - sac_end) / 35.0, 0.0, 1.0)
        self.a_s = self.a_s * np.sqrt(taper)
        self.b_s = self.b_s * np.sqrt(taper)
        conus = self.levels[LEVELS.index("L1")]["disc_bottom_s"]
        self.conus = conus
        ct = np.clip((self.grid - conus) / 30.0, 0.0, 1.0)
        self.a_c = smooth(by_region(6.5, 4.3, 4.6) * s, 40) * np.sqrt(ct)
        self.b_c = smooth(by_region(4.0, 3.9, 3.9) * s, 40) * np.sqrt(ct)
        self.body_hw = smooth(by_region(9.5, 14.0, 22.0) * s, 40)
        self.body_depth = smooth(by_region(16.0, 25.0, 32.0) * s, 40)
        self.trefoil = smooth(np.where(idx > 17.5, 1.0, 0.0), 30)
        self.dura = 0.7
        self.mv, self.md, self.ml = 4.8, 6.0, 5.0  # epidural margins ventral, dorsal, lateral
        self.ct_csf_gradient = float(rng.uniform(0.04, 0.12))
        self.collection = collection
        self.tarlov = None
        self.ct_leak = ct_leak
        self.puncture = puncture
        self.root_pos = [(float(u), float(v)) for u, v in zip(rng.uniform(-0.6, 0.6, 9), rng.uniform(0.2, 0.75, 9))]

    # ---- levels -------------------------------------------------------------------------
    def _level_at_exact(self, s: np.ndarray) -> np.ndarray:
        tops = np.array([lv["body_top_s"] for lv in self.levels])
        out = np.full(np.shape(s), -1.0)
        for k, lv in enumerate(self.levels):
            inb = (s <= lv["body_top_s"]) & (s > lv["body_bottom_s"])
            ind = (s <= lv["body_bottom_s"]) & (s > lv["disc_bottom_s"])
            out = np.where(inb, k, out)
            out = np.where(ind, k + 0.5, out)
        out = np.where(s > tops[0], -1.0, out)
        out = np.where(s <= self.levels[-1]["body_bottom_s"], len(self.levels) - 0.5, out)
        return out

    def _lookup_tables(self) -> None:
        g = self.grid
        self._lvl = self._level_at_exact(g)
        top = np.zeros_like(g)
        bot = np.zeros_like(g)
        dmid = np.zeros_like(g)
        for k, lv in enumerate(self.levels):
            top = np.where(self._lvl == k, lv["body_top_s"], top)
            bot = np.where(self._lvl == k, lv["body_bottom_s"], bot)
            dmid = np.where(self._lvl == k + 0.5, 0.5 * (lv["body_bottom_s"] + lv["disc_bottom_s"]), dmid)
        self._top, self._bot, self._dmid = top, bot, dmid

    def _gi(self, s: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((s - self.grid[0]) / 0.25).astype(np.int64), 0, len(self.grid) - 1)

    def level_at(self, s: np.ndarray) -> np.ndarray:
        """Fractional level index of along-canal positions (vertebra k, disc k + 0.5)."""
        if not hasattr(self, "_lvl"):
            return self._level_at_exact(s)
        return self._lvl[self._gi(s)]

    def z_of_level(self, name: str, where: str = "mid") -> float:
        """World z (approximately s) of a level's body top/mid/bottom, or a disc centre."""
        if "/" in name:
            lv = self.levels[LEVELS.index(name.split("/")[0])]
            return 0.5 * (lv["body_bottom_s"] + lv["disc_bottom_s"])
        lv = self.levels[LEVELS.index(name)]
        if where == "top":
            return lv["body_top_s"]
        if where == "bottom":
            return lv["body_bottom_s"]
        return 0.5 * (lv["body_top_s"] + lv["body_bottom_s"])

    def centre(self, s: float) -> np.ndarray:
        return np.array([np.interp(s, self.grid, self.xc), np.interp(s, self.grid, self.yc), s])

    def tangent(self, s: float) -> np.ndarray:
        t = np.array([np.interp(s, self.grid, self.dxds), np.interp(s, self.grid, self.dyds), 1.0])
        return t / np.linalg.norm(t)

    # ---- collection profile ---------------------------------------------------------------
    def coll_thickness(self, s: np.ndarray) -> np.ndarray:
        c = self.collection
        if not c:
            return np.zeros(np.shape(s))
        top, bot, tmax, tap = c["s_top"], c["s_bottom"], c["thickness_mm"], c["taper_mm"]
        w = np.ones(np.shape(s))
        w = np.where(s > top - tap, 0.5 * (1 + np.cos(np.pi * np.clip((s - (top - tap)) / tap, 0, 1))), w)
        w = np.where(s < bot + tap, 0.5 * (1 + np.cos(np.pi * np.clip(((bot + tap) - s) / tap, 0, 1))), w)
        w = np.where((s > top) | (s < bot), 0.0, w)
        return tmax * w

    # ---- evaluation ---------------------------------------------------------------------
    def labels(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tissue label and the local AP coordinate v / b_s (for intensity gradients) at points."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        z = np.asarray(z, float)
        yc = np.interp(z, self.grid, self.yc)
        xc = np.interp(z, self.grid, self.xc)
        near = (np.abs(x - xc) < 48.0) & (y - yc > -85.0) & (y - yc < 62.0)
        lab = np.empty(x.shape, dtype=np.int8)
        vn = np.zeros(x.shape)
        if near.any():
            lab[near], vn[near] = self._labels(x[near], y[near], z[near], False)
        far = ~near
        if far.any():
            lab[far], vn[far] = self._labels(x[far], y[far], z[far], True)
        return lab, vn

    def _labels(self, x, y, z, trunk_only):
        yc = np.interp(z, self.grid, self.yc)
        xc = np.interp(z, self.grid, self.xc)
        dy = np.interp(z, self.grid, self.dyds)
        cos_t = 1.0 / np.sqrt(1.0 + dy * dy)
        sin_t = dy * cos_t
        v = (y - yc) * cos_t
        s = z + (y - yc) * sin_t * cos_t
        u = x - xc
        a_s = np.interp(s, self.grid, self.a_s)
        b_s = np.interp(s, self.grid, self.b_s)
        a_c = np.interp(s, self.grid, self.a_c)
        b_c = np.interp(s, self.grid, self.b_c)
        lvl = self.level_at(s)
        lab = np.full(x.shape, AIR, dtype=np.int8)
        # body outline: ellipse around the spine, trunk 150 x 110 half-axes, centred anteriorly
        trunk = ((u / 150.0) ** 2 + ((v + 40.0) / 105.0) ** 2) <= 1.0
        trunk_in = ((u / 140.0) ** 2 + ((v + 40.0) / 95.0) ** 2) <= 1.0
        neck = lvl < 6.0
        trunk = np.where(neck, ((u / 60.0) ** 2 + ((v + 15.0) / 62.0) ** 2) <= 1.0, trunk)
        trunk_in = np.where(neck, ((u / 53.0) ** 2 + ((v + 15.0) / 55.0) ** 2) <= 1.0, trunk_in)
        lab[trunk] = SUBCUT
        front = v <= -25.0 - 0.012 * u * u  # prevertebral organs: a curved boundary, not a straight line
        lab[trunk_in & ~front] = MUSCLE
        lab[trunk_in & front] = PREVERT
        if trunk_only:
            return lab, v / np.maximum(np.interp(s, self.grid, self.b_s), 1.0)
        in_body_z = (lvl >= 0) & (np.mod(lvl, 1.0) < 0.25)
        in_disc_z = (lvl >= 0) & (np.mod(lvl, 1.0) > 0.25) & (lvl < len(self.levels) - 1)
        d = self.dura
        a_o, b_o = a_s + d, b_s + d
        # bony canal (trefoil in the lumbar spine)
        tref = np.interp(s, self.grid, self.trefoil)
        vc0 = (self.md - self.mv) / 2.0  # canal centre offset (dorsal margin larger)
        ca = a_o + self.ml
        cb = b_o + (self.mv + self.md) / 2.0
        cu, cv = u, v - vc0
        phi = np.arctan2(cv, cu)
        rr = np.sqrt((cu / ca) ** 2 + (cv / cb) ** 2)
        rr = rr / (1.0 - 0.12 * tref * np.sin(3 * phi + np.pi / 2) ** 2 * (cv > 0))
        in_canal = rr <= 1.0
        body_hw = np.interp(s, self.grid, self.body_hw)
        depth = np.interp(s, self.grid, self.body_depth)
        body_back = -(cb - vc0) - 1.5
        vb = body_back - depth / 2
        bq = (np.abs(u) / body_hw) ** 4 + (np.abs(v - vb) / (depth / 2)) ** 4
        in_bodyfoot = bq <= 1.0
        # posterior elements: ring around the canal at body levels, spinous process
        ring = (rr > 1.0) & (rr <= 1.0 + 7.0 / cb) & (v > -cb * 0.2) & in_body_z
        spin = in_body_z & (np.abs(u) < 3.5 * self.scale) & (v > cb) & (v < cb + 38.0)
        lab[ring | spin] = CANC
        shell = ring & ((rr < 1.0 + 1.5 / cb) | (rr > 1.0 + 5.5 / cb))
        lab[shell] = CORT
        # vertebral bodies and discs
        lab[in_bodyfoot & in_body_z] = CANC
        lvl_frac = np.mod(lvl, 1.0)
        # cortical shell/endplates: near the body's z-ends or its outline
        gi = self._gi(s)
        top_s = self._top[gi]
        bot_s = self._bot[gi]
        endp = in_bodyfoot & in_body_z & ((top_s - s < 1.3) | (s - bot_s < 1.3) | (bq > 0.72))
        lab[endp] = CORT
        disc = in_disc_z & (bq <= 0.94)
        lab[disc] = ANNULUS
        nuc = disc & (((u / (body_hw * 0.55)) ** 2 + ((v - vb) / (depth * 0.3)) ** 2) <= 1.0)
        lab[nuc] = NUCLEUS
        # sacrum: a broad bony block below S1 (no disc)
        sac = (s <= self.levels[-1]["body_bottom_s"]) & (s > self.s_bot) & (bq <= 1.0)
        lab[sac] = CANC
        # canal content
        lab[in_canal] = EPIFAT
        inner = lambda aa, bb, cu_=0.0, cv_=0.0: ((u - cu_) / np.maximum(aa, 1e-6)) ** 2 + ((v - cv_) / np.maximum(bb, 1e-6)) ** 2 <= 1.0
        sacral_canal = (s <= self.levels[-1]["body_bottom_s"]) & (s > self.s_bot)
        lab[in_canal & sacral_canal & ~inner(a_o, b_o)] = EPIFAT
        # ventral epidural veins (anterior internal venous plexus)
        for side in (-1, 1):
            vein = ((u - side * a_s * 0.55) ** 2 + (v + b_o + 1.4) ** 2) <= 1.3 ** 2
            lab[vein & in_canal] = VEIN
        # collection (extradural CSF)
        if self.collection:
            t = self.coll_thickness(s)
            pos = self.collection["position"]
            if pos == "ventral":
                e2 = ((u / (a_o + 0.35 * t)) ** 2 + ((v + t / 2) / (b_o + t / 2)) ** 2) <= 1.0
            elif pos == "dorsal":
                e2 = ((u / (a_o + 0.35 * t)) ** 2 + ((v - t / 2) / (b_o + t / 2)) ** 2) <= 1.0
            else:
                e2 = ((u / (a_o + t)) ** 2 + (v / (b_o + t)) ** 2) <= 1.0
            coll = e2 & in_canal & (t > 0.05)
            lab[coll] = PLEXUS if self.collection.get("kind") == "plexus" else COLL
        dura = inner(a_o, b_o) & (s > self.sac_end - 3)
        lab[dura] = DURA
        sacm = inner(a_s, b_s) & (s > self.sac_end)
        lab[sacm] = CSF
        # root sleeves at each disc level (foramina), both sides
        in_sleeve = in_disc_z & (np.abs(v - 0.0) < 2.0) & (np.abs(u) > a_s * 0.8) & (np.abs(u) < a_o + 7.0)
        sleeve_r = ((v / 1.9) ** 2 + ((s - (bot_s - 0.0)) * 0 / 1.0) ** 2) <= 1.0
        # sleeves centred in z on the upper part of the disc space (just below the pedicle)
        disc_mid = self._dmid[gi]
        zsl = np.abs(s - disc_mid) < 1.9
        sleeve = in_sleeve & sleeve_r & zsl & (s > self.sac_end + 10)
        lab[sleeve & (lab != CORT)] = ROOT
        sleeve_csf = sleeve & (((v / 1.9) ** 2 + ((s - disc_mid) / 1.9) ** 2) <= 1.0) & (np.abs(u) < a_o + 5.0)
        lab[sleeve_csf] = CSF
        # dural defect: CSF through the dura at the collection side
        if self.collection and self.collection.get("defect_s") is not None:
            ds_ = self.collection["defect_s"]
            pos = self.collection["position"]
            sector = (v < 0) if pos == "ventral" else (v > 0) if pos == "dorsal" else (v > -100)
            defect = dura & (np.abs(s - ds_) < 2.2) & sector & (np.abs(u) < 3.0 + (pos == "circumferential") * 100)
            lab[defect] = CSF
        # CT leak: through a dural defect at the root sleeve axilla into the epidural and paraspinal space
        if self.ct_leak:
            cl = self.ct_leak
            sd = cl["side_sign"]  # +1 patient left (+x)
            blob1 = (((u - sd * (a_o + 2.5)) / 3.2) ** 2 + ((v + 1.0) / 3.0) ** 2 + ((s - cl["s"]) / 7.0) ** 2) <= 1.0
            blob2 = (((u - sd * (a_o + 12.0)) / 5.0) ** 2 + ((v + 2.0) / 4.0) ** 2 + ((s - cl["s"] + 4.0) / 8.0) ** 2) <= 1.0
            bridge = (np.abs(v + 1.0) < 1.6) & (np.abs(s - cl["s"]) < 2.5) & (sd * u > 0) & (np.abs(u) < a_o + 12.0) & (np.abs(u) > a_s - 0.5)
            leak = (blob1 & in_canal & ~inner(a_o, b_o)) | blob2 | bridge
            if cl["continuous"]:
                leak = leak
            else:
                leak = (blob1 & in_canal & ~inner(a_o + 1.8, b_o + 1.8)) | blob2
            lab[leak & (lab != CORT)] = LEAK
        if self.puncture and self.puncture.get("leak"):
            pz = self.puncture["s"]
            tract = (np.abs(u) < 1.0) & (np.abs(s - pz) < 1.0) & (v > b_s - 0.5) & (v < cb + 30)
            pool = ((u / 5.5) ** 2 + ((v - (b_o + 2.6)) / 2.4) ** 2 + ((s - pz) / 12.0) ** 2) <= 1.0
            lab[(tract | (pool & in_canal & ~inner(a_o, b_o))) & (lab != CORT)] = LEAK
        # Tarlov (perineural) cyst: a CSF cyst on a sacral root, widening its foramen
        if getattr(self, "tarlov", None):
            tv = self.tarlov
            cyst = (((u - tv["side_sign"] * (a_o + tv["r_mm"] * 0.9)) / tv["r_mm"]) ** 2 + (v / (tv["r_mm"] * 0.8)) ** 2
                    + ((s - tv["s"]) / (tv["r_mm"] * 1.2)) ** 2) <= 1.0
            lab[cyst] = CSF
        # cord and cauda equina
        cord = inner(a_c, b_c, 0.0, -0.6) & (a_c > 0.3)
        lab[cord & sacm] = CORD
        below = (s < self.conus) & (s > self.sac_end + 8)
        for (ru, rv) in self.root_pos:
            rt = ((u - ru * a_s) ** 2 + (v - rv * b_s) ** 2) <= 0.75 ** 2
            lab[rt & below & sacm] = ROOT
        return lab, v / np.maximum(b_s, 1.0)

    # ---- truth --------------------------------------------------------------------------
    def collection_truth(self) -> dict | None:
        c = self.collection
        if not c:
            return None
        step = 1.0
        ss = np.arange(c["s_bottom"] + step / 2, c["s_top"], step)
        grid = np.arange(-17, 17, 0.15)
        uu, vv = np.meshgrid(grid, grid)
        vol = 0.0
        for s in ss:
            ctr = self.centre(s)
            t = float(self.coll_thickness(np.array([s]))[0])
            if t <= 0.05:
                continue
            # evaluate in the plane perpendicular to the canal (approx.: u, v at that s)
            tn = self.tangent(s)
            cos_t = tn[2] / math.hypot(tn[1], tn[2])
            sin_t = tn[1] / math.hypot(tn[1], tn[2])
            x = ctr[0] + uu
            y = ctr[1] + vv * cos_t
            z = s - vv * sin_t
            lab, _ = self.labels(x.ravel(), y.ravel(), z.ravel())
            area = np.count_nonzero(lab == COLL) * 0.15 ** 2
            vol += area * step / cos_t
        top_l = self.level_name_at(c["s_top"] - c["taper_mm"] * 0.5)
        bot_l = self.level_name_at(c["s_bottom"] + c["taper_mm"] * 0.5)
        return {
            "position": c["position"],
            "from_level": top_l,
            "to_level": bot_l,
            "z_from_mm": c["s_top"],
            "z_to_mm": c["s_bottom"],
            "extent_mm": c["s_top"] - c["s_bottom"],
            "max_thickness_mm": c["thickness_mm"],
            "volume_ml": vol / 1000.0,
            "continuous_with_sas": c.get("defect_s") is not None,
            "dural_defect_level": self.level_name_at(c["defect_s"]) if c.get("defect_s") is not None else None,
            "non_enhancing": True,
            "side": "midline",
            "taper_mm": c["taper_mm"],
        }

    def level_name_at(self, s: float) -> str:
        k = float(self.level_at(np.array([s]))[0])
        if k < 0:
            return "C2"
        if k % 1.0 > 0.25:
            i = int(k)
            nxt = LEVELS[i + 1] if i + 1 < len(LEVELS) else "S1"
            return f"{LEVELS[i]}/{nxt[1:] if nxt[0] == LEVELS[i][0] else nxt}"
        return LEVELS[int(k)]

    def level_table(self) -> list:
        return [{"level": lv["level"], "body_top_z_mm": round(lv["body_top_s"], 2),
                 "body_bottom_z_mm": round(lv["body_bottom_s"], 2),
                 "disc_bottom_z_mm": round(lv["disc_bottom_s"], 2)} for lv in self.levels]
