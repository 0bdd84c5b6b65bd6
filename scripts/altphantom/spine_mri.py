"""Spinal MRI cases: axial fat-sat T2 (oblique block, anisotropic pixels, gap between slices),
a whole-spine sagittal fat-sat T2 (classic or enhanced multi-frame), optional contrast T1 fat-sat.

Intensities on a 0..4095 scale with CSF : cord : fat-sat fat about 3100 : 1150 : 300, a surface
coil bias field (signal falling off anteriorly and along the spine) and Rician noise.
"""

from __future__ import annotations

import math

import numpy as np

import common as cm
import spine_model as sm
from sampling import render_slice

T2FS = {sm.AIR: 0, sm.SUBCUT: 280, sm.MUSCLE: 520, sm.PREVERT: 700, sm.CANC: 430, sm.CORT: 120,
        sm.ANNULUS: 640, sm.NUCLEUS: 2000, sm.EPIFAT: 300, sm.VEIN: 1350, sm.DURA: 260, sm.CSF: 3100,
        sm.CORD: 1150, sm.COLL: 3050, sm.LEAK: 3050, sm.ROOT: 1000, sm.PLEXUS: 2300}
T1FSC = {sm.AIR: 0, sm.SUBCUT: 240, sm.MUSCLE: 700, sm.PREVERT: 900, sm.CANC: 620, sm.CORT: 150,
         sm.ANNULUS: 700, sm.NUCLEUS: 650, sm.EPIFAT: 260, sm.VEIN: 2600, sm.DURA: 1300, sm.CSF: 360,
         sm.CORD: 900, sm.COLL: 390, sm.LEAK: 390, sm.ROOT: 850, sm.PLEXUS: 2700}

VENDORS = [
    # (manufacturer, axial desc, sagittal desc, t1 desc, protocol prefix, body part)
    ("SIEMENS", "t2_tse_fs_tra", "t2_tse_fs_sag", "t1_tse_fs_tra_post", "", "TSPINE"),
    ("GE MEDICAL SYSTEMS", "AX T2 FS", "SAG T2 FS", "AX T1 FS +C", "T-SPINE ", "SPINE"),
    ("Philips", "T2W_TSE_SPAIR_TRA", "T2W_TSE_SPAIR_SAG", "T1W_TSE_SPAIR_TRA_GD", "WS ", "SPINE"),
    ("CANON_MEC", "T2 FSE FatSat AX", "T2 FSE FatSat SAG", "T1 FSE FatSat AX post", "", "SPINE"),
]


def table(tab: dict, rng: np.random.Generator) -> np.ndarray:
    lut = np.zeros(17)
    for k, v in tab.items():
        lut[k] = v * float(rng.uniform(0.93, 1.07))
    lut[sm.COLL] = lut[sm.CSF] * float(rng.uniform(0.95, 1.0))
    return lut


