"""RI (In-111 DTPA) cisternography cases: whole-body anterior/posterior NM multi-frame images at
about 1, 3, 6 and 24 h after a lumbar injection, one series per time point.

Model (independent of csfleak's generator): compartments with their own 2D shapes and depths
(spinal subarachnoid space as a line source along a mildly scoliotic spine, basal cisterns,
Sylvian fissures, cerebral convexity crescent, paraspinal leak, kidneys, bladder, blood pool over
the body outline). Planar counts = activity x exp(-mu x depth toward the detector), blurred by a
collimator/scatter PSF (FWHM ~14 mm), Poisson noise. Acquisition times deviate from the nominal
ones by minutes, the 24-h scan is on the next calendar day and may run at a slower table speed
(Actual Frame Duration and Scan Velocity say so), In-111 half-life written as 2.8049 d, energy
windows 1 or 2 per head, posterior images stored either as seen from behind or mirrored.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

import common as cm
import spine_model as sm
from sampling import gauss2d

HALF_LIFE_S = 2.8049 * 86400.0
MU_PER_MM = 0.0115  # effective linear attenuation in soft tissue for 171/245 keV with build-up


def generate(study: cm.Study, kind: str, seed: int) -> dict:
    rng = cm.seeded_rng(seed, "ri/" + kind)
    xrng = cm.seeded_rng(seed, "ri/extra/" + kind)  # draws of the newer variants (keeps the older cases unchanged)
    leak = kind in ("leak", "leak-renal", "christmas", "missing24")
    pattern = {"leak": "unilateral", "leak-renal": "unilateral", "missing24": "unilateral", "christmas": "lumbar"}.get(kind)
    spot = kind in ("spot", "spot-head")
    head_only = kind == "spot-head"  # only the head-chest station: bladder and lower spine not in view
    px = 2.26
    cols, rows = 256, 1024
    if spot:
        px, rows = 1.8, 3 * 256  # three static stations of 256 x 256 per time point
    height = float(rng.uniform(1520, 1800))  # body length, vertex to heel
    sc = height / 1650.0
    x0 = (cols - 1) / 2 * px + float(rng.uniform(-8, 8))  # body midline in the image, mm from col 0
    top = float(rng.uniform(25, 60))  # vertex, mm from row 0
    # vertical positions (mm below the vertex)
    fm = top + 205 * sc  # foramen magnum
    # vertebral levels: proportional to the spine model's heights
    lvl_len = {"C": 19.0, "T": 26.0, "L": 37.0, "S": 30.0}
    zpos = {}
    zz = fm + 22 * sc
    for name in sm.LEVELS:
        h = lvl_len[name[0]] * sc
        zpos[name] = zz + h / 2
        zz += h
    sac_end = zpos["S1"] + 30 * sc
    bladder_z = zpos["S1"] + 95 * sc
    kidney_z = 0.5 * (zpos["T12"] + zpos["L2"])
    scol_amp = float(rng.uniform(-8, 8))

    X = (np.arange(cols) * px)[None, :] - x0  # mm, + toward the patient's left in the anterior image
    Z = (np.arange(rows) * px)[:, None]

    def spine_x(z):
        return scol_amp * np.sin((z - fm) / (sac_end - fm) * math.pi)

    # compartment shapes (each normalised to unit sum) and depths (anterior, posterior) in mm
    shapes = {}
    depth = {}
    # spinal subarachnoid space: a band 12 mm wide (Gaussian) along the spine; profile set per time
    band = np.exp(-0.5 * ((X - spine_x(Z)) / 5.5) ** 2) * ((Z > fm) & (Z < sac_end))
    head_c = top + 95 * sc
    hr = 78 * sc
    basal = np.exp(-0.5 * ((X / 22.0) ** 2 + ((Z - (fm - 45 * sc)) / 18.0) ** 2))
    sylv = sum(np.exp(-0.5 * (((X - s * 38 * sc) / 11.0) ** 2 + ((Z - (head_c + 5 * sc)) / 22.0) ** 2)) for s in (-1, 1))
    r = np.sqrt(X ** 2 + ((Z - head_c) * 1.1) ** 2)
    convex = np.exp(-0.5 * ((r - (hr - 10)) / 6.0) ** 2) * (Z < head_c + 5)
    shapes["basal"] = basal / basal.sum()
    shapes["sylvian"] = sylv / sylv.sum()
    shapes["convexity"] = convex / convex.sum()
    depth.update({"basal": (95, 90), "sylvian": (85, 95), "convexity": (80, 80), "spine_c": (110, 55),
                  "spine_t": (190, 48), "spine_l": (200, 62), "leak": (170, 60), "kidney": (150, 60),
                  "bladder": (60, 140), "blood": (100, 100)})
    # body outline for the blood pool
    w = np.interp(Z, [top, head_c, fm, fm + 60, zpos["T2"], zpos["L3"], zpos["S1"] + 80, top + height],
                  [20, hr, hr * 0.7, 55, 170, 150, 175, 40])
    body = (np.abs(X) < w) & (Z > top) & (Z < top + height)
    shapes["blood"] = body / body.sum()
    kid = sum((((X - s * 58 * sc) / 28.0) ** 2 + ((Z - kidney_z) / 50.0) ** 2) <= 1 for s in (-1, 1)).astype(float)
    shapes["kidney"] = kid / kid.sum()
    bl = ((((X) / 38.0) ** 2 + ((Z - bladder_z) / 30.0) ** 2) <= 1).astype(float)
    shapes["bladder"] = bl / bl.sum()
    leak_level = None
    side = None
    if pattern == "unilateral":
        li = int(rng.integers(sm.LEVELS.index("T8"), sm.LEVELS.index("L3") + 1))
        if kind == "leak-renal":  # next to a kidney: the kidneys are active early in a leak
            li = sm.LEVELS.index(str(xrng.choice(["T12", "L1", "L2"])))
        leak_level = sm.LEVELS[li]
        side = 1 if rng.random() < 0.5 else -1
        lz = zpos[leak_level]
        lk = np.exp(-0.5 * (((X - spine_x(lz) - side * 30.0) / 9.0) ** 2 + ((Z - lz) / 16.0) ** 2))
        shapes["leak"] = lk / lk.sum()
    elif pattern == "lumbar":
        # "Christmas tree": paired tracer along the lumbar root sleeves L2..L5, branches running
        # caudolaterally, symmetric within 15 %
        lk = np.zeros_like(X * Z)
        for name in ("L2", "L3", "L4", "L5"):
            lz = zpos[name] + 0.45 * lvl_len["L"] * sc  # at the disc below the body
            for sg in (-1, 1):
                w = float(xrng.uniform(0.85, 1.0))
                for k in range(4):
                    lk += w * np.exp(-0.5 * (((X - spine_x(lz) - sg * (16.0 + 6.0 * k)) / 5.0) ** 2
                                             + ((Z - lz - 5.0 * k) / 6.0) ** 2))
        shapes["leak"] = lk / lk.sum()
        leak_level = "L3"
        side = 0

    def spinal_shape(t):
        """Longitudinal distribution of intrathecal tracer at t hours (injection at L4)."""
        inj = zpos["L4"]
        spread = 60 + 120 * math.sqrt(t)
        centre = inj - min(t, 6) * 55 * sc
        prof = np.exp(-0.5 * ((Z - centre) / spread) ** 2) + 0.25
        s = band * prof
        return s / s.sum()

    # kinetics: fractions of the injected activity (before physical decay)
    hours_nom = [1, 3, 6, 24]
    if leak:
        csf_tot = [0.90, 0.74, 0.58, float(rng.uniform(0.17, 0.30))]
        dist = [{"spine": 0.88, "basal": 0.12}, {"spine": 0.68, "basal": 0.26, "sylvian": 0.06},
                {"spine": 0.55, "basal": 0.33, "sylvian": 0.12}, {"spine": 0.45, "basal": 0.42, "sylvian": 0.13}]
        leak_f = [0.03, 0.05, 0.045, 0.02]
        early = 1 if rng.random() < 0.3 else 3
        bladder = [0.05 if early == 1 else 0.0, 0.05, 0.08, 0.14]
        if pattern == "lumbar":
            leak_f = [0.05, 0.07, 0.05, 0.02]
    else:
        csf_tot = [0.97, 0.91, 0.82, float(rng.uniform(0.45, 0.62))]
        dist = [{"spine": 0.85, "basal": 0.15}, {"spine": 0.55, "basal": 0.3, "sylvian": 0.15},
                {"spine": 0.35, "basal": 0.3, "sylvian": 0.2, "convexity": 0.15},
                {"spine": 0.22, "basal": 0.2, "sylvian": 0.16, "convexity": 0.42}]
        leak_f = [0, 0, 0, 0]
        early = 6
        bladder = [0.0, 0.0, 0.07, 0.2]
    scale = float(rng.uniform(2.2e5, 4.5e5))  # posterior-view CSF counts per unit fraction, equal windows
    lam = math.log(2) / HALF_LIFE_S
    inj_dt = dt.datetime.strptime(study.date + study.time, "%Y%m%d%H%M%S")
    hours = [h + float(rng.uniform(-0.12, 0.12)) for h in hours_nom]
    hours[3] = 24 + float(rng.uniform(-0.6, 0.6))
    two_windows = seed % 2 == 1
    post_as_seen_from_behind = seed % 3 != 0
    with_view_codes = seed % 5 != 4
    slow24 = rng.random() < 0.5
    nrng = cm.seeded_rng(seed, "ri/noise")
    with_lateral = spot or (kind in ("leak-renal", "christmas", "missing24") and xrng.random() < 0.7)
    lateral_sides = {6: str(xrng.choice(["left", "right"])), 24: str(xrng.choice(["left", "right"]))}
    lateral_truth = []
    csf_counts = {"anterior": [], "posterior": []}
    bladder_counts = []
    truth_tp = []
    names = ["In-111 DTPA ANT/POST {h}H", "WB Cisterno {h}h", "RI cisternography WB {h}hr", "脳槽シンチ 全身 {h}h"]
    desc_fmt = names[seed % len(names)]
    for ti, (hn, h) in enumerate(zip(hours_nom, hours)):
        decay = math.exp(-lam * h * 3600)
        comp = {}
        for k, f in dist[ti].items():
            comp[k] = f * csf_tot[ti]
        frac_blood = max(0.0, 1.0 - csf_tot[ti] - bladder[ti] - leak_f[ti]) * 0.35
        views = {}
        csf_only = {}
        for view in ("anterior", "posterior"):
            vi = 0 if view == "anterior" else 1
            img = np.zeros((rows, cols))
            csf_img = np.zeros((rows, cols))
            sp = spinal_shape(h)
            # spinal activity with region-dependent depth
            reg_att = np.where(Z < zpos["T1"], math.exp(-MU_PER_MM * depth["spine_c"][vi]),
                               np.where(Z < zpos["L1"], math.exp(-MU_PER_MM * depth["spine_t"][vi]),
                                        math.exp(-MU_PER_MM * depth["spine_l"][vi])))
            a = comp.get("spine", 0) * sp * reg_att
            img += a
            csf_img += a
            for k in ("basal", "sylvian", "convexity"):
                if k in comp:
                    a = comp[k] * shapes[k] * math.exp(-MU_PER_MM * depth[k][vi])
                    img += a
                    csf_img += a
            if leak:
                img += leak_f[ti] * shapes["leak"] * math.exp(-MU_PER_MM * depth["leak"][vi])
            img += bladder[ti] * shapes["bladder"] * math.exp(-MU_PER_MM * depth["bladder"][vi])
            img += (1.2 if kind == "leak-renal" else 0.4) * bladder[ti] * shapes["kidney"] * math.exp(-MU_PER_MM * depth["kidney"][vi])
            img += frac_blood * shapes["blood"] * math.exp(-MU_PER_MM * depth["blood"][vi])
            norm = scale / math.exp(-MU_PER_MM * 55)  # posterior spinal counts ~ scale at t=0
            img *= norm * decay
            csf_img *= norm * decay
            csf_counts[view].append(float(csf_img.sum()))
            if view == "anterior":
                bladder_counts.append(float((bladder[ti] * shapes["bladder"] * math.exp(-MU_PER_MM * depth["bladder"][0])).sum() * norm * decay))
            views[view] = img
            csf_only[view] = csf_img
        # acquisition
        if kind == "missing24" and hn == 24:
            pass  # the 24-h scan was not done (the patient did not come back)
        elif spot:
            write_spots(study, seed, hn, h, inj_dt, views, px, cols, top, nrng, desc_fmt, xrng,
                        stations=(0,) if head_only else (0, 1, 2))
        else:
            speed = 100.0 if not (slow24 and hn == 24) else 66.7  # mm/min
            scan_len = rows * px
            dur_s = scan_len / speed * 60.0
            acq_scale = dur_s / (scan_len / 100.0 * 60.0)  # counts grow with dwell time
            acq_time = inj_dt + dt.timedelta(hours=h)
            sn = study.next_series_number()
            series_uid = cm.uid(study.case, seed, "nm", hn)
            frames = []
            det_vec = []
            ew_vec = []
            for di, view in enumerate(("anterior", "posterior")):
                img = gauss2d(views[view], 14.0 / 2.355 / px) * acq_scale
                wins = [0.45, 0.55] if two_windows else [1.0]
                for wi, wf in enumerate(wins):
                    cnt = nrng.poisson(np.clip(img * wf, 0, None)).astype(np.float64)
                    if view == "posterior" and post_as_seen_from_behind:
                        cnt = cnt[:, ::-1]
                    frames.append(np.clip(cnt, 0, 65535).astype(np.uint16))
                    det_vec.append(di + 1)
                    ew_vec.append(wi + 1)
            ds = study.base("NM", cm.NM_STORAGE, series_uid, sn, desc_fmt.format(h=hn), acq_time.strftime("%H%M%S"))
            if not desc_fmt.isascii():
                ds.SpecificCharacterSet = "ISO_IR 192"
            ds.SeriesDate = acq_time.strftime("%Y%m%d")
            ds.AcquisitionDate = acq_time.strftime("%Y%m%d")
            ds.ContentDate = acq_time.strftime("%Y%m%d")
            ds.AcquisitionTime = acq_time.strftime("%H%M%S.%f")[:13]
            ds.SOPInstanceUID = cm.uid(series_uid, "img")
            ds.InstanceNumber = 1
            ds.Manufacturer = ["SIEMENS NM", "GE MEDICAL SYSTEMS", "Philips"][seed % 3]
            ds.ProtocolName = "RI cisternography whole body"
            ds.BodyPartExamined = "WHOLEBODY"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
            ds.PatientPosition = "HFS"
            ds.NumberOfFrames = len(frames)
            ds.FrameIncrementPointer = [0x00540010, 0x00540020]
            ds.EnergyWindowVector = ew_vec
            ds.NumberOfEnergyWindows = 2 if two_windows else 1
            ds.DetectorVector = det_vec
            ds.NumberOfDetectors = 2
            ewis = []
            for lo_, hi_ in ([(154.0, 188.0), (220.0, 270.0)] if two_windows else [(154.0, 188.0)]):
                it = cm.Dataset()
                rr = cm.Dataset()
                rr.EnergyWindowLowerLimit = cm.ds_str(lo_)
                rr.EnergyWindowUpperLimit = cm.ds_str(hi_)
                it.EnergyWindowRangeSequence = cm.seq(rr)
                it.EnergyWindowName = f"In111_{int((lo_ + hi_) / 2)}"
                ewis.append(it)
            ds.EnergyWindowInformationSequence = cm.seq(*ewis)
            dets = []
            for di, view in enumerate(("anterior", "posterior")):
                it = cm.Dataset()
                it.CollimatorGridName = "MELP"
                it.CollimatorType = "PARA"
                it.ZoomFactor = [1.0, 1.0]
                if view == "anterior" or not post_as_seen_from_behind:
                    iop = [1, 0, 0, 0, 0, -1]
                    ipp = [-x0, 0.0, top]
                else:
                    iop = [-1, 0, 0, 0, 0, -1]
                    ipp = [(cols - 1) * px - x0, 0.0, top]
                it.ImageOrientationPatient = [cm.ds_str(v) for v in iop]
                it.ImagePositionPatient = [cm.ds_str(v) for v in ipp]
                if with_view_codes:
                    code = ("G-A117", "anterior projection") if view == "anterior" else ("G-A118", "posterior projection")
                    it.ViewCodeSequence = cm.seq(cm.code_item(code[0], "SRT", code[1]))
                dets.append(it)
            ds.DetectorInformationSequence = cm.seq(*dets)
            rp = cm.Dataset()
            rp.Radiopharmaceutical = "In-111 DTPA"
            rp.RadiopharmaceuticalRoute = "Intrathecal"
            rp.RadiopharmaceuticalStartDateTime = inj_dt.strftime("%Y%m%d%H%M%S")
            rp.RadiopharmaceuticalStartTime = inj_dt.strftime("%H%M%S")
            rp.RadionuclideTotalDose = cm.ds_str(37.0)
            rp.RadionuclideHalfLife = cm.ds_str(HALF_LIFE_S, 2)
            rp.RadionuclideCodeSequence = cm.seq(cm.code_item("C-145A4", "SRT", "^111^Indium"))
            ds.RadiopharmaceuticalInformationSequence = cm.seq(rp)
            ds.ActualFrameDuration = int(round(dur_s * 1000))
            ds.ScanVelocity = cm.ds_str(speed / 60.0, 4)
            ds.ScanLength = int(round(scan_len))
            ds.WholeBodyTechnique = ["1PS", "2PS"]
            ds.PixelSpacing = [cm.ds_str(px), cm.ds_str(px)]
            ds.SliceThickness = "0"
            cm.set_pixels_u16(ds, np.stack(frames), bits_stored=16)
            study.write(ds, f"NM{sn:02d}", "WB.dcm", ["explicit", "rle", "deflate"][(seed + ti) % 3])
            study.series.append({"series_instance_uid": series_uid, "series_number": sn, "role": "ri_cisternography",
                                 "description": ds.SeriesDescription, "hours": h, "frames": len(frames),
                                 "scan_velocity_mm_min": speed, "frame_duration_s": dur_s})
        if with_lateral and hn in (6, 24) and not (kind == "missing24" and hn == 24):
            side_l = lateral_sides[hn]
            write_lateral(study, seed, hn, h, inj_dt, comp, side_l, nrng, scale, decay)
            lateral_truth.append({"hours": round(h + 0.25, 4), "side": side_l})  # acquired 15 min after the ANT/POST
        for view in ("anterior", "posterior"):
            truth_tp.append({"hours": round(h, 4), "view": view, "csf_counts": csf_counts[view][-1],
                             "bladder_counts": bladder_counts[-1] if view == "anterior" else None})
    ref = 0
    d24 = math.exp(-lam * (hours[3] - hours[ref]) * 3600)
    ret = {}
    for view in ("anterior", "posterior"):
        raw = csf_counts[view][3] / csf_counts[view][ref] * 100
        ret[view] = {"raw_pct": raw, "decay_corrected_pct": raw / d24}
    gm_raw = math.sqrt(csf_counts["anterior"][3] * csf_counts["posterior"][3]) / math.sqrt(
        csf_counts["anterior"][ref] * csf_counts["posterior"][ref]) * 100
    ret["geometric_mean"] = {"raw_pct": gm_raw, "decay_corrected_pct": gm_raw / d24}
    if pattern == "unilateral":
        acc = [{"pattern": "unilateral_localized", "level": leak_level, "side": "left" if side > 0 else "right"}]
        what = f", unilateral {acc[0]['side']} paraspinal accumulation at {leak_level}"
    elif pattern == "lumbar":
        acc = [{"pattern": "lumbar_symmetric", "level": leak_level, "side": "bilateral", "levels": "L2-L5"}]
        what = ", symmetric lumbar accumulation L2-L5 (Christmas tree)"
    else:
        acc, what = [], ""
    missing24 = kind == "missing24"
    retention = {"reference_h": hours[ref], "view": "posterior", "raw_pct": ret["posterior"]["raw_pct"],
                 "decay_corrected_pct": ret["posterior"]["decay_corrected_pct"], "per_view": ret,
                 "half_life_s": HALF_LIFE_S,
                 "decay_factor_24h": d24,
                 "definition": "raw = C(24 h) / C(ref) x 100 with C a count rate per equal acquisition time; "
                               "decay-corrected = raw / exp(-ln2 (t24 - tref) / T1/2), i.e. both images corrected "
                               "to the same instant (correcting both to the injection gives the same ratio)",
                 "roi_policy": "whole CSF space (spinal + intracranial), noiseless count rates per equal acquisition time; leak, bladder, kidneys, blood pool excluded"}
    truth = {
        "description": f"RI cisternography {kind}" + what + (", no 24-h image" if missing24 else "")
                       + (", static spot views" if spot else "") + (", lateral head views" if lateral_truth else ""),
        "cisternography": {
            "status": "present",
            "time_points": [tp for tp in truth_tp if not (missing24 and tp["hours"] > 12)],
            "hours": [hh for hh in hours if not (missing24 and hh > 12)],
            # without a 24-h image, or with only the head-chest station in view, the whole-CSF
            # retention cannot be measured: a number would be wrong
            "retention_24h": None if (missing24 or head_only) else retention,
            "retention_24h_if_acquired": retention if (missing24 or head_only) else None,
            "early_bladder_h": None if head_only else hours[hours_nom.index(early)],
            "early_bladder_nominal_h": early,
            "convexity_activity_24h": None if missing24 else (not leak),
            "accumulations": acc,
            "lateral_views": lateral_truth,
            "spot_views": spot,
            "field_of_view": "head_chest_only" if head_only else "whole_body",
            "variants": {"two_energy_windows": two_windows and not spot, "posterior_as_seen_from_behind": post_as_seen_from_behind if not spot else seed % 2 == 1,
                         "view_codes": with_view_codes or spot, "slow_24h_scan": slow24 and not spot},
        },
    }
    return truth


def nm_header(study, seed, sn, series_uid, desc, acq_time, inj_dt, kind_img):
    ds = study.base("NM", cm.NM_STORAGE, series_uid, sn, desc, acq_time.strftime("%H%M%S"))
    if not desc.isascii():
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SeriesDate = acq_time.strftime("%Y%m%d")
    ds.AcquisitionDate = acq_time.strftime("%Y%m%d")
    ds.ContentDate = acq_time.strftime("%Y%m%d")
    ds.AcquisitionTime = acq_time.strftime("%H%M%S.%f")[:13]
    ds.SOPInstanceUID = cm.uid(series_uid, "img")
    ds.InstanceNumber = 1
    ds.Manufacturer = ["SIEMENS NM", "GE MEDICAL SYSTEMS", "Philips"][seed % 3]
    ds.ProtocolName = "RI cisternography"
    ds.ImageType = ["ORIGINAL", "PRIMARY", kind_img, "EMISSION"]
    ds.PatientPosition = "HFS"
    rp = cm.Dataset()
    rp.Radiopharmaceutical = "In-111 DTPA"
    rp.RadiopharmaceuticalRoute = "Intrathecal"
    rp.RadiopharmaceuticalStartDateTime = inj_dt.strftime("%Y%m%d%H%M%S")
    rp.RadiopharmaceuticalStartTime = inj_dt.strftime("%H%M%S")
    rp.RadionuclideTotalDose = cm.ds_str(37.0)
    rp.RadionuclideHalfLife = cm.ds_str(HALF_LIFE_S, 2)
    rp.RadionuclideCodeSequence = cm.seq(cm.code_item("C-145A4", "SRT", "^111^Indium"))
    ds.RadiopharmaceuticalInformationSequence = cm.seq(rp)
    it = cm.Dataset()
    rr = cm.Dataset()
    rr.EnergyWindowLowerLimit = "154"
    rr.EnergyWindowUpperLimit = "188"
    it.EnergyWindowRangeSequence = cm.seq(rr)
    it.EnergyWindowName = "In111_171"
    ds.EnergyWindowInformationSequence = cm.seq(it)
    ds.NumberOfEnergyWindows = 1
    return ds


def write_spots(study, seed, hn, h, inj_dt, views, px, cols, top, nrng, desc_fmt, xrng, stations=(0, 1, 2)):
    """Static 256 x 256 stations (head-chest, abdomen, pelvis) per time point, ANT + POST."""
    names = ["HEAD", "TRUNK", "PELVIS"]
    base_dur = float(xrng.uniform(180, 300)) * (2.0 if hn == 24 else 1.0)
    for k in stations:
        dur = round(base_dur)
        acq_time = inj_dt + dt.timedelta(hours=h, minutes=6 * k)
        sn = study.next_series_number()
        series_uid = cm.uid(study.case, seed, "nmspot", hn, k)
        desc = (f"Cisterno SPOT {hn}h {names[k]}" if seed % 2 else f"脳槽シンチ スポット {hn}h {k + 1}")
        ds = nm_header(study, seed, sn, series_uid, desc, acq_time, inj_dt, "STATIC")
        frames = []
        dets = []
        for di, view in enumerate(("anterior", "posterior")):
            img = gauss2d(views[view], 14.0 / 2.355 / px)[k * 256:(k + 1) * 256] * (dur / 240.0)
            cnt = nrng.poisson(np.clip(img, 0, None)).astype(np.float64)
            it = cm.Dataset()
            it.CollimatorGridName = "MELP"
            it.CollimatorType = "PARA"
            x0 = (cols - 1) / 2 * px
            if view == "posterior" and seed % 2:
                cnt = cnt[:, ::-1]
                iop, ipp = [-1, 0, 0, 0, 0, -1], [x0, 0.0, top - k * 256 * px]
            else:
                iop, ipp = [1, 0, 0, 0, 0, -1], [-x0, 0.0, top - k * 256 * px]
            it.ImageOrientationPatient = [cm.ds_str(v) for v in iop]
            it.ImagePositionPatient = [cm.ds_str(v) for v in ipp]
            code = ("399348003", "SCT", "antero-posterior projection") if view == "anterior" else \
                ("272479007", "SCT", "postero-anterior projection")
            it.ViewCodeSequence = cm.seq(cm.code_item(*code))
            dets.append(it)
            frames.append(np.clip(cnt, 0, 65535).astype(np.uint16))
        ds.NumberOfFrames = 2
        ds.FrameIncrementPointer = [0x00540020]
        ds.DetectorVector = [1, 2]
        ds.NumberOfDetectors = 2
        ds.EnergyWindowVector = [1, 1]
        ds.DetectorInformationSequence = cm.seq(*dets)
        ds.ActualFrameDuration = int(dur * 1000)
        ds.PixelSpacing = [cm.ds_str(px), cm.ds_str(px)]
        ds.SliceThickness = "0"
        cm.set_pixels_u16(ds, np.stack(frames), bits_stored=16)
        study.write(ds, f"NM{sn:02d}", "SPOT.dcm", ["explicit", "deflate"][(seed + k) % 2])
        study.series.append({"series_instance_uid": series_uid, "series_number": sn, "role": "ri_cisternography",
                             "description": desc, "hours": h, "station": names[k], "frame_duration_s": dur})


def write_lateral(study, seed, hn, h, inj_dt, comp, side, nrng, scale, decay):
    """A static lateral view of the head and neck (one detector), 256 x 256, 2 mm pixels."""
    px = 2.0
    n = 256
    Y = (np.arange(n) * px)[None, :] - n * px / 2  # anterior (-) to posterior (+) for a left lateral
    Z = (np.arange(n) * px)[:, None]  # mm below the top row
    hz = 130.0
    shapes = {
        "basal": np.exp(-0.5 * (((Y + 5) / 18.0) ** 2 + ((Z - hz - 35) / 15.0) ** 2)),
        "sylvian": np.exp(-0.5 * (((Y + 25) / 14.0) ** 2 + ((Z - hz) / 16.0) ** 2)),
        "convexity": np.exp(-0.5 * ((np.hypot(Y * 0.9, (Z - hz) * 1.05) - 72) / 6.0) ** 2) * (Z < hz + 10),
        "spine": np.exp(-0.5 * ((Y - 18 - 0.15 * (Z - hz - 60)) / 5.0) ** 2) * (Z > hz + 50),
    }
    img = np.zeros((n, n))
    for k, a in shapes.items():
        f = comp.get(k, 0.0) * (0.25 if k == "spine" else 1.0)
        if f > 0:
            img += f * a / a.sum()
    img *= scale * decay * math.exp(-MU_PER_MM * 70) / math.exp(-MU_PER_MM * 55)
    dur = 300.0
    img = gauss2d(img, 14.0 / 2.355 / px) * (dur / 240.0)
    cnt = nrng.poisson(np.clip(img, 0, None))
    if side == "right":
        cnt = cnt[:, ::-1]
    acq_time = inj_dt + dt.timedelta(hours=h, minutes=15)
    sn = study.next_series_number()
    series_uid = cm.uid(study.case, seed, "nmlat", hn)
    desc = f"Cisterno {'LT' if side == 'left' else 'RT'} LAT {hn}h" if seed % 2 else f"HEAD LATERAL {hn}H"
    ds = nm_header(study, seed, sn, series_uid, desc, acq_time, inj_dt, "STATIC")
    it = cm.Dataset()
    it.CollimatorGridName = "MELP"
    it.CollimatorType = "PARA"
    row = [0, 1, 0] if side == "left" else [0, -1, 0]
    it.ImageOrientationPatient = [cm.ds_str(v) for v in row + [0, 0, -1]]
    it.ImagePositionPatient = [cm.ds_str(v) for v in ([0.0, -n * px / 2, 0.0] if side == "left" else [0.0, n * px / 2, 0.0])]
    code = ("399173006", "SCT", "left lateral projection") if side == "left" else ("399198007", "SCT", "right lateral projection")
    it.ViewCodeSequence = cm.seq(cm.code_item(*code))
    ds.DetectorInformationSequence = cm.seq(it)
    ds.NumberOfFrames = 1
    ds.FrameIncrementPointer = [0x00540020]
    ds.DetectorVector = [1]
    ds.NumberOfDetectors = 1
    ds.EnergyWindowVector = [1]
    ds.ActualFrameDuration = int(dur * 1000)
    ds.PixelSpacing = [cm.ds_str(px), cm.ds_str(px)]
    ds.SliceThickness = "0"
    cm.set_pixels_u16(ds, np.clip(cnt, 0, 65535).astype(np.uint16)[None], bits_stored=16)
    study.write(ds, f"NM{sn:02d}", "LAT.dcm", "explicit")
    study.series.append({"series_instance_uid": series_uid, "series_number": sn, "role": "ri_lateral",
                         "description": desc, "hours": h, "side": side})
