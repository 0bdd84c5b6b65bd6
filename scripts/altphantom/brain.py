"""Brain 3D T1 cases: a midsagittal anatomy with every sagging landmark, and a sagging series.

Head frame (mm): +x patient left, +y posterior, +z up; origin at the pontomesencephalic junction
of the unsagged brain. The midline anatomy is drawn as 2D profiles in the (y, z) plane (polygons
and ellipses) extruded laterally with rounded edges, plus 3D ellipsoids and tubes:

* skull: ellipsoidal vault (scalp fat, cortical tables, diploe), a skull base profile with the
  planum sphenoidale, tuberculum sellae, a sella bowl, dorsum sellae, clivus (fatty marrow with a
  cortical rim), the foramen magnum (basion - opisthion) and the occipital squama; a sphenoid
  sinus (air) under the sella, middle cranial fossae laterally, a spinal canal and C2 below;
* brain: cerebrum with a sulcated cortex, corpus callosum, lateral and third ventricles, thalami,
  optic chiasm and nerves, pituitary stalk, pituitary gland (anterior lobe and a bright posterior
  lobe), mamillary bodies, brainstem profile (midbrain, pons with an anterior belly, medulla,
  cord), aqueduct, fourth ventricle, cerebellum with folia and tonsils, tentorium and falx;
* veins: internal cerebral vein, vein of Galen, straight sinus, superior sagittal sinus.

Sagging by `sag` mm (0..5): the pons moves anteriorly toward the clivus and down, the midbrain
leans forward onto the pons (pontomesencephalic angle closes), the mamillary bodies and the third
ventricle floor descend toward the pons, the iter descends below the incisural line, the chiasm
descends, the pituitary gland grows upward, the cerebellum and its tonsils descend.

Landmark truth (patient LPS, mm) is computed from the drawn geometry on the midsagittal plane:
mamillary_inferior (lowest point of the mamillary body), pons_superior (point of the pons surface
nearest to it), pm_vertex / pm_midbrain / pm_pons (vertex and a point 8 / 6 mm along each arm of
the pontomesencephalic angle: straight anterior midbrain and superior pons borders), chiasm_inferior
(lowest point of the chiasm), diaphragma_sellae (the membrane over the middle of the sella: the
opening line, or the gland top when the gland bulges above it), pituitary_top / pituitary_floor
(gland top at the middle of the sella and the sellar floor below it), tuberculum_sellae, basion,
opisthion, clivus_prepontine (foot of the perpendicular from pons_anterior onto the posterior
clivus surface) and pons_anterior (most anterior point of the pons belly), tonsil_tip (lowest
point of each tonsil; `tonsil_tip` is the lower one), iter (aqueduct entrance), galen_junction
(vein of Galen joining the straight sinus). Measurements follow from those points.

Acquisition: 3D T1 gradient echo (MPRAGE-like contrast on a 0..4095 scale), sagittal or axial,
1 mm isotropic or 1.2 mm slices x 1 x 1 mm, head rotated by up to 6 degrees and the slab
optionally tilted (oblique), Gaussian point spread, bias field, Rician noise.
"""

from __future__ import annotations

import math

import numpy as np

import common as cm

# tissue labels and their T1 (MPRAGE-like) intensities
(AIR, FAT, BONE, DIPLOE, CSF, GM, WM, DEEP, BSTEM, CBGM, CBWM, CHI, MB, PITA, PITP, STALK, VEIN, DURA,
 MARROW, MUSCLE, DURAE, SUBD) = range(22)
T1 = np.array([0, 1900, 150, 900, 330, 1100, 1750, 1380, 1600, 1150, 1700, 1600, 1200, 1300, 1900, 1250,
               550, 450, 1450, 800, 470, 420], float)
# after gadolinium: veins, dura (thin normal dura faint, thickened dura bright), pituitary and stalk enhance
T1C = T1.copy()
T1C[[VEIN, DURA, DURAE, SUBD, PITA, PITP, STALK, MUSCLE, CSF]] = [2300, 800, 2000, 450, 1900, 1950, 1800, 950, 340]


# ----------------------------------------------------------------------------------------------
# 2D geometry helpers (y, z)


def seg_dist2(py, pz, a, b):
    """Distance of points to the segment a-b, and the parameter of the foot."""
    ay, az = a
    by, bz = b
    dy, dz = by - ay, bz - az
    L2 = dy * dy + dz * dz
    t = np.clip(((py - ay) * dy + (pz - az) * dz) / L2, 0.0, 1.0)
    return np.hypot(py - ay - t * dy, pz - az - t * dz), t