def make_case(kind: str, seed: int, rng: np.random.Generator):
    """Spine model + description for one MRI case kind."""
    coll = None
    desc = "normal spine MRI"
    if kind == "mimics":
        spine = sm.Spine(rng)
        top = int(rng.integers(sm.LEVELS.index("T12"), sm.LEVELS.index("L2") + 1))
        t = float(rng.uniform(2.0, 3.0))
        s_top = spine.z_of_level(sm.LEVELS[top], "top")
        s_bot = spine.z_of_level(sm.LEVELS[top + 1], "bottom")
        spine.collection = {"position": "ventral", "kind": "plexus", "s_top": s_top, "s_bottom": s_bot,
                            "thickness_mm": round(t, 2), "taper_mm": 8.0, "defect_s": None}
        side = 1 if rng.random() < 0.5 else -1
        spine.tarlov = {"s": spine.z_of_level("S1", "mid"), "side_sign": side, "r_mm": float(rng.uniform(5.0, 7.0))}
        mim = [{"kind": "venous_plexus", "from_level": sm.LEVELS[top], "to_level": sm.LEVELS[top + 1], "side": "midline",
                "thickness_mm": round(t, 2)},
               {"kind": "tarlov_cyst", "level": "S1", "side": "left" if side > 0 else "right",
                "radius_mm": spine.tarlov["r_mm"]}]
        return spine, None, "engorged enhancing ventral venous plexus + Tarlov cyst, no leak", mim
    if kind != "normal":
        if kind == "ventral":
            top = int(rng.integers(sm.LEVELS.index("T1"), sm.LEVELS.index("T6") + 1))
            n = int(rng.integers(4, 8))
            t = float(rng.uniform(2.5, 4.5))
            defect = True
        elif kind == "dorsal":
            top = int(rng.integers(sm.LEVELS.index("T9"), sm.LEVELS.index("L1") + 1))
            n = int(rng.integers(2, 4))
            t = float(rng.uniform(2.2, 3.8))
            defect = rng.random() < 0.5
        else:
            top = int(rng.integers(sm.LEVELS.index("T3"), sm.LEVELS.index("T8") + 1))
            n = int(rng.integers(3, 6))
            t = float(rng.uniform(2.0, 3.2))
            defect = rng.random() < 0.5
        coll = {"position": kind, "top": sm.LEVELS[top], "bottom": sm.LEVELS[min(top + n - 1, len(sm.LEVELS) - 2)],
                "thickness_mm": round(t, 2), "taper_mm": float(rng.uniform(7, 12)), "defect": defect}
        desc = f"{kind} epidural CSF {coll['top']}-{coll['bottom']} {t:.1f} mm" + (" with dural defect" if defect else "")
    spine = sm.Spine(rng)
    if coll:
        s_top = spine.z_of_level(coll["top"], "top")
        s_bot = spine.z_of_level(coll["bottom"], "bottom")
        spine.collection = {"position": coll["position"], "s_top": s_top, "s_bottom": s_bot,
                            "thickness_mm": coll["thickness_mm"], "taper_mm": coll["taper_mm"],
                            "defect_s": (s_top + s_bot) / 2 + float(rng.uniform(-10, 10)) if coll["defect"] else None}
    return spine, coll, desc, []


def bias_field(y, z, spine, rng_params):
    """Posterior surface coil: signal falls anteriorly; slow variation along z."""
    y_back, L, amp, ph = rng_params
    return np.exp(-(y_back - y) / L) * (1.0 + amp * np.sin(z / 140.0 + ph))


