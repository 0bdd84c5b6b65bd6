#!/usr/bin/env python3
"""Independent phantom generator for csfleak (see docs/altphantom.md).

Usage: python scripts/altphantom/gen.py --case NAME --seed N --out DIR
       python scripts/altphantom/gen.py --list

Writes DIR/DICOM/** and DIR/truth.json (and DIR/clinical.json when the case documents a
puncture). Needs numpy and pydicom (the project's .cache/venv).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as cm  # noqa: E402

CASES = {
    "mri-normal": "spinal MRI, no extradural fluid",
    "mri-ventral": "spinal MRI, ventral extradural CSF (thoracic) with a ventral dural defect",
    "mri-dorsal": "spinal MRI, dorsal extradural CSF (thoracolumbar), defect in half of the seeds",
    "mri-circumferential": "spinal MRI, circumferential extradural CSF (floating dural sac)",
    "mri-mimics": "spinal MRI, no leak: engorged enhancing ventral venous plexus (T12-L3) and a sacral Tarlov cyst, contrast T1 always",
    "mri-coarse": "spinal MRI, coarse axial stack (5-6 mm slices, 1.3-1.5 mm pixels) and a 4-mm sagittal; ventral, dorsal or no collection",
    "mri-fullaxial": "spinal MRI, one straight axial T2 FS stack C2-S1 (4-5 mm, levels countable from it), no sagittal; ventral, dorsal or none",
    "mri-thoracic": "spinal MRI, thoracic axial stack reaching neither C2 nor the sacrum; whole-spine sagittal in odd seeds, thoracic-only sagittal (levels uncountable) in even seeds",
    "ctm-normal": "CT myelography, no epidural contrast (normal root sleeves)",
    "ctm-leak": "CT myelography, epidural contrast continuous through a dural defect at a root sleeve axilla",
    "ctm-puncture": "CT myelography, contrast only along the documented puncture (clinical.json)",
    "ctm-puncture-other": "CT myelography, contrast only at a puncture at L1/2 or L5/S1 (clinical.json also lists an older puncture elsewhere)",
    "ctm-veins": "CT myelography, hyperdense (120-320 HU) paraspinal veins at one level (CSF-venous fistula), no epidural contrast",
    "ctm-catheter": "CT myelography via an intrathecal catheter (pump) entering at L2/3 or L3/4, tip T10-T12; contrast around the entry in most seeds",
    "ri-normal": "RI cisternography whole body ANT/POST 1/3/6/24 h, normal",
    "ri-leak": "RI cisternography: unilateral paraspinal accumulation, early bladder, low retention, no convexity at 24 h",
    "ri-leak-renal": "RI cisternography: unilateral accumulation at T12-L2 next to an active kidney; lateral head views in most seeds",
    "ri-christmas": "RI cisternography: bilateral symmetric lumbar accumulation L2-L5 (Christmas tree), early bladder",
    "ri-missing24": "RI cisternography leak without the 24-h scan: retention and 24-h convexity must be not assessable",
    "ri-spot-head": "RI cisternography, normal, static 256x256 ANT/POST views of the head-chest station only: retention and bladder not assessable",
    "ri-spot": "RI cisternography, static 256x256 ANT/POST spot views (3 stations per time point) and lateral head views at 6 h and 24 h",
    "brain-mpd": "brain 3D T1, midsagittal anatomy with every sagging landmark, sag drawn from 0/0/2/3.5/5 mm",
    "brain-bern": "brain pre/post-contrast 3D T1 with the Bern image items: pachymeningeal enhancement, transverse sinus distension, subdural fluid (sag 0/4/2/5 by seed)",
    "brain-sag": "brain 3D T1, sagging series: seed N has sag (N-1) mod 6 mm (0..5); sagittal/axial, 1 or 1.2 mm slices, some oblique",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for k, v in CASES.items():
            print(f"{k:22s} {v}")
        return 0
    if not a.case or not a.out:
        ap.error("--case and --out are required")
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    study = cm.Study(a.case, a.seed, a.out)
    fam, kind = a.case.split("-", 1)
    if fam == "mri":
        import spine_mri
        truth = spine_mri.generate(study, kind, a.seed)
    elif fam == "ctm":
        import ctm
        truth = ctm.generate(study, kind, a.seed)
    elif fam == "ri":
        import ri
        truth = ri.generate(study, kind, a.seed)
    else:
        import brain
        truth = brain.generate(study, kind, a.seed)
    study.write_truth(truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