class Grid2D:
    """A signed-distance field of a closed polygon on a regular (y, z) grid, looked up bilinearly."""

    Y0, Z0, H, NY, NZ = -120.0, -130.0, 0.25, 961, 1001

    def __init__(self, poly, closed=True):
        ys = self.Y0 + self.H * np.arange(self.NY)
        zs = self.Z0 + self.H * np.arange(self.NZ)
        Y, Z = np.meshgrid(ys, zs, indexing="ij")
        pts = np.asarray(poly, float)
        n = len(pts)
        d = np.full(Y.shape, np.inf)
        inside = np.zeros(Y.shape, bool)
        edges = range(n) if closed else range(n - 1)
        for i in edges:
            a, b = pts[i], pts[(i + 1) % n]
            di, _ = seg_dist2(Y, Z, a, b)
            np.minimum(d, di, out=d)
        if closed:
            for i in range(n):
                a, b = pts[i], pts[(i + 1) % n]
                cond = (a[1] > Z) != (b[1] > Z)
                with np.errstate(divide="ignore", invalid="ignore"):
                    yc = a[0] + (Z - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                inside ^= cond & (Y < yc)
            d = np.where(inside, -d, d)
        self.d = d.astype(np.float32)

    def __call__(self, y, z):
        fy = np.clip((y - self.Y0) / self.H, 0, self.NY - 1.001)
        fz = np.clip((z - self.Z0) / self.H, 0, self.NZ - 1.001)
        iy = fy.astype(np.int64)
        iz = fz.astype(np.int64)
        wy = fy - iy
        wz = fz - iz
        d = self.d
        return ((1 - wy) * (1 - wz) * d[iy, iz] + wy * (1 - wz) * d[iy + 1, iz]
                + (1 - wy) * wz * d[iy, iz + 1] + wy * wz * d[iy + 1, iz + 1])


def extrude(sdf, x, half_width, rounding):
    """Inside a profile (sdf < 0) extruded to |x| < half_width with edges rounded over `rounding` mm."""
    depth = np.clip(-sdf / rounding, 0.0, 1.0)
    return (sdf < 0) & ((x / half_width) ** 2 + (1 - depth) ** 2 <= 1.0)


def tube(x, y, z, pts, r):
    """Inside a polyline tube of radius r (3D points)."""
    pts = np.asarray(pts, float)
    m = np.zeros(x.shape, bool)
    for a, b in zip(pts[:-1], pts[1:]):
        ab = b - a
        t = np.clip(((x - a[0]) * ab[0] + (y - a[1]) * ab[1] + (z - a[2]) * ab[2]) / float(ab @ ab), 0, 1)
        m |= (x - a[0] - t * ab[0]) ** 2 + (y - a[1] - t * ab[1]) ** 2 + (z - a[2] - t * ab[2]) ** 2 <= r * r
    return m


def ellq(x, y, z, c, r):
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2


def unit(deg):
    return np.array([math.cos(math.radians(deg)), math.sin(math.radians(deg))])


def below_line(p, a, b):
    """Signed distance of p below the line a-b in the (y, z) plane (positive = lower z side)."""
    p, a, b = (np.asarray(v, float) for v in (p, a, b))
    d = (b - a) / np.linalg.norm(b - a)
    n = np.array([-d[1], d[0]])  # left normal
    if n[1] > 0:
        n = -n  # pointing down
    return float((p - a) @ n)


# ----------------------------------------------------------------------------------------------


class Head:
    """The anatomy for one seed and sag value; `labels(x, y, z)` in head coordinates."""

    def __init__(self, rng, sag, bern=None):
        self.bern = bern  # dura / subdural / transverse sinus options (None: thin normal dura only)
        self.sag = s = float(sag)
        j = lambda a: float(rng.uniform(-a, a))  # noqa: E731
        # --- brainstem (V frame), with sag: translation of the pons, rotation of the midbrain
        self.pma0 = 63.0 + j(4.0)
        self.pma = self.pma0 - 3.3 * s
        phi_p = 172.0 + j(3.0)
        phi_m = phi_p - self.pma
        V = np.array([-0.35 * s, -0.9 * s])
        up = unit(phi_p)
        um = unit(phi_m)
        nm = np.array([um[1], -um[0]])  # posterior normal of the midbrain arm
        self.V, self.um, self.up = V, um, up
        mid = lambda a, b: V + a * um + b * nm  # noqa: E731
        # the tectum and the diencephalon behind it follow a third of the lean and descend further
        phi_q = phi_p - self.pma0 + 0.35 * (self.pma0 - self.pma)
        uq = unit(phi_q)
        nq = np.array([uq[1], -uq[0]])
        midq = lambda a, b: V + a * uq + b * nq + np.array([0.0, -0.4 * s])  # noqa: E731
        pons_c = V + np.array([1.5, -13.0])
        pons_ry, pons_rz = 12.5 + j(0.8), 11.5 + j(0.8)
        P1 = V + 7.0 * up
        # pons belly: an elliptic arc from the upper front to the pontomedullary sulcus
        arc = []
        for t in np.linspace(math.radians(115), math.radians(250), 16):
            arc.append(pons_c + np.array([pons_ry * math.cos(t) * 1.0, pons_rz * math.sin(t)]))
        arc = [p for p in arc if p[1] < P1[1] - 0.8]
        stem = [V, P1] + arc + [
            V + np.array([-3.8, -26.5]), V + np.array([-2.6, -34.0]), V + np.array([-1.8, -46.0]),
            V + np.array([-1.2, -60.0]), V + np.array([-1.0, -140.0]), V + np.array([8.0, -140.0]),
            V + np.array([8.2, -60.0]), V + np.array([9.0, -45.0]), V + np.array([10.0, -31.0]),
            V + np.array([13.0, -17.0]), V + np.array([15.5, -4.0]),
            midq(5.0, 22.0), midq(12.0, 23.5), midq(18.0, 21.0), midq(21.0, 15.0), midq(20.5, 5.0), mid(17.0, 0.3),
            mid(8.0, -0.6)]
        self.stem_poly = stem
        self.pons_arc = [P1] + arc
        self.pons_front = min(arc, key=lambda p: p[0])
        self.pons_c = pons_c
        # aqueduct and iter
        self.iter = midq(20.0, 14.0)
        self.aq = [self.iter, midq(12.0, 16.5), midq(5.0, 17.0)]
        # fourth ventricle
        self.v4 = [midq(5.0, 17.0) + np.array([0.5, 0.0]), V + np.array([27.0, -9.0]), V + np.array([11.0, -28.5]),
                   V + np.array([12.0, -17.0]), V + np.array([14.0, -4.5])]
        # mamillary body: slides down along the leaning midbrain
        self.mb_c = mid(11.6 - 0.45 * s + j(0.8), -3.3)
        self.mb_r = np.array([4.8, 3.0, 2.7])
        # --- skull base (fixed), shifted so that the prepontine cistern has its baseline width
        self.ts = np.array([-35.0 + j(1.5), 1.5 + j(1.0)])
        self.sella_ay, self.sella_depth = 6.0 + j(0.5), 8.0 + j(0.7)
        ys = self.ts[0] + self.sella_ay
        zo = self.ts[1] - 0.5
        bas = np.array([-5.5 + j(1.5), -38.0 + j(1.5)])
        cl_top = np.array([ys + 10.0, zo - 2.0])
        # shift the skull base along the clivus normal for a baseline prepontine width of 5.2-7.2 mm
        d = (bas - cl_top) / np.linalg.norm(bas - cl_top)
        n = np.array([d[1], -d[0]])
        if n[0] < 0:
            n = -n  # posterior
        pf0 = min(([p + np.array([0.35 * s, 0.9 * s]) for p in self.pons_arc]), key=lambda p: p[0])
        target = 6.2 + j(1.0)
        shift = ((pf0 - cl_top) @ n - target) * n
        self.ts = self.ts + shift
        ys, zo, bas, cl_top = ys + shift[0], zo + shift[1], bas + shift, cl_top + shift
        self.ys, self.zo = ys, zo
        self.basion = bas
        self.opisthion = bas + np.array([35.0 + j(2.0), 2.0 + j(1.0)])
        self.cl_top, self.cl_n = cl_top, n
        bowl = [np.array([ys - self.sella_ay * math.cos(t), zo - self.sella_depth * math.sin(t)])
                for t in np.linspace(0, math.pi, 15)]
        op = self.opisthion
        base = ([np.array([-130.0, 14.0]), np.array([-62.0, 6.0]), np.array([-46.0, 3.5]) + shift * 0.5, self.ts]
                + bowl
                + [np.array([ys + 6.5, zo + 3.5]), np.array([ys + 9.0, zo + 3.0]), cl_top, bas, op,
                   op + np.array([8.0, 1.5]), np.array([55.0, -34.0]), np.array([78.0, -20.0]),
                   np.array([100.0, 5.0]), np.array([130.0, 60.0])])
        self.base_line = base
        self.cavity_poly = base + [np.array([130.0, 160.0]), np.array([-130.0, 160.0])]
        # pituitary gland: bowl up to a top surface with a bulge growing with sag
        self.bulge = -1.6 + j(0.6) + 0.7 * s
        self.pit_top = np.array([ys, zo - 1.0 + self.bulge])
        self.pit_floor = np.array([ys, zo - self.sella_depth])
        self.diaphragma = np.array([ys, max(zo, self.pit_top[1])])
        # chiasm over the back half of the sella, 5.2-6.8 mm above the unsagged diaphragma
        self.chi_r = np.array([7.0, 5.5, 1.9])
        self.chi_c = np.array([ys + 2.0 + j(1.5), zo + 6.0 + j(0.8) + self.chi_r[2] - 0.35 * s])
        self.stalk = [np.array([0.0, self.chi_c[0] + 6.0, self.chi_c[1] - 0.5 - 0.25 * s]), np.array([0.0, ys + 1.0, self.pit_top[1] - 0.5])]
        # --- cerebellum, tonsils, tentorium, veins
        self.cb_dz = -0.9 * s
        self.tons_c = np.array([6.0 + j(0.5), 17.0 + j(1.5), -25.5 + j(1.5) - 1.0 * s])
        self.tons_r = np.array([4.5, 6.5, 9.0])
        # Galen junction placed so that the unsagged iter lies 0.5-2.5 mm above the incisural line
        iter0 = self.iter_at(0.0)
        h = 0.6 + j(0.8)
        gy = 34.0 + j(3.0)
        lo_z, hi_z = 10.0, 80.0
        for _ in range(60):
            gz = 0.5 * (lo_z + hi_z)
            if -below_line(iter0, self.ts, (gy, gz)) < h:
                hi_z = gz
            else:
                lo_z = gz
        self.galen = np.array([gy, 0.5 * (lo_z + hi_z)])
        g = self.galen
        self.torcula = g + np.array([52.0, -44.0])
        self.ss = [np.array([0.0, g[0], g[1]]), np.array([0.0, *self.torcula])]
        it = self.iter
        self.icv = [np.array([0.0, -12.0, it[1] + 8.0]), np.array([0.0, it[0] + 2.0, it[1] + 9.5]),
                    np.array([0.0, g[0] - 6.0, g[1] - 6.0]), np.array([0.0, g[0], g[1]])]
        # third ventricle (midline slit)
        mbt = self.mb_c + np.array([0.0, self.mb_r[2]])
        self.v3 = [self.chi_c + np.array([-3.0, 2.5]), self.chi_c + np.array([3.0, 1.5]),
                   np.array([self.stalk[0][1], self.stalk[0][2] + 1.0]), mbt + np.array([-1.0, 0.6]), mbt + np.array([2.0, 1.5]),
                   it + np.array([-0.6, -0.2]), it + np.array([0.6, 0.6]), it + np.array([3.5, 5.5]),
                   it + np.array([1.5, 8.0]), np.array([-14.0, it[1] + 7.0]),
                   self.chi_c + np.array([-5.0, 8.0])]
        # cerebrum floor at the midline (suprasellar cistern under it)
        self.basal_y = [-130.0, -44.0, -34.0, self.chi_c[0], -10.0, 0.0, it[0] + 8.0, it[0] + 14.0, 130.0]
        self.basal_z = [-99.0, -99.0, self.chi_c[1] + 2.0, self.chi_c[1] + 2.0, mbt[1] + 1.0, it[1] + 2.0, it[1] + 2.0,
                        -99.0, -99.0]
        self.grid_stem = Grid2D(self.stem_poly)
        self.grid_cav = Grid2D(self.cavity_poly)
        self.grid_base = Grid2D(base, closed=False)
        self.grid_v3 = Grid2D(self.v3)
        self.grid_v4 = Grid2D(self.v4)
        self.sulc_phase = rng.uniform(0, 2 * math.pi, 3)
        wr = np.random.default_rng(int(self.sulc_phase[0] * 1e9))  # no extra draws from rng
        self.waves = []
        for _ in range(7):
            v = wr.normal(size=3)
            self.waves.append((v / np.linalg.norm(v) * wr.uniform(0.16, 0.28), wr.uniform(0, 2 * math.pi)))

    def iter_at(self, s):
        """The iter for another sag value (same seed geometry), for placing the Galen junction."""
        if s == self.sag:
            return self.iter
        V = np.array([-0.35 * s, -0.9 * s])
        phi_m = math.degrees(math.atan2(self.up[1], self.up[0])) - (self.pma0 - 3.3 * s)
        um = unit(phi_m)
        nm = np.array([um[1], -um[0]])
        return V + 20.0 * um + 14.0 * nm

    def tentorium_z(self, x, y):
        """Height of the tentorium (NaN-free): along the straight sinus at the midline, sloping laterally."""
        g, t = self.galen, self.torcula
        # highest at the Galen junction: down along the straight sinus posteriorly, down toward the
        # petrous ridges anteriorly
        zs = np.where(y >= g[0], g[1] + (y - g[0]) * (t[1] - g[1]) / (t[0] - g[0]), g[1] - 0.55 * (g[0] - y))
        return zs - 0.42 * np.abs(x) - 6.0 * np.clip((y - t[0]) / 20.0, 0, None) ** 2

    def tentorium_present(self, x, y):
        ax = np.abs(x)
        notch = self.galen[0] - (self.galen[0] + 14.0) * np.clip(ax / 24.0, 0, 1) ** 1.5
        return y > notch

    def labels(self, x, y, z):
        s = self.sag
        lab = np.full(x.shape, AIR, np.int8)
        # vault
        E = lambda r: ellq(x, y, z, (0, 8, 22), r)  # noqa: E731
        r_in = (68.0, 90.0, 80.0)
        q_skin = E((80, 102, 92))
        lab[q_skin <= 1] = FAT
        q_out = E((74.5, 96.5, 86.5))
        lab[q_out <= 1] = BONE
        q_dip1 = E((72.5, 94.5, 84.5))
        q_dip2 = E((70.0, 92.0, 82.0))
        lab[(q_dip1 <= 1) & (q_dip2 > 1)] = DIPLOE
        q_in = E(r_in)
        in_e = q_in <= 1
        # neck below the skull
        neck = (((x / 58.0) ** 2 + ((y - 12.0) / 62.0) ** 2) <= 1) & (z < -20)
        lab[neck & (q_out > 1)] = MUSCLE
        sdf_c = self.grid_cav(y, z)
        mid_fossa = (np.abs(x) > 22) & (y > -52) & (y < -2) & (z > -26 + 6 * ((y + 27) / 25) ** 2)
        cavity = in_e & ((sdf_c < 0) | mid_fossa)
        base_d = self.grid_base(y, z)
        below = in_e & ~cavity
        lab[below] = MUSCLE
        lab[below & (base_d < 3.0)] = BONE
        # clivus band (marrow with a cortical rim) and sphenoid sinus
        cl = self.cl_top
        d = (self.basion - cl) / np.linalg.norm(self.basion - cl)
        n = self.cl_n
        u = (y - cl[0]) * d[0] + (z - cl[1]) * d[1]
        v = (y - cl[0]) * n[0] + (z - cl[1]) * n[1]  # >0 posterior (cistern side)
        L = float(np.linalg.norm(self.basion - cl))
        band = (u > -6) & (u < L) & (v < 0) & (v > -11.0) & (np.abs(x) < 15) & ~cavity
        lab[band] = BONE
        lab[band & (v < -1.3) & (v > -9.7) & (u > -4) & (u < L - 1.5) & (np.abs(x) < 13.5)] = MARROW
        sph = (((x / 13.0) ** 2 + ((y - self.ys + 4.0) / 12.0) ** 2 + ((z - (self.zo - self.sella_depth - 10.5)) / 8.5) ** 2) <= 1)
        lab[sph & ~cavity & ~band] = AIR
        # spinal canal and C2 below the foramen magnum
        bas, op = self.basion, self.opisthion
        cy = 0.5 * (bas[0] + op[0]) - 3.0
        canal = (((x / 12.0) ** 2 + ((y - cy) / 9.5) ** 2) <= 1) & (z < bas[1] + 3.0) & (z > -200)
        lab[canal & ~cavity] = CSF
        c2 = (np.abs(x) < 11) & (y > bas[0] - 15) & (y < bas[0] - 2.5) & (z < bas[1] - 7) & (z > -200)
        lab[c2 & ~canal] = BONE
        lab[c2 & ~canal & (np.abs(x) < 9.5) & (y > bas[0] - 13.5) & (y < bas[0] - 4) & (z < bas[1] - 8.5)] = MARROW
        # --- intracranial
        depth_e = (1.0 - np.sqrt(q_in)) * 78.0
        tz = self.tentorium_z(x, y)
        tent = self.tentorium_present(x, y)
        # petrous bone: the anterolateral wall of the posterior fossa under the tentorium
        ax = np.abs(x)
        petrous = cavity & tent & (ax > 18.0) & (y > -16.0) & (y < 20.0 + 0.45 * (ax - 18.0)) & (z < tz - 1.5) & ~mid_fossa
        lab[petrous] = BONE
        cavity = cavity & ~petrous
        lab[cavity] = CSF
        supra = ~tent | (z > tz + 0.8)
        basal_z = np.interp(y, self.basal_y, self.basal_z)
        lat = np.clip((ax - 13.0) / 9.0, 0, 1)
        basal_z = basal_z * (1 - lat) + (-99.0) * lat
        # the interhemispheric fissure reaches the skull base except across the diencephalon
        dien = (y > self.chi_c[0] - 2.0) & (y < self.iter[0] + 6.0) & (z < self.iter[1] + 16.0)
        # behind the midbrain the cerebrum (occipital lobes) stops at the tentorium
        bern = self.bern or {}
        it_z = self.iter[1]
        t_sub = bern.get("subdural_mm", 0.0) * np.clip((np.abs(x) - 12.0) / 25.0, 0, 1) * np.clip((z - it_z) / 25.0, 0, 1)
        depth = np.minimum.reduce([depth_e - 2.5 - t_sub, -sdf_c - 2.5 + 99.0 * mid_fossa, z - basal_z,
                                   np.where(tent, z - tz - 2.0, 99.0), ax - 0.6 + 99.0 * dien])
        depth = np.where(mid_fossa & cavity, np.minimum(depth_e - 2.5, z + 26 - 6 * ((y + 27) / 25) ** 2 - 2.5), depth)
        ph = self.sulc_phase
        # sulci: the zero set of a sum of random plane waves (curved, branching, not mirror-symmetric)
        g = np.zeros_like(x)
        for kv, phs in self.waves:
            g += np.sin(kv[0] * x + kv[1] * y + kv[2] * z + phs)
        g /= math.sqrt(len(self.waves) / 2.0)
        sul = np.exp(-(g / 0.2) ** 2)
        deff = depth - 7.0 * sul
        cer = cavity & supra & (deff > 0)
        lab[cer] = GM
        lab[cer & (deff > 2.8)] = WM
        # deep structures
        it = self.iter
        lv = sum(((ellq(x, y, z, (sgn * 8.0, it[0] - 16.0, it[1] + 10.5), (5.0, 24.0, 3.5)) <= 1)) for sgn in (-1, 1)) > 0
        cc_o = (((y - (it[0] - 14.0)) / 37.0) ** 2 + ((z - (it[1] + 2.0)) / 17.0) ** 2) <= 1
        cc_i = (((y - (it[0] - 14.0)) / 32.0) ** 2 + ((z - (it[1] + 2.0)) / 11.5) ** 2) <= 1
        cc = cc_o & ~cc_i & (z > it[1] + 4.0) & (ax < 16)
        thal = sum(((ellq(x, y, z, (sgn * 9.5, it[0] - 7.0, it[1] + 6.0), (7.5, 14.0, 8.0)) <= 1)) for sgn in (-1, 1)) > 0
        lab[thal & cavity] = DEEP
        lab[lv & cavity] = CSF
        lab[cc & cavity] = WM
        v3 = extrude(self.grid_v3(y, z), x, 2.6, 1.5)
        lab[v3 & cavity] = CSF
        # optic chiasm and nerves, stalk, pituitary, mamillary bodies
        cc_ = self.chi_c
        chi = ellq(x, y, z, (0, cc_[0], cc_[1]), self.chi_r) <= 1
        nerves = tube(x, y, z, [(5.0, cc_[0] - 4.0, cc_[1]), (11.0, cc_[0] - 18.0, cc_[1] - 4.0), (16.0, cc_[0] - 32.0, cc_[1] - 8.0)], 2.2) \
            | tube(x, y, z, [(-5.0, cc_[0] - 4.0, cc_[1]), (-11.0, cc_[0] - 18.0, cc_[1] - 4.0), (-16.0, cc_[0] - 32.0, cc_[1] - 8.0)], 2.2)
        lab[chi | nerves] = CHI
        st = self.stalk
        lab[tube(x, y, z, [st[0], st[1]], 1.3) & cavity] = STALK
        ys, zo = self.ys, self.zo
        bowl = (((y - ys) / self.sella_ay) ** 2 + ((z - zo) / self.sella_depth) ** 2 <= 1.0) & (z <= zo)
        top = zo - 1.0 + self.bulge * (1 - ((y - ys) / self.sella_ay) ** 2)
        gland = (((y - ys) / (self.sella_ay * 1.02)) ** 2 + ((z - zo) / self.sella_depth) ** 2 <= 1.0) | ((z > zo) & (np.abs(y - ys) < self.sella_ay))
        gland &= (z <= top) & (ax < 7.0) & cavity
        lab[gland] = PITA
        lab[gland & (y > ys + 2.2) & (z < zo - 1.5)] = PITP
        del bowl
        mb = ellq(x, y, z, (0.0, self.mb_c[0], self.mb_c[1]), self.mb_r) <= 1
        # --- posterior fossa: cerebellum, tonsils, fourth ventricle, brainstem
        cbz = self.cb_dz
        infra = tent & (z < tz - 1.2) | ~tent & (y > self.V[0] + 14.0)
        cb = (ellq(x, y, z, (0.0, 46.0, -11.0 + cbz), (54.0, 36.0, 27.0)) <= 1) & infra & cavity & (-sdf_c > 1.5)
        cb &= (depth_e > 2.0)
        fol = np.sin(0.9 * np.hypot(y - 42.0, z + 9.0 - cbz) + 0.4 * np.sin(0.2 * x))
        cbd = np.minimum(depth_e - 2.0, -sdf_c - 1.5)
        cb_cort = cb & ~((fol > 0.55) & (cbd < 9.0))
        lab[cb_cort] = CBGM
        core = ellq(x, y, z, (0.0, 40.0, -10.0 + cbz), (34.0, 20.0, 12.0)) <= 1
        lab[cb_cort & core & (fol < 0.3)] = CBWM
        tc = self.tons_c
        tons = (ellq(x, y, z, tc, self.tons_r) <= 1) | (ellq(x, y, z, (-tc[0], tc[1], tc[2]), self.tons_r) <= 1)
        lab[tons & (cavity | canal)] = CBGM
        v4 = extrude(self.grid_v4(y, z), x, 8.0, 3.0)
        lab[v4] = CSF
        ysz = np.interp(z, [-150.0, -60.0, -30.0, -12.0, 8.0, 30.0], [6.0, 6.5, 9.5, 17.5, 14.0, 14.0])
        stem = extrude(self.grid_stem(y, z), x, ysz, 6.0)
        lab[stem] = BSTEM
        lab[tube(x, y, z, [(0.0, *p) for p in self.aq], 1.1)] = CSF
        lab[mb] = MB
        # dura and veins
        tent_plate = tent & (np.abs(z - tz) < 0.7) & cavity & (ax < 60)
        lab[tent_plate] = DURA
        falx = (ax < 0.3) & cavity & (z > it[1] + 16.0) & ~cc
        lab[falx] = DURA
        g = self.galen
        veins = tube(x, y, z, self.ss, 2.6) | tube(x, y, z, self.icv, 1.4) | tube(x, y, z, [self.icv[-2], (0.0, g[0], g[1])], 2.3)
        # superior sagittal sinus along the inner table
        ang = np.linspace(math.radians(15), math.radians(168), 14)
        sss = [(0.0, 8.0 - (r_in[1] - 3.5) * math.cos(t), 22.0 + (r_in[2] - 3.5) * math.sin(t)) for t in ang]
        veins |= tube(x, y, z, sss, 3.2) & cavity
        lab[veins & cavity] = VEIN
        # dura along the inner table (thickened and enhancing in SIH), subdural fluid under it
        t_d = bern.get("dura_mm", 0.7)
        dd = np.where(mid_fossa, depth_e, np.minimum(depth_e, -sdf_c))
        lab[cavity & (dd < t_d)] = DURAE if bern.get("pachy") else DURA
        lab[cavity & (dd >= t_d) & (dd < t_d + t_sub) & (lab == CSF)] = SUBD
        # transverse sinuses in the occipital groove from the torcula, dominant side larger
        tz = self.torcula[1]
        fz = np.sqrt(max(1e-6, 1 - ((tz - 22.0) / 80.0) ** 2))
        a0, b0 = r_in[0] * fz, r_in[1] * fz
        th = np.arctan2(x, y - 8.0)
        hd = (1.0 - np.sqrt((x / a0) ** 2 + ((y - 8.0) / b0) ** 2)) * 0.5 * (a0 + b0)
        w = z - (tz - 6.0 * np.clip(np.abs(th) / 1.75, 0, 1))
        dom = 1.0 if bern.get("dominant", "right") == "left" else -1.0  # +x is the patient's left
        big = np.sign(x) == dom
        D = np.where(big, 8.0, 5.5)
        H = np.where(big, 9.5, 6.5)
        if bern.get("distension"):
            sinus = np.where(big, ((hd - D / 2) / (D / 2 * 1.15)) ** 2 + (w / (H / 2 * 1.2)) ** 2 <= 1.0,
                             (hd >= 0) & (hd <= D) & (np.abs(w) <= H / 2 * np.clip(1 - hd / D, 0, 1) ** 1.4))
        else:
            sinus = (hd >= 0) & (hd <= D) & (np.abs(w) <= H / 2 * np.clip(1 - hd / D, 0, 1) ** 1.4)
        sinus &= (np.abs(th) < 1.75) & (np.abs(th) > 0.05) & (z > -60) & (q_out <= 1)
        lab[sinus] = VEIN
        return lab

    # ------------------------------------------------------------------------------------------
    def truth(self):
        """Landmarks (head frame, 3D) and measurements."""
        s = self.sag
        mbi = self.mb_c - np.array([0.0, self.mb_r[2]])
        # nearest pons point: on the polyline V-P1-arc
        poly = [self.V] + self.pons_arc
        best = None
        for a, b in zip(poly[:-1], poly[1:]):
            dd, t = seg_dist2(np.array([mbi[0]]), np.array([mbi[1]]), a, b)
            p = a + float(t[0]) * (b - a)
            if best is None or dd[0] < best[0]:
                best = (float(dd[0]), p)
        mpd, ps = best
        pa = self.pons_front
        cl = self.cl_top
        d = (self.basion - cl) / np.linalg.norm(self.basion - cl)
        cp = cl + ((pa - cl) @ d) * d
        prepontine = float(np.linalg.norm(pa - cp))
        chi_inf = self.chi_c - np.array([0.0, self.chi_r[2]])
        supra = float(np.linalg.norm(chi_inf - self.diaphragma))
        tc = self.tons_c
        tip = np.array([tc[1], tc[2] - self.tons_r[2]])
        tonsil = below_line(tip, self.basion, self.opisthion)
        iter_b = below_line(self.iter, self.ts, self.galen)
        pit_h = float(np.linalg.norm(self.pit_top - self.pit_floor))
        P = lambda p: [0.0, float(p[0]), float(p[1])]  # noqa: E731
        lm = {
            "mamillary_inferior": P(mbi), "pons_superior": P(ps),
            "pm_vertex": P(self.V), "pm_midbrain": P(self.V + 8.0 * self.um), "pm_pons": P(self.V + 6.0 * self.up),
            "chiasm_inferior": P(chi_inf), "diaphragma_sellae": P(self.diaphragma),
            "pituitary_top": P(self.pit_top), "pituitary_floor": P(self.pit_floor),
            "tuberculum_sellae": P(self.ts), "basion": P(self.basion), "opisthion": P(self.opisthion),
            "clivus_prepontine": P(cp), "pons_anterior": P(pa),
            "tonsil_tip": [float(tc[0]), float(tip[0]), float(tip[1])],
            "tonsil_tip_right": [-float(tc[0]), float(tip[0]), float(tip[1])],
            "iter": P(self.iter), "galen_junction": P(self.galen),
        }
        meas = {
            "mamillopontine_distance_mm": mpd,
            "pontomesencephalic_angle_deg": self.pma,
            "suprasellar_cistern_mm": supra,
            "prepontine_cistern_mm": prepontine,
            "tonsil_below_mcrae_mm": tonsil,
            "iter_below_incisural_line_mm": iter_b,
            "pituitary_height_mm": pit_h,
        }
        del s
        return lm, meas


def rot(ax, ay, az):
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def blur_axis(vol, sigma, axis):
    if sigma <= 0.05:
        return vol
    n = max(1, int(3 * sigma + 0.5))
    k = np.exp(-0.5 * (np.arange(-n, n + 1) / sigma) ** 2)
    k /= k.sum()
    pad = [(0, 0)] * vol.ndim
    pad[axis] = (n, n)
    p = np.pad(vol, pad, mode="edge")
    out = np.zeros_like(vol)
    L = vol.shape[axis]
    for i in range(2 * n + 1):
        out += k[i] * np.take(p, np.arange(i, i + L), axis=axis)
    return out


def generate(study: cm.Study, kind: str, seed: int) -> dict:
    rng = cm.seeded_rng(seed, "brain/" + kind)
    if kind == "sag":
        sag = float((seed - 1) % 6)  # consecutive seeds give a series 0, 1, ..., 5 mm
    else:
        sag = float(rng.choice([0.0, 0.0, 2.0, 3.5, 5.0]))
    bern = None
    if kind == "bern":
        brng = cm.seeded_rng(seed, "brain/bern")
        sag = float([0.0, 4.0, 2.0, 5.0][seed % 4])
        pachy = sag >= 2.0 and brng.random() < 0.85
        bern = {"pachy": pachy, "dura_mm": float(brng.uniform(1.8, 2.6)) if pachy else 0.7,
                "distension": bool(sag >= 3.0 and brng.random() < 0.8) or bool(brng.random() < 0.1),
                "dominant": "right" if brng.random() < 0.7 else "left",
                "subdural_mm": float(brng.uniform(3.0, 6.0)) if sag >= 4.0 and brng.random() < 0.7 else 0.0}
    head = Head(rng, sag, bern)
    R = rot(*np.radians(rng.uniform(-6, 6, 3)))  # world_from_head rotation
    centre = np.array([float(rng.uniform(-3, 3)), float(rng.uniform(5, 20)), float(rng.uniform(20, 40))])
    lut = T1 * np.concatenate([rng.uniform(0.94, 1.06, 20), [1.0, 1.0]])  # (20 draws: older cases unchanged)
    sigma = float(rng.uniform(20, 40))
    arng = cm.seeded_rng(seed, "brain/acq")
    plane = "sagittal" if arng.random() < 0.6 else "axial"
    aniso = arng.random() < 0.5
    tilt = math.radians(float(arng.uniform(6, 14)) * (1 if arng.random() < 0.5 else -1)) if arng.random() < 0.4 else 0.0
    dslice = 1.2 if aniso else 1.0
    # slab axes in the head-independent world frame: row dir, col dir, slice normal
    if plane == "sagittal":
        row, col = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])
        nrow, ncol, nsl = 196, 204, int(round(150 / dslice))
        desc = ["t1_mprage_sag_p2_iso", "Sag 3D T1 BRAVO", "3D_T1W_TFE_SAG", "sag 3D T1 MPRAGE brain"][seed % 4]
    else:
        row, col = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
        nrow, ncol, nsl = 204, 156, int(round(176 / dslice))
        desc = ["t1_mprage_tra_iso", "Ax 3D T1 BRAVO", "3D_T1W_TFE_TRA", "axial 3D T1 FSPGR"][seed % 4]
    if tilt:
        Rt_ = rot(tilt, 0.0, 0.0) if plane == "axial" else rot(0.0, 0.0, tilt)  # oblique axial / oblique sagittal
        row, col = Rt_ @ row, Rt_ @ col
    nrm = np.cross(row, col)
    if plane == "axial":
        nrm = -nrm if nrm[2] < 0 else nrm  # slices run inferior to superior
    # slab centred on the head centre, shifted up a little so the vertex and the C2 fit
    slab_c = centre + np.array([0.0, 0.0, 6.0])
    o0 = slab_c - (ncol - 1) / 2 * row - (nrow - 1) / 2 * col - (nsl - 1) / 2 * dslice * nrm
    jj, ii = np.meshgrid(np.arange(nrow), np.arange(ncol), indexing="ij")
    ss_off = [(-0.25, -0.25, -0.25), (0.25, 0.25, 0.25)]  # two sub-samples per voxel (partial volume)
    luts = [lut] + ([T1C * lut / T1.clip(1)] if bern is not None else [])
    vols = [np.zeros((nsl, nrow, ncol), np.float32) for _ in luts]
    for k in range(nsl):
        for (a, b, c) in ss_off:
            P = o0 + (ii[..., None] + a) * row + (jj[..., None] + b) * col + (k + c) * dslice * nrm
            Q = (P - centre) @ R  # head coordinates: R^T (p - c)
            lab = head.labels(Q[..., 0], Q[..., 1], Q[..., 2])
            for v, lt in zip(vols, luts):
                v[k] += lt[lab] / len(ss_off)
    kk = np.arange(nsl)[:, None, None]
    P = o0 + ii[None, ..., None] * row + jj[None, ..., None] * col + kk[..., None] * dslice * nrm
    bias = 1.0 + 0.12 * (P[..., 2] - centre[2]) / 90.0 - 0.08 * ((P[..., 1] - centre[1]) / 100.0) ** 2
    del P
    syntax = ["rle", "explicit", "deflate"][seed % 3]
    if bern is not None and syntax == "explicit":
        syntax = "rle"  # two 3D series: keep the study under 20 MB
    for si, vol in enumerate(vols):
        vol = blur_axis(blur_axis(blur_axis(vol, 0.45, 1), 0.45, 2), 0.45 / dslice, 0)
        nrng = cm.seeded_rng(seed, "brain/noise" + ("" if si == 0 else "/post"))
        img = cm.rician(vol * bias, sigma, nrng)
        sn = study.next_series_number()
        series_uid = cm.uid(study.case, seed, "t1" if si == 0 else "t1c")
        d = desc if si == 0 else [desc + " +C", desc + " POST", "POST GD " + desc, desc + "_Gd"][seed % 4]
        for k in range(nsl):
            o = o0 + k * dslice * nrm
            ds = study.base("MR", cm.MR_STORAGE, series_uid, sn, d, cm.add_time(study.time, 3 if si == 0 else 12))
            ds.SOPInstanceUID = cm.uid(series_uid, k)
            ds.InstanceNumber = nsl - k if plane == "sagittal" and seed % 2 else k + 1
            ds.ProtocolName = d
            ds.BodyPartExamined = "HEAD" if seed % 3 else "BRAIN"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND", "NORM"]
            ds.ScanningSequence = ["GR", "IR"]
            ds.SequenceVariant = ["SK", "SP", "MP"]
            ds.MRAcquisitionType = "3D"
            ds.EchoTime = "2.3"
            ds.RepetitionTime = "2000"
            ds.InversionTime = "900"
            ds.FlipAngle = "8"
            ds.MagneticFieldStrength = "3" if seed % 2 else "1.5"
            if si == 1:
                ds.ContrastBolusAgent = "Gadobutrol"
                ds.ContrastBolusRoute = "IV"
            ds.SliceThickness = cm.ds_str(dslice)
            ds.SpacingBetweenSlices = cm.ds_str(dslice)
            ds.ImagePositionPatient = [cm.ds_str(v) for v in o]
            ds.ImageOrientationPatient = [cm.ds_str(v, 8) for v in list(row) + list(col)]
            ds.PixelSpacing = ["1", "1"]
            cm.set_pixels_u16(ds, cm.to_u16(img[k]))
            study.write(ds, f"S{sn:02d}", f"IM{k + 1:04d}.dcm", syntax)
        study.series.append({"series_instance_uid": series_uid, "series_number": sn,
                             "role": "brain_t1" if si == 0 else "brain_t1_contrast",
                             "description": d, "n_images": nsl, "noise_sigma": sigma, "plane": plane,
                             "voxel_mm": [1.0, 1.0, dslice], "slab_tilt_deg": math.degrees(tilt)})
    lm, meas = head.truth()
    to_world = lambda p: (centre + R @ np.asarray(p, float)).tolist()  # noqa: E731
    return {
        "description": f"brain 3D T1 ({plane}, {dslice} mm slices{', oblique' if tilt else ''}), sag {sag} mm, "
                       f"MPD {meas['mamillopontine_distance_mm']:.2f} mm",
        "brain": {**meas, "sag_mm": sag, "landmarks": {k: to_world(v) for k, v in lm.items()},
                  "midsagittal_normal": (R @ np.array([1.0, 0.0, 0.0])).tolist(),
                  "acquisition": {"plane": plane, "slice_mm": dslice, "tilt_deg": math.degrees(tilt)},
                  **({"venous_distension": bool(bern["distension"]), "dominant_transverse_sinus": bern["dominant"],
                      "pachymeningeal_enhancement": bool(bern["pachy"]), "dura_thickness_mm": bern["dura_mm"],
                      "subdural_fluid": bern["subdural_mm"] > 0, "subdural_fluid_thickness_mm": bern["subdural_mm"]}
                     if bern is not None else {}),
                  "scope": "midsagittal sagging landmarks and measurements" + (
                      "; pre/post contrast T1 with the Bern image items (no orbits)" if bern is not None else
                      "; no contrast series, no orbits")},
    }
