#!/usr/bin/env python3
"""Compare csfleak's findings.json / assessment.json with an altphantom truth.json.

Usage: compare.py CASE_DIR OUT_DIR [--json]      one case: prints a row (or JSON)
       compare.py --table RESULTS.jsonl             per-case table + totals per family

A check is True (right), False (wrong) or None (not applicable). Tolerances follow the issues:
spine levels within 1 level at both ends, volume within 20 %; CT site level within 1 level, same
side; RI retention within 1 percentage point, bladder at the right time point, accumulation level
within 2 levels and the right side.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spine_model as sm  # noqa: E402


def lvl(name):
    if not name:
        return None
    try:
        return sm.level_index(name)
    except ValueError:
        return None


def z_to_level(z, table):
    """Fractional level index of a z position from the truth level table (vertebra k, disc k+.5)."""
    if z is None:
        return None
    for k, row in enumerate(table):
        if row["body_bottom_z_mm"] < z <= row["body_top_z_mm"] + 1e-6:
            return float(k)
        if row["disc_bottom_z_mm"] < z <= row["body_bottom_z_mm"]:
            return k + 0.5
    return -1.0 if z > table[0]["body_top_z_mm"] else len(table) - 0.5


def name_of(k):
    if k is None:
        return "-"
    if k < 0:
        return "<C2"
    if k % 1:
        i = int(k)
        return f"{sm.LEVELS[i]}/{sm.LEVELS[min(i + 1, len(sm.LEVELS) - 1)]}"
    return sm.LEVELS[int(k)]


def spine(truth, f, a):
    t = truth["spine"]
    ef = (f.get("spine") or {}).get("epidural_fluid") or {}
    pred = ef.get("collections") or []
    status = ef.get("status")
    table = t["levels"]
    out = {"status": status, "checks": {}, "notes": []}
    lv = (f.get("spine") or {}).get("levels") or {}
    countable = t.get("levels_countable", True)
    errs = []
    for m in lv.get("landmarks") or []:
        k = lvl(m.get("level"))
        if k is not None and m.get("z_mm") is not None:
            errs.append(z_to_level(m["z_mm"], table) - k)
    worst = max(errs, key=abs) if errs else None
    if lv.get("status") in ("counted", "anchored"):
        # a count is right when every labelled landmark is within one level of the truth there
        out["checks"]["levels_count"] = worst is not None and abs(worst) <= 1.0
    elif lv.get("status") == "not_counted":
        out["checks"]["levels_count"] = not countable
    else:
        out["checks"]["levels_count"] = False
    out["notes"].append(f"levels {lv.get('status')} (truth: {'countable' if countable else 'not countable'}"
                        f"{', ' + t['variant'] if t.get('variant') else ''}); landmark offset "
                        + ("-" if worst is None else f"{worst:+.1f}") + " levels"
                        + (f" ({len(errs)} landmarks)" if errs else ""))
    tc = t["epidural_fluid"]["collections"]
    if t.get("excluded_mimics"):
        got = (f.get("spine") or {}).get("excluded_mimics") or []
        kinds = sorted({m.get("kind") for m in got})
        for m in t["excluded_mimics"]:
            out["checks"][f"mimic_{m['kind']}_reported"] = any(g.get("kind") == m["kind"] for g in got)
        out["notes"].append(f"mimics reported: {kinds} ({len(got)}); truth: " + ", ".join(m["kind"] for m in t["excluded_mimics"]))
    if not tc:
        out["checks"]["specificity"] = status == "absent" and not pred
        if pred:
            out["notes"].append(f"{len(pred)} false collection(s): " + ", ".join(
                f"{c.get('position')} z {c.get('z_from_mm')}..{c.get('z_to_mm')} {c.get('max_thickness_mm')} mm" for c in pred))
        return out
    c = tc[0]
    out["checks"]["sensitivity"] = status == "present" and bool(pred)
    lo, hi = c["z_to_mm"], c["z_from_mm"]
    hits = [p for p in pred if p.get("z_from_mm") is not None and min(hi, p["z_from_mm"]) > max(lo, p["z_to_mm"])]
    false = [p for p in pred if p not in hits]
    if false:
        out["notes"].append(f"{len(false)} collection(s) outside the true range")
    out["false_collections"] = len(false)
    if not hits:
        out["checks"]["located"] = False
        return out
    out["checks"]["located"] = True
    top = max(hits, key=lambda p: p["z_from_mm"])
    bot = min(hits, key=lambda p: p["z_to_mm"])
    ft = lvl(top.get("from_level")) if top.get("from_level") else z_to_level(top["z_from_mm"], table)
    tt = lvl(bot.get("to_level")) if bot.get("to_level") else z_to_level(bot["z_to_mm"], table)
    tf, tto = lvl(c["from_level"]), lvl(c["to_level"])
    e1 = None if ft is None else ft - tf
    e2 = None if tt is None else tt - tto
    out["level_err"] = (e1, e2)
    out["checks"]["levels_within_1"] = e1 is not None and e2 is not None and abs(e1) <= 1 and abs(e2) <= 1
    vol = sum(p.get("volume_ml") or 0 for p in hits)
    out["volume"] = (vol, c["volume_ml"])
    out["checks"]["volume_within_20pct"] = abs(vol - c["volume_ml"]) <= 0.2 * c["volume_ml"]
    th = max(p.get("max_thickness_mm") or 0 for p in hits)
    out["thickness"] = (th, c["max_thickness_mm"])
    big = max(hits, key=lambda p: p.get("volume_ml") or 0)
    out["checks"]["position"] = big.get("position") == c["position"]
    out["position"] = (big.get("position"), c["position"])
    cont = any(p.get("continuous_with_sas") for p in hits)
    out["checks"]["continuity"] = cont == c["continuous_with_sas"]
    ne = big.get("non_enhancing")
    out["checks"]["enhancement"] = (ne is True) if t.get("contrast_t1") else (ne is None)
    out["pieces"] = len(hits)
    out["notes"].append(
        f"{name_of(ft)}-{name_of(tt)} vs {c['from_level']}-{c['to_level']}; {len(hits)} piece(s); "
        f"vol {vol:.2f}/{c['volume_ml']:.2f} mL; thick {th}/{c['max_thickness_mm']:.1f}; pos {big.get('position')}/{c['position']}; "
        f"cont {cont}/{c['continuous_with_sas']}; non_enh {ne} (T1+C {'yes' if t.get('contrast_t1') else 'no'})")
    return out


def ctm(truth, f, a):
    t = truth["ct_myelography"]
    e = (f.get("ct_myelography") or {}).get("epidural_contrast") or {}
    sites = e.get("sites") or []
    status = e.get("status")
    out = {"status": status, "checks": {}, "notes": []}
    ts = t["epidural_contrast"]["sites"]
    ihu = (f.get("ct_myelography") or {}).get("intrathecal_median_hu")
    out["checks"]["intrathecal_hu_within_10pct"] = ihu is not None and abs(ihu - t["intrathecal_median_hu"]) <= 0.1 * t["intrathecal_median_hu"]
    dx = ((a or {}).get("mhlw2011") or {}).get("diagnosis")
    out["checks"]["diagnosis"] = dx == truth.get("expected_mhlw2011_diagnosis")
    out["notes"].append(f"ITHU {ihu}/{t['intrathecal_median_hu']:.0f}; dx {dx}/{truth.get('expected_mhlw2011_diagnosis')}")
    desc = [f"{s.get('level')} {s.get('side')} cont={s.get('continuous_with_sas')} punct={s.get('at_puncture_site')} "
            f"cath={s.get('at_catheter_entry')} {s.get('max_hu')}HU" for s in sites]
    if t.get("hyperdense_paraspinal_veins"):
        v = t["hyperdense_paraspinal_veins"][0]
        said = "vein" in json.dumps(f.get("ct_myelography") or {}).lower()
        out["notes"].append(f"truth: hyperdense {v['side']} paraspinal veins at {v['level']} ({v['hu']:.0f} HU); "
                            f"csfleak {'mentions' if said else 'does not report'} veins")
    if t.get("intrathecal_catheter"):
        out["notes"].append(f"truth: catheter {t['intrathecal_catheter']['entry_level']} to {t['intrathecal_catheter']['tip_level']}")
    if not ts:
        out["checks"]["class"] = status == "absent" and not sites
        out["false_sites"] = len(sites)
        if sites:
            out["notes"].append("false sites: " + "; ".join(desc))
        return out
    s0 = ts[0]
    if s0.get("at_catheter_entry"):
        # contrast around an intrathecal catheter entry: iatrogenic, like a puncture site
        ok = bool(sites) and all(s.get("at_catheter_entry") or s.get("at_puncture_site") for s in sites)
        out["checks"]["class"] = ok
        out["false_sites"] = sum(1 for s in sites if not (s.get("at_catheter_entry") or s.get("at_puncture_site")))
        out["notes"].append(f"truth catheter entry {s0['level']}; pred: " + "; ".join(desc))
        return out
    if s0["at_puncture_site"]:
        ok = bool(sites) and all(s.get("at_puncture_site") for s in sites)
        out["checks"]["class"] = ok
        out["false_sites"] = sum(1 for s in sites if not s.get("at_puncture_site"))
        out["notes"].append(f"truth puncture {s0['level']}; pred: " + "; ".join(desc))
        return out
    tl = lvl(s0["level"])
    match = [s for s in sites if lvl(s.get("level")) is not None and abs(lvl(s["level"]) - tl) <= 1
             and s.get("side") == s0["side"] and s.get("continuous_with_sas") and not s.get("at_puncture_site")]
    near = [s for s in sites if lvl(s.get("level")) is not None and abs(lvl(s["level"]) - tl) <= 1]
    out["checks"]["class"] = bool(match)
    out["checks"]["located"] = bool(near)
    out["false_sites"] = len(sites) - len(near)
    out["notes"].append(f"truth {s0['level']} {s0['side']} continuous; pred: " + "; ".join(desc))
    return out


def ri(truth, f, a):
    t = truth["cisternography"]
    c = f.get("cisternography") or {}
    out = {"status": c.get("status"), "checks": {}, "notes": []}
    r = c.get("retention_24h") or {}
    tr = t["retention_24h"]
    raw, dc = r.get("raw_pct"), r.get("decay_corrected_pct")
    if tr is None:
        # no 24-h image: a number would be wrong; not-assessable (with a reason) is right
        st = (c.get("retention_24h_status") or {}).get("status")
        out["checks"]["retention_not_assessable"] = raw is None and dc is None
        out["retention"] = (raw, None, dc, None)
        ret_note = f"ret raw {raw} dc {dc} (truth: not measurable; status {st})"
    else:
        out["checks"]["retention_raw_1pp"] = raw is not None and abs(raw - tr["raw_pct"]) <= 1.0
        out["checks"]["retention_dc_1pp"] = dc is not None and abs(dc - tr["decay_corrected_pct"]) <= 1.0
        out["retention"] = (raw, tr["raw_pct"], dc, tr["decay_corrected_pct"])
        ret_note = (f"ret raw {raw}/{tr['raw_pct']:.2f} dc {dc}/{tr['decay_corrected_pct']:.2f} "
                    f"ref {r.get('reference_h')}/{tr['reference_h']:.2f}")
    eb = c.get("early_bladder_h")
    if t["early_bladder_h"] is None:
        # bladder not in the field of view: no time point, and not "not seen" either
        out["checks"]["bladder_not_assessable"] = eb is None and c.get("early_bladder_status") in (None, "not_assessable")
    else:
        out["checks"]["bladder_time_point"] = eb is not None and abs(eb - t["early_bladder_h"]) < 0.5
    conv = c.get("convexity_activity_24h")
    if t["convexity_activity_24h"] is None:
        out["checks"]["convexity_not_assessable"] = conv is None
    else:
        out["checks"]["convexity"] = conv == t["convexity_activity_24h"]
    acc = c.get("accumulations") or []
    ta = t["accumulations"]
    dacc = "; ".join(f"{x.get('pattern')} {x.get('level')} {x.get('side')}" for x in acc)
    if not ta:
        out["checks"]["no_false_accumulation"] = not acc
    else:
        x0 = ta[0]
        ok = [x for x in acc if x.get("pattern") == x0["pattern"] and x.get("side") == x0["side"]
              and lvl(x.get("level")) is not None and abs(lvl(x["level"]) - lvl(x0["level"])) <= 2]
        out["checks"]["accumulation"] = bool(ok)
        out["checks"]["no_false_accumulation"] = len(acc) == len(ok) == 1 or (bool(ok) and len(acc) == 1)
    lat_note = ""
    if t.get("lateral_views"):
        got = c.get("lateral_views") or []
        hit = 0
        for lv in t["lateral_views"]:
            if any(g.get("hours") is not None and abs(g["hours"] - lv["hours"]) < 0.75
                   and g.get("side") in (lv["side"], None) for g in got):
                hit += 1
        out["checks"]["lateral_views_reported"] = hit == len(t["lateral_views"])
        lat_note = (f"; lateral {[(round(g.get('hours') or 0, 1), g.get('side')) for g in got]} vs "
                    f"{[(round(v['hours'], 1), v['side']) for v in t['lateral_views']]}")
    tp = sorted({round(x.get("hours"), 1) for x in (c.get("time_points") or []) if x.get("hours") is not None})
    out["checks"]["time_points"] = tp == sorted({round(h, 1) for h in t["hours"]})
    out["notes"].append(
        f"{ret_note}; bladder {eb}/{'-' if t['early_bladder_h'] is None else round(t['early_bladder_h'], 2)} ({c.get('early_bladder_status')}); convexity {conv}/{t['convexity_activity_24h']}; "
        f"acc [{dacc}] vs " + "; ".join(f"{x['pattern']} {x['level']} {x['side']}" for x in ta)
        + f"; time points {tp}" + (" (spot views)" if t.get("spot_views") else "") + lat_note)
    return out


BRAIN_MEASURES = [  # truth/findings key, short check name, tolerance
    ("mamillopontine_distance_mm", "mpd_1mm", 1.0),
    ("pontomesencephalic_angle_deg", "pma_5deg", 5.0),
    ("suprasellar_cistern_mm", "suprasellar_1mm", 1.0),
    ("prepontine_cistern_mm", "prepontine_1mm", 1.0),
    ("tonsil_below_mcrae_mm", "tonsil_1mm", 1.0),
    ("iter_below_incisural_line_mm", "iter_1mm", 1.0),
    ("pituitary_height_mm", "pituitary_1mm", 1.0),
]
# points along the arms of the pontomesencephalic angle are judged through the angle only
ARM_POINTS = {"pm_midbrain", "pm_pons", "tonsil_tip_right"}


def brain(truth, f, a):
    t = truth["brain"]
    b = f.get("brain") or {}
    out = {"status": b.get("status"), "checks": {}, "notes": [], "sag": t.get("sag_mm")}
    wrong = []
    vals = []
    for key, name, tol in BRAIN_MEASURES:
        if key not in t:
            continue
        v = b.get(key)
        ok = v is not None and abs(v - t[key]) <= tol
        out["checks"][name] = ok
        if v is not None and not ok:
            wrong.append(key.split("_")[0])
        vals.append(f"{name.split('_')[0]} {'-' if v is None else f'{v:.1f}'}/{t[key]:.1f}")
    out["mpd_pred"] = b.get("mamillopontine_distance_mm")
    out["checks"]["no_wrong_value"] = not wrong
    L = {}
    for x in b.get("landmarks") or []:
        if x.get("in_use", True) or x.get("name") not in L:
            L[x.get("name")] = x.get("position_lps_mm")
    errs = {}
    for name, q in t["landmarks"].items():
        if name in ARM_POINTS:
            continue
        p = L.get(name)
        if name == "tonsil_tip" and "tonsil_tip_right" in t["landmarks"] and p:
            q2 = t["landmarks"]["tonsil_tip_right"]
            e = min(sum((u - v) ** 2 for u, v in zip(p, q)), sum((u - v) ** 2 for u, v in zip(p, q2))) ** 0.5
        else:
            e = None if not p else sum((u - v) ** 2 for u, v in zip(p, q)) ** 0.5
        errs[name] = e
    found = [e for e in errs.values() if e is not None]
    mean = sum(found) / len(found) if found else None
    out["checks"]["landmarks_mean_1mm"] = mean is not None and mean <= 1.0
    out["checks"]["all_landmarks_found"] = len(found) == len(errs)
    if len(errs) == 2:  # old truth (MPD only)
        for name, e in errs.items():
            out["checks"][f"{name}_within_2mm"] = e is not None and e <= 2.0
    signs = []
    for key, name in (("venous_distension", "venous_distension"), ("pachymeningeal_enhancement", "pachymeningeal"),
                      ("subdural_fluid", "subdural")):
        if key in t:
            v = b.get(key)
            out["checks"][name] = v == t[key]
            signs.append(f"{name} {v}/{t[key]}")
    if signs:
        out["notes"].append("Bern image items: " + "; ".join(signs))
    acq = t.get("acquisition") or {}
    out["notes"].append(f"sag {t.get('sag_mm')} ({acq.get('plane', 'sagittal')} {acq.get('slice_mm', '')} mm"
                        f"{' oblique' if acq.get('tilt_deg') else ''}); " + "; ".join(vals)
                        + (f"; WRONG: {','.join(wrong)}" if wrong else ""))
    out["notes"].append(f"landmarks found {len(found)}/{len(errs)}, mean error "
                        + ("-" if mean is None else f"{mean:.1f}") + " mm: "
                        + ", ".join(f"{k} {e:.1f}" for k, e in errs.items() if e is not None)
                        + "; not found: " + ",".join(k for k, e in errs.items() if e is None))
    return out


def compare(case_dir, out_dir):
    truth = json.load(open(os.path.join(case_dir, "truth.json")))
    fam = truth["case"].split("-")[0]
    row = {"case": os.path.basename(case_dir.rstrip("/")), "family": {"mri": "spine_mri", "ctm": "ct_myelography", "ri": "ri_cisternography", "brain": "brain_mri"}.get(fam, fam)}
    fp = os.path.join(out_dir, "findings.json")
    if not os.path.exists(fp):
        row.update({"checks": {"ran": False}, "notes": ["no findings.json (csfleak failed)"]})
        return row
    f = json.load(open(fp))
    ap = os.path.join(out_dir, "assessment.json")
    a = json.load(open(ap)) if os.path.exists(ap) else None
    row.update({"mri": spine, "ctm": ctm, "ri": ri, "brain": brain}[fam](truth, f, a))
    return row


def table(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    fams = {}
    for r in rows:
        fams.setdefault(r["family"], []).append(r)
    for fam, rs in fams.items():
        print(f"\n== {fam} ==")
        names = []
        for r in rs:
            for k in r["checks"]:
                if k not in names:
                    names.append(k)
        print(f"{'case':28s} " + " ".join(f"{n[:14]:>14s}" for n in names))
        for r in rs:
            cells = []
            for n in names:
                v = r["checks"].get(n)
                cells.append(f"{'-' if v is None else ('ok' if v else 'FAIL'):>14s}")
            print(f"{r['case']:28s} " + " ".join(cells))
            for note in r.get("notes", []):
                print(f"{'':30s}{note}")
        if fam == "brain_mri":
            ser = sorted((r["sag"], r.get("mpd_pred"), r["case"]) for r in rs
                         if r["case"].startswith("brain-sag") and r.get("sag") is not None)
            if len(ser) >= 3:
                m = [v for _, v, _ in ser]
                mono = all(v is not None for v in m) and all(m[i + 1] <= m[i] for i in range(len(m) - 1))
                print(f"sag trend (brain-sag, MPD by sag {[s for s, _, _ in ser]}): {'monotonic' if mono else 'NOT monotonic'} "
                      + str([None if v is None else round(v, 1) for v in m]))
        print("totals:")
        for n in names:
            vals = [r["checks"].get(n) for r in rs if r["checks"].get(n) is not None]
            if vals:
                print(f"  {n:28s} {sum(vals)}/{len(vals)}")


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        table(sys.argv[2])
    else:
        print(json.dumps(compare(sys.argv[1], sys.argv[2]), ensure_ascii=False))