def generate(study: cm.Study, kind: str, seed: int) -> dict:
    rng = cm.seeded_rng(seed, "spine_mri/" + kind)
    # acquisition variants (their own random stream, the older kinds are unchanged)
    variant = kind if kind in ("coarse", "fullaxial", "thoracic") else None
    xr = cm.seeded_rng(seed, "spine_mri/variant/" + kind)
    if variant == "thoracic":
        kind = str(xr.choice(["ventral", "circumferential", "normal"]))
    elif variant:
        kind = str(xr.choice(["ventral", "dorsal", "normal"]))
    spine, coll, desc, mimics = make_case(kind, seed, rng)
    vendor = VENDORS[int(rng.integers(0, len(VENDORS)))]
    lut_t2 = table(T2FS, rng)
    lut_t1 = table(T1FSC, rng)
    sigma = float(rng.uniform(40, 85))
    syntax = ["explicit", "rle", "deflate"][seed % 3]
    bias_p = (float(np.interp(spine.levels[10]["body_top_s"], spine.grid, spine.yc)) + 70.0,
              float(rng.uniform(160, 260)), float(rng.uniform(0.05, 0.15)), float(rng.uniform(0, 6.28)))
    bias_norm = 1.0 / math.exp(-70.0 / bias_p[1])

    def t2(x, y, z):
        lab, _ = spine.labels(x, y, z)
        return lut_t2[lab]

    def t1(x, y, z):
        lab, _ = spine.labels(x, y, z)
        return lut_t1[lab]

    # axial coverage
    if coll:
        i0 = max(0, sm.LEVELS.index(coll["top"]) - 1)
        i1 = sm.LEVELS.index(coll["bottom"]) + 1
    else:
        if kind == "mimics":
            i0, i1 = sm.LEVELS.index("T11"), sm.LEVELS.index("S1")
        elif rng.random() < 0.5:
            i0, i1 = sm.LEVELS.index("T3"), sm.LEVELS.index("T12")
        else:
            i0, i1 = sm.LEVELS.index("T10"), sm.LEVELS.index("S1")
    if variant == "thoracic":
        # a thoracic block that reaches neither C2 nor the sacrum
        i0 = max(sm.LEVELS.index("C6"), min(i0, sm.LEVELS.index("T3")))
        i1 = min(sm.LEVELS.index("L1"), max(i1, sm.LEVELS.index("T10")))
    elif variant == "fullaxial":
        i0, i1 = sm.LEVELS.index("C2"), sm.LEVELS.index("S1")
    elif i1 >= sm.LEVELS.index("L1"):
        i1 = sm.LEVELS.index("S1")  # lumbar blocks run to the sacrum as usual
    s_hi = spine.z_of_level(sm.LEVELS[i0], "top") + 6
    s_lo = spine.z_of_level(sm.LEVELS[i1], "bottom") - 6
    gap = [1.0, 1.1, 1.2][seed % 3]
    thick = float(rng.choice([3.0, 3.5, 4.0]))
    max_sl = 72
    if variant == "coarse":
        thick = float(xr.choice([5.0, 5.5, 6.0]))
    elif variant == "fullaxial":
        thick, gap, max_sl = float(xr.choice([4.0, 5.0])), 1.0, 170
    spacing = thick * gap
    n_sl = int((s_hi - s_lo) / spacing) + 1
    if n_sl > max_sl:
        n_sl = max_sl  # a longer range is cut at the top (the caudal end keeps the sacrum)
        s_hi = s_lo + (n_sl - 1) * spacing
    s_mid = 0.5 * (s_hi + s_lo)
    tn = spine.tangent(s_mid)
    tilt = math.atan2(tn[1], tn[2]) if rng.random() < 0.75 else 0.0
    tilt += float(rng.uniform(-0.05, 0.05))
    if variant == "fullaxial":
        tilt = 0.0  # one straight stack from C2 to S1
    row = np.array([1.0, 0.0, 0.0])
    col = np.array([0.0, math.cos(tilt), -math.sin(tilt)])
    nrm = np.cross(row, col)
    rows, cols = 224, 256
    px = [0.78, 0.70]
    if variant == "coarse":
        p_ = float(xr.uniform(1.3, 1.5))
        px = [round(p_, 3), round(p_ * float(xr.uniform(0.9, 1.0)), 3)]
        rows, cols = int(175 / px[0]), int(180 / px[1])
    elif variant == "fullaxial":
        px = [0.9, 0.9]
        rows, cols = 200, 200
    ctr = spine.centre(s_mid)
    ctr_fov = ctr + np.array([0.0, -22.0, 0.0])
    series_uid = cm.uid(study.case, seed, "ax_t2")
    sn = study.next_series_number()
    acq_t = cm.add_time(study.time, 6)
    t1_uid = cm.uid(study.case, seed, "ax_t1")
    with_t1 = rng.random() < 0.5 or kind == "mimics"
    if variant == "fullaxial":
        with_t1, syntax = False, "rle"  # one long stack: keep the study under 20 MB
    if with_t1 and syntax == "explicit":
        syntax = "rle"  # keeps a study with two long axial stacks under 20 MB
    sn_t1 = None
    if with_t1:
        sn_t1 = 0  # numbered after the sagittal below
    noise_rng = cm.seeded_rng(seed, "noise/ax")
    positions = []
    for k in range(n_sl):
        off = (k - (n_sl - 1) / 2) * spacing
        c_k = ctr_fov + off * nrm
        origin = c_k - (cols - 1) / 2 * px[1] * row - (rows - 1) / 2 * px[0] * col
        img = render_slice(t2, origin, row, col, nrm, rows, cols, px, thick, ss=1, nz=2, blur=0.45)
        P = origin[None, None, :] + np.arange(cols)[None, :, None] * px[1] * row + np.arange(rows)[:, None, None] * px[0] * col
        img = img * bias_field(P[..., 1], P[..., 2], spine, bias_p) * bias_norm
        img = cm.rician(img, sigma, noise_rng)
        positions.append(origin)
        ds = mr_slice(study, vendor, series_uid, sn, vendor[1], vendor[4] + vendor[1], origin, row, col, px, thick,
                      spacing, k, cm.to_u16(img), acq_t, te=95.0, tr=3800.0, seed=seed, tag="ax_t2")
        study.write(ds, f"S{sn:02d}", f"IM{k + 1:04d}.dcm", syntax)
    study.series.append({"series_instance_uid": series_uid, "series_number": sn, "role": "spinal_t2_fs_axial",
                         "description": vendor[1], "n_images": n_sl, "tilt_deg": math.degrees(tilt),
                         "pixel_spacing_mm": px, "slice_thickness_mm": thick, "spacing_mm": spacing,
                         "levels": [sm.LEVELS[i0], sm.LEVELS[i1]], "noise_sigma": sigma, "transfer_syntax": syntax})

    # sagittal whole spine (C2..S1), 11 slices
    with_sag = variant != "fullaxial"
    sag_whole = not (variant == "thoracic" and seed % 2 == 0)
    sag_uid = cm.uid(study.case, seed, "sag_t2")
    sn_s = study.next_series_number() if with_sag else None
    zs_hi = spine.z_of_level("C2", "top") + 20
    zs_lo = spine.z_of_level("S1", "bottom") - 25
    if not sag_whole:  # thoracic sagittal field: T1..L1, no end of the spine in view
        zs_hi = spine.z_of_level("T1", "top") + 8
        zs_lo = spine.z_of_level("L1", "bottom") - 8
    spx = [1.1, 1.0]  # rows along z (1.1 mm), columns along y (1.0 mm)
    if variant == "coarse":
        spx = [1.45, 1.35]
    srows = int((zs_hi - zs_lo) / spx[0])
    yc_all = spine.yc[(spine.grid > zs_lo) & (spine.grid < zs_hi)]
    y0 = float(yc_all.min()) - 75.0
    scols = int((float(yc_all.max()) + 45.0 - y0) / spx[1])
    srow = np.array([0.0, 1.0, 0.0])
    scol = np.array([0.0, 0.0, -1.0])
    snrm = np.cross(srow, scol)  # (-1, 0, 0)
    n_sag = 11 if with_sag else 0
    sthick, sspacing = 3.0, 3.3
    if variant == "coarse":
        n_sag, sthick, sspacing = 9, 4.0, 4.4
    x_mid = float(np.mean(spine.xc))
    frames = []
    origins = []
    nrng = cm.seeded_rng(seed, "noise/sag")
    for k in range(n_sag):
        xk = x_mid - (k - (n_sag - 1) / 2) * sspacing  # along the normal (-x)
        origin = np.array([xk, y0, zs_hi])
        img = render_slice(t2, origin, srow, scol, snrm, srows, scols, spx, sthick, ss=1, nz=2, blur=0.45)
        P = origin[None, None, :] + np.arange(scols)[None, :, None] * spx[1] * srow + np.arange(srows)[:, None, None] * spx[0] * scol
        img = img * bias_field(P[..., 1], P[..., 2], spine, bias_p) * bias_norm
        img = cm.rician(img, sigma, nrng)
        frames.append(cm.to_u16(img))
        origins.append(origin)
    enhanced = seed % 2 == 1
    if not with_sag:
        pass
    elif enhanced:
        ds = enhanced_mr(study, vendor, sag_uid, sn_s, vendor[2], frames, origins, srow, scol, spx, sthick, sspacing,
                         cm.add_time(study.time, 2))
        study.write(ds, f"S{sn_s:02d}", "ENH0001.dcm", "explicit")
    else:
        for k, (f, o) in enumerate(zip(frames, origins)):
            ds = mr_slice(study, vendor, sag_uid, sn_s, vendor[2], vendor[4] + vendor[2], o, srow, scol, spx, sthick,
                          sspacing, k, f, cm.add_time(study.time, 2), te=100.0, tr=3500.0, seed=seed, tag="sag")
            study.write(ds, f"S{sn_s:02d}", f"IM{k + 1:04d}.dcm", syntax)
    if with_sag:
        study.series.append({"series_instance_uid": sag_uid, "series_number": sn_s, "role": "spinal_t2_fs_sagittal",
                             "description": vendor[2], "n_images": 1 if enhanced else n_sag, "enhanced_multiframe": enhanced,
                             "levels": ["C2", "S1"] if sag_whole else ["T1", "L1"]})

    if with_t1:
        sn_t1 = study.next_series_number()
        nrng = cm.seeded_rng(seed, "noise/t1")
        for k, origin in enumerate(positions):
            img = render_slice(t1, origin, row, col, nrm, rows, cols, px, thick, ss=1, nz=2, blur=0.45)
            P = origin[None, None, :] + np.arange(cols)[None, :, None] * px[1] * row + np.arange(rows)[:, None, None] * px[0] * col
            img = img * bias_field(P[..., 1], P[..., 2], spine, bias_p) * bias_norm
            img = cm.rician(img, sigma * 0.8, nrng)
            ds = mr_slice(study, vendor, t1_uid, sn_t1, vendor[3], vendor[4] + vendor[3], origin, row, col, px, thick,
                          spacing, k, cm.to_u16(img), cm.add_time(study.time, 25), te=12.0, tr=600.0, seed=seed,
                          tag="ax_t1", contrast="Gadoterate meglumine")
            study.write(ds, f"S{sn_t1:02d}", f"IM{k + 1:04d}.dcm", syntax)
        study.series.append({"series_instance_uid": t1_uid, "series_number": sn_t1, "role": "spinal_contrast_t1",
                             "description": vendor[3], "n_images": n_sl})

    ct = spine.collection_truth() if coll else None
    truth = {
        "description": desc + ({"coarse": f"; coarse axial {thick} mm slices, {px[0]} mm pixels",
                                "fullaxial": f"; one straight axial stack C2-S1 ({thick} mm), no sagittal",
                                "thoracic": f"; thoracic axial {sm.LEVELS[i0]}-{sm.LEVELS[i1]}, "
                                            + ("whole-spine sagittal" if sag_whole else "thoracic sagittal T1-L1 only")}.get(variant, "")),
        "spine": {
            "epidural_fluid": {"status": "present" if ct else "absent", "collections": [ct] if ct else []},
            "contrast_t1": with_t1,
            "excluded_mimics": mimics,
            "axial_levels": [sm.LEVELS[i0], sm.LEVELS[i1]],
            # levels can be counted when a series shows an end of the spine (C2 or the sacrum)
            "levels_countable": (i0 == 0 or i1 == sm.LEVELS.index("S1")) or (with_sag and sag_whole),
            "variant": variant,
            "levels": spine.level_table(),
        },
    }
    return truth


