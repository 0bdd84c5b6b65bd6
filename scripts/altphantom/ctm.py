"""CT myelography cases: normal (contrast-filled root sleeves only), a leak continuous with the
subarachnoid space through a dural defect at a root sleeve axilla, and contrast only along a
documented lumbar puncture (clinical.json written for --clinical).

HU choices: intrathecal contrast 250..900 HU layering dorsally (supine), cancellous bone 170..280,
cortex ~1100, disc 70..95, fat -90, muscle 50; Gaussian noise 14..26 HU after a soft kernel blur.
Axial 288 x 288, 0.6 mm pixels, slices thicker than their spacing (overlapping reconstruction).
"""

from __future__ import annotations

import json
import os

import numpy as np

import common as cm
import spine_model as sm
from sampling import render_slice


def hu_table(rng, contrast_hu):
    lut = np.zeros(17)
    lut[sm.AIR] = -1000
    lut[sm.SUBCUT] = -100
    lut[sm.MUSCLE] = 52
    lut[sm.PREVERT] = 38
    lut[sm.CANC] = float(rng.uniform(170, 280))
    lut[sm.CORT] = float(rng.uniform(950, 1250))
    lut[sm.ANNULUS] = float(rng.uniform(80, 100))
    lut[sm.NUCLEUS] = float(rng.uniform(65, 85))
    lut[sm.EPIFAT] = -88
    lut[sm.VEIN] = 42
    lut[sm.DURA] = 55
    lut[sm.CSF] = contrast_hu
    lut[sm.CORD] = 38
    lut[sm.COLL] = contrast_hu
    lut[sm.LEAK] = contrast_hu * float(rng.uniform(0.45, 0.7))
    lut[sm.ROOT] = 40
    lut[sm.PLEXUS] = 45
    return lut


def tube(x, y, z, pts, r):
    """Inside a polyline tube of radius r (world points)."""
    pts = np.asarray(pts, float)
    m = np.zeros(np.shape(x), bool)
    for a, b in zip(pts[:-1], pts[1:]):
        ab = b - a
        t = np.clip(((x - a[0]) * ab[0] + (y - a[1]) * ab[1] + (z - a[2]) * ab[2]) / float(ab @ ab), 0, 1)
        m |= (x - a[0] - t * ab[0]) ** 2 + (y - a[1] - t * ab[1]) ** 2 + (z - a[2] - t * ab[2]) ** 2 <= r * r
    return m


