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


def generate(study: cm.Study, kind: str, seed: int) -> dict:
    rng = cm.seeded_rng(seed, "ctm/" + kind)
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
    lut = hu_table(rng, c_hu)
    grad = spine.ct_csf_gradient
    leak_hu = lut[sm.LEAK]

    def hu(x, y, z):
        lab, vn = spine.labels(x, y, z)
        val = lut[lab]
        csf = (lab == sm.CSF)
        val = np.where(csf, c_hu * (1.0 + grad * np.clip(vn, -1, 1)), val)
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
    clinical = {"orthostatic_headache": True, "punctures": [{"date": f"{study.date[:4]}-{study.date[4:6]}-{study.date[6:]}",
                                                             "level": plevel}],
                "injection_route": "lumbar_puncture"}
    with open(os.path.join(study.out_dir, "clinical.json"), "w") as f:
        json.dump(clinical, f, indent=1)
    return {
        "description": f"CT myelography {kind}, intrathecal {c_hu:.0f} HU, puncture {plevel}",
        "clinical": clinical,
        "ct_myelography": {
            "epidural_contrast": {"status": "present" if truth_sites else "absent", "sites": truth_sites},
            "intrathecal_median_hu": c_hu,
            "leak_hu": leak_hu if truth_sites else None,
            "coverage": [lo_level, "S1"],
            "levels": spine.level_table(),
        },
        "expected_mhlw2011_diagnosis": "確定" if kind == "leak" else None,
    }