def mr_slice(study, vendor, series_uid, sn, desc, protocol, origin, row, col, px, thick, spacing, k, pixels, acq_t,
             te, tr, seed, tag, contrast=None):
    ds = study.base("MR", cm.MR_STORAGE, series_uid, sn, desc, acq_t)
    ds.SOPInstanceUID = cm.uid(study.case, seed, tag, k)
    ds.InstanceNumber = k + 1
    ds.Manufacturer = vendor[0]
    ds.ProtocolName = protocol
    ds.BodyPartExamined = vendor[5]
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NORM", "DIS2D"]
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = ["SK", "SP"]
    ds.ScanOptions = ["FS", "SAT2"] if vendor[0] != "SIEMENS" else ["SFS"]
    ds.MRAcquisitionType = "2D"
    ds.EchoTime = cm.ds_str(te)
    ds.RepetitionTime = cm.ds_str(tr)
    ds.MagneticFieldStrength = "1.5" if seed % 2 else "3"
    ds.SliceThickness = cm.ds_str(thick)
    ds.SpacingBetweenSlices = cm.ds_str(spacing)
    ds.PatientPosition = "HFS"
    ds.ImagePositionPatient = [cm.ds_str(v) for v in origin]
    ds.ImageOrientationPatient = [cm.ds_str(v, 8) for v in list(row) + list(col)]
    ds.PixelSpacing = [cm.ds_str(px[0]), cm.ds_str(px[1])]
    ds.SliceLocation = cm.ds_str(float(np.dot(origin, np.cross(row, col))))
    if contrast:
        ds.ContrastBolusAgent = contrast
    cm.set_pixels_u16(ds, pixels)
    ds.WindowCenter = "1600"
    ds.WindowWidth = "3600"
    return ds