def generate(study: cm.Study, kind: str, seed: int) -> dict:
    rng = cm.seeded_rng(seed, "ctm/" + kind)
    xr = cm.seeded_rng(seed, "ctm/variant/" + kind)  # draws of the newer kinds (older kinds unchanged)
    c_hu = float(rng.uniform(250, 900))
    ct_leak = None
    puncture = None
    truth_sites = []
    spine = sm.Spine(rng)
    lo_level = "L1"
    if kind == "leak":
        li = int(rng.integers(sm.LEVELS.index("T11"), sm.LEVELS.index("L4") + 1))
        side = 1 if rng.random() < 0.5 else -1
        s_leak = spine.z_of_level(sm.LEVELS[li], "bottom") + 3.0
        ct_leak = {"s": s_leak, "side_sign": side, "continuous": True}
        spine.ct_leak = ct_leak
        lo_level = sm.LEVELS[max(li - 1, sm.LEVELS.index("T10"))]
        truth_sites.append({"level": sm.LEVELS[li], "side": "left" if side > 0 else "right",
                            "continuous_with_sas": True, "dural_defect": True, "at_puncture_site": False,
                            "kind": "root_sleeve_axilla_defect"})
    plevel = str(rng.choice(["L2/3", "L3/4", "L4/5"]))
    if kind == "puncture":
        puncture = {"s": spine.z_of_level(plevel), "leak": True}
        spine.puncture = puncture
        lo_level = "T12"
        truth_sites.append({"level": plevel, "side": "midline", "continuous_with_sas": True, "dural_defect": False,
                            "at_puncture_site": True, "kind": "puncture_site"})
    if kind == "normal":
        lo_level = str(rng.choice(["T11", "L1"]))
    if kind == "puncture-other":
        # a puncture at an unusual level, and an older documented puncture elsewhere without a leak
        plevel = str(xr.choice(["L1/2", "L5/S1"]))
        old = "L3/4" if plevel == "L1/2" else "L2/3"
        puncture = {"s": spine.z_of_level(plevel), "leak": True}
        spine.puncture = puncture
        lo_level = "T11"
        truth_sites.append({"level": plevel, "side": "midline", "continuous_with_sas": True, "dural_defect": False,
                            "at_puncture_site": True, "kind": "puncture_site"})
    extra = []  # (tube polyline, radius, HU) drawn over the spine model
    veins_truth = []
    catheter = None
    if kind == "veins":
        # hyperdense paraspinal veins (CSF-venous fistula): contrast in the foraminal vein and its
        # paraspinal branches at one level, no epidural contrast
        li = int(xr.integers(sm.LEVELS.index("T8"), sm.LEVELS.index("L2") + 1))
        vside = 1 if xr.random() < 0.5 else -1
        vhu = float(xr.uniform(120, 320))
        zd = spine.z_of_level(sm.LEVELS[li] + "/" + sm.LEVELS[li + 1].lstrip("CTLS"))
        c0 = spine.centre(zd)
        sx = vside
        foramen = c0 + np.array([sx * 12.0, 1.0, 0.0])
        ant = [foramen, c0 + np.array([sx * 24.0, -4.0, -3.0]), c0 + np.array([sx * 30.0, -22.0, -8.0]),
               c0 + np.array([sx * 26.0, -40.0, -14.0])]
        post = [foramen, c0 + np.array([sx * 22.0, 14.0, -2.0]), c0 + np.array([sx * 30.0, 34.0, -6.0])]
        extra += [(ant, float(xr.uniform(1.8, 2.5)), vhu), (post, float(xr.uniform(1.5, 2.2)), vhu * 0.9)]
        veins_truth.append({"level": sm.LEVELS[li], "side": "left" if sx > 0 else "right", "hu": vhu,
                            "kind": "csf_venous_fistula_paraspinal_veins"})
        lo_level = sm.LEVELS[max(li - 2, 0)]
    if kind == "catheter":
        # intrathecal catheter (e.g. a baclofen pump) entering at a lumbar interspace and running
        # cranially in the dorsal sac; contrast leaking around it at the entry in most seeds
        entry = str(xr.choice(["L2/3", "L3/4"]))
        tip = str(xr.choice(["T10", "T11", "T12"]))
        ze, zt = spine.z_of_level(entry), spine.z_of_level(tip)
        ce = spine.centre(ze)
        path = [ce + np.array([1.5, 70.0, -22.0]), ce + np.array([1.0, 25.0, -8.0]), ce + np.array([0.5, 4.5, -1.0])]
        for zz in np.linspace(ze + 6.0, zt, 12):
            path.append(spine.centre(float(zz)) + np.array([0.8, 3.2, 0.0]))
        extra.append((path, 0.75, float(xr.uniform(600, 1200))))
        leak_c = xr.random() < 0.8
        if leak_c:
            spine.puncture = {"s": ze, "leak": True}
            truth_sites.append({"level": entry, "side": "midline", "continuous_with_sas": True, "dural_defect": False,
                                "at_puncture_site": False, "at_catheter_entry": True, "kind": "catheter_entry"})
        catheter = {"entry_level": entry, "tip_level": tip, "pump": True}
        lo_level = sm.LEVELS[max(sm.LEVELS.index(tip) - 1, 0)]
    lut = hu_table(rng, c_hu)
    grad = spine.ct_csf_gradient
    leak_hu = lut[sm.LEAK]

    def hu(x, y, z):
        lab, vn = spine.labels(x, y, z)
        val = lut[lab]
        csf = (lab == sm.CSF)
        val = np.where(csf, c_hu * (1.0 + grad * np.clip(vn, -1, 1)), val)
        for pts, r, h in extra:
            val = np.where(tube(x, y, z, pts, r), h, val)
        return val

    s_hi = spine.z_of_level(lo_level, "top") + 8
    s_lo = spine.z_of_level("S1", "bottom") - 15
    spacing = max(2.0, (s_hi - s_lo) / 99.0)
    spacing = round(spacing, 2)
    thick = round(spacing * 1.25, 2)
    n_sl = int((s_hi - s_lo) / spacing) + 1
    rows = cols = 288
    px = [0.6, 0.6]
    ctr_s = 0.5 * (s_hi + s_lo)
    c = spine.centre(ctr_s)
    x0 = c[0] - (cols - 1) / 2 * px[1]
    y0 = float(np.interp(ctr_s, spine.grid, spine.yc)) - 25.0 - (rows - 1) / 2 * px[0]
    row = np.array([1.0, 0.0, 0.0])
    col = np.array([0.0, 1.0, 0.0])
    nrm = np.array([0.0, 0.0, 1.0])
    sigma = float(rng.uniform(14, 26))
    nrng = cm.seeded_rng(seed, "noise/ct")
    series_uid = cm.uid(study.case, seed, "ct")
    sn = study.next_series_number()
    desc = ["CT myelo L-spine 2.0 B30s", "CTM SPINE STD", "CT myelo", "Myelo CT Spine 1.25"][seed % 4]
    signed = seed % 2 == 0
    syntax = "rle" if seed % 3 != 2 else "deflate"
    t_acq = cm.add_time(study.time, 40)
    for k in range(n_sl):
        z = s_hi - k * spacing
        origin = np.array([x0, y0, z])
        img = render_slice(hu, origin, row, col, nrm, rows, cols, px, thick, ss=1, nz=2, blur=0.6)
        img = img + nrng.normal(0, sigma, img.shape)
        ds = study.base("CT", cm.CT_STORAGE, series_uid, sn, desc, t_acq)
        ds.SOPInstanceUID = cm.uid(series_uid, k)
        ds.InstanceNumber = n_sl - k  # instance numbers run caudal to cranial
        ds.Manufacturer = ["SIEMENS", "GE MEDICAL SYSTEMS", "TOSHIBA", "Philips"][seed % 4]
        ds.ProtocolName = "Myelo Spine"
        ds.BodyPartExamined = "LSPINE"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.KVP = "120"
        ds.SliceThickness = cm.ds_str(thick)
        ds.SpacingBetweenSlices = cm.ds_str(spacing)
        ds.ConvolutionKernel = "B30s"
        ds.PatientPosition = "HFS"
        ds.GantryDetectorTilt = "0"
        ds.ContrastBolusAgent = "Iopamidol 300 intrathecal"
        ds.ContrastBolusRoute = "INTRATHECAL"
        ds.ImagePositionPatient = [cm.ds_str(v) for v in origin]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.PixelSpacing = [cm.ds_str(px[0]), cm.ds_str(px[1])]
        ds.SliceLocation = cm.ds_str(z)
        ds.WindowCenter = "400"
        ds.WindowWidth = "2000"
        if signed:
            ds.RescaleIntercept = "0"
            ds.RescaleSlope = "1"
            ds.RescaleType = "HU"
            cm.set_pixels_i16(ds, np.clip(np.rint(img), -1024, 3071).astype(np.int16))
        else:
            ds.RescaleIntercept = "-1024"
            ds.RescaleSlope = "1"
            ds.RescaleType = "HU"
            cm.set_pixels_u16(ds, np.clip(np.rint(img) + 1024, 0, 4095).astype(np.uint16), bits_stored=12)
        study.write(ds, f"S{sn:02d}", f"CT{k + 1:04d}.dcm", syntax)
    study.series.append({"series_instance_uid": series_uid, "series_number": sn, "role": "ct_myelography",
                         "description": desc, "n_images": n_sl, "spacing_mm": spacing, "slice_thickness_mm": thick,
                         "noise_sigma_hu": sigma, "signed": signed, "transfer_syntax": syntax})
    day = f"{study.date[:4]}-{study.date[4:6]}-{study.date[6:]}"
    clinical = {"orthostatic_headache": True, "punctures": [{"date": day, "level": plevel}],
                "injection_route": "lumbar_puncture"}
    if kind == "puncture-other":
        clinical["punctures"].insert(0, {"date": f"{int(study.date[:4]) - 1}-{study.date[4:6]}-{study.date[6:]}", "level": old})
    if catheter:
        clinical = {"orthostatic_headache": True, "punctures": [], "injection_route": "catheter_port",
                    "intrathecal_catheter": catheter}
    with open(os.path.join(study.out_dir, "clinical.json"), "w") as f:
        json.dump(clinical, f, indent=1)
    return {
        "description": f"CT myelography {kind}, intrathecal {c_hu:.0f} HU, "
                       + (f"catheter {catheter['entry_level']} to {catheter['tip_level']}" if catheter else f"puncture {plevel}")
                       + (f", hyperdense {veins_truth[0]['side']} paraspinal veins at {veins_truth[0]['level']} ({veins_truth[0]['hu']:.0f} HU)" if veins_truth else ""),
        "clinical": clinical,
        "ct_myelography": {
            "epidural_contrast": {"status": "present" if truth_sites else "absent", "sites": truth_sites},
            "intrathecal_median_hu": c_hu,
            "leak_hu": leak_hu if truth_sites else None,
            "coverage": [lo_level, "S1"],
            "hyperdense_paraspinal_veins": veins_truth,
            "intrathecal_catheter": catheter,
            "levels": spine.level_table(),
        },
        "expected_mhlw2011_diagnosis": "確定" if kind == "leak" else None,
    }