def enhanced_mr(study, vendor, series_uid, sn, desc, frames, origins, row, col, px, thick, spacing, acq_t):
    from pydicom.dataset import Dataset
    ds = study.base("MR", cm.ENHANCED_MR_STORAGE, series_uid, sn, desc, acq_t)
    ds.SOPInstanceUID = cm.uid(series_uid, "enh")
    ds.InstanceNumber = 1
    ds.Manufacturer = vendor[0]
    ds.ProtocolName = vendor[4] + desc
    ds.BodyPartExamined = vendor[5]
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.ContentQualification = "PRODUCT"
    ds.PulseSequenceName = "TSE"
    ds.MRAcquisitionType = "2D"
    ds.EchoPulseSequence = "SPIN"
    ds.AcquisitionContrast = "T2"
    ds.MagneticFieldStrength = "3"
    ds.NumberOfFrames = len(frames)
    ds.AcquisitionDateTime = study.date + acq_t
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [cm.ds_str(px[0]), cm.ds_str(px[1])]
    pm.SliceThickness = cm.ds_str(thick)
    pm.SpacingBetweenSlices = cm.ds_str(spacing)
    shared.PixelMeasuresSequence = cm.seq(pm)
    po = Dataset()
    po.ImageOrientationPatient = [cm.ds_str(v, 8) for v in list(row) + list(col)]
    shared.PlaneOrientationSequence = cm.seq(po)
    te = Dataset()
    te.EffectiveEchoTime = 100.0
    shared.MREchoSequence = cm.seq(te)
    tim = Dataset()
    tim.RepetitionTime = 3500.0
    tim.FlipAngle = 150.0
    tim.EchoTrainLength = 17
    shared.MRTimingAndRelatedParametersSequence = cm.seq(tim)
    ds.SharedFunctionalGroupsSequence = cm.seq(shared)
    per = []
    # frames stored in reverse order of position to exercise position-based sorting
    order = list(range(len(frames)))[::-1]
    for idx, k in enumerate(order):
        f = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = [cm.ds_str(v) for v in origins[k]]
        f.PlanePositionSequence = cm.seq(pp)
        fc = Dataset()
        fc.StackID = "1"
        fc.InStackPositionNumber = k + 1
        fc.DimensionIndexValues = [1, k + 1]
        f.FrameContentSequence = cm.seq(fc)
        per.append(f)
    ds.PerFrameFunctionalGroupsSequence = cm.seq(*per)
    cm.set_pixels_u16(ds, np.stack([frames[k] for k in order]))
    return ds
