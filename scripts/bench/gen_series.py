#!/usr/bin/env python3
"""Synthetic DICOM series for the dcm2niix geometry check and the ingest benchmark.

    gen_series.py geometry OUT   # small series: oblique, non-square, reversed, shuffled, enhanced
    gen_series.py bench OUT      # ~250 MB study folder for scripts/bench-ingest.sh

Every file is written with pydicom (explicit VR little endian), with random file names in one
flat folder per set (as a CD export or a PACS dump leaves them) and a fixed seed, so reruns give
the same bytes. Voxel values depend on (i, j, k) so that any flip or shift shows up in a
comparison. Patient attributes are obviously synthetic.

Needs pydicom and numpy (the venv made by scripts/setup-test-deps.sh).
"""

import os
import random
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"


def uid(*parts):
    """A deterministic UID from the given parts."""
    return generate_uid(entropy_srcs=[str(p) for p in parts])


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def oblique_iop(rot_deg_z, tilt_deg_x):
    """Row/column directions of an axial plane rotated about z then tilted about x."""
    a, b = np.radians(rot_deg_z), np.radians(tilt_deg_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    r = rx @ rz
    return list(r @ [1, 0, 0]) + list(r @ [0, 1, 0])


def base_dataset(sop_class, sop_uid, study, series_uid, modality, series_number, description):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = uid("csfleak-bench-generator")
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.PatientName = "SYNTHETIC^BENCH"
    ds.PatientID = "SYNTH-0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study["uid"]
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    ds.Modality = modality
    ds.Manufacturer = "csfleak synthetic"
    ds.FrameOfReferenceUID = study["for"]
    ds.PositionReferenceIndicator = ""
    ds.AcquisitionTime = "120500"
    ds.SeriesTime = "120500"
    return ds


def pixel_pattern(rows, cols, k, lo, hi, seed):
    """A slice whose values depend on (i, j, k): smooth blobs plus an index ramp."""
    j, i = np.mgrid[0:rows, 0:cols]
    v = (
        (i * 7 + j * 13 + k * 31 + seed * 17) % 251
        + 200 * np.sin(i / 11.0 + k / 5.0) * np.cos(j / 9.0)
    )
    v = lo + (v - v.min()) / max(float(np.ptp(v)), 1.0) * (hi - lo)
    return v


def write(ds, out_dir, rng):
    name = "%016x" % rng.getrandbits(64)
    ds.save_as(os.path.join(out_dir, name), enforce_file_format=True)


def classic_series(out_dir, rng, study, *, modality, series_number, description, rows, cols,
                   n_slices, iop, pixel_spacing, slice_gap, origin, reverse=False,
                   signed=True, rescale=(1.0, -1024.0), value_range=(-1000, 2000), extra=None):
    """Single-frame CT/MR images. `reverse` numbers the instances against the normal."""
    series_uid = uid(study["uid"], "series", series_number, description)
    row = np.array(iop[:3], float)
    col = np.array(iop[3:], float)
    normal = unit(np.cross(row, col))
    sop_class = CT_STORAGE if modality == "CT" else MR_STORAGE
    order = list(range(n_slices))
    if reverse:
        order = order[::-1]
    slope, intercept = rescale
    for inst, k in enumerate(order, start=1):
        sop_uid = uid(series_uid, k)
        ds = base_dataset(sop_class, sop_uid, study, series_uid, modality, series_number,
                          description)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber = inst
        ds.AcquisitionNumber = 1
        pos = np.asarray(origin, float) + normal * slice_gap * k
        ds.ImagePositionPatient = [round(float(x), 6) for x in pos]
        ds.ImageOrientationPatient = [round(float(x), 8) for x in iop]
        ds.PixelSpacing = [pixel_spacing[0], pixel_spacing[1]]
        ds.SliceThickness = abs(slice_gap)
        ds.SliceLocation = round(float(np.dot(pos, normal)), 6)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = rows
        ds.Columns = cols
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if signed else 0
        if modality == "CT":
            ds.RescaleSlope = slope
            ds.RescaleIntercept = intercept
            ds.RescaleType = "HU"
            ds.KVP = 120
        else:
            if (slope, intercept) != (1.0, 0.0):
                ds.RescaleSlope = slope
                ds.RescaleIntercept = intercept
                ds.RescaleType = "US"
            ds.MagneticFieldStrength = 1.5
            ds.EchoTime = 90.0
            ds.RepetitionTime = 3000.0
            ds.ScanningSequence = "SE"
            ds.SequenceVariant = "SK"
            ds.MRAcquisitionType = "2D"
        for key, value in (extra or {}).items():
            setattr(ds, key, value)
        lo, hi = value_range
        stored = (pixel_pattern(rows, cols, k, lo, hi, series_number) - intercept) / slope
        dtype = np.int16 if signed else np.uint16
        info = np.iinfo(dtype)
        ds.PixelData = np.clip(np.round(stored), info.min, info.max).astype(dtype).tobytes()
        write(ds, out_dir, rng)
    return rows * cols * n_slices * 2


def enhanced_mr(out_dir, rng, study, *, series_number, description, rows, cols, n_frames, iop,
                pixel_spacing, slice_gap, origin):
    """One Enhanced MR file: per-frame Plane Position, shared orientation and pixel measures."""
    series_uid = uid(study["uid"], "series", series_number, description)
    sop_uid = uid(series_uid, "enhanced")
    ds = base_dataset(ENHANCED_MR_STORAGE, sop_uid, study, series_uid, "MR", series_number,
                      description)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.InstanceNumber = 1
    ds.ContentDate = "20260101"
    ds.ContentTime = "120500"
    ds.AcquisitionDateTime = "20260101120500"
    ds.NumberOfFrames = n_frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.MagneticFieldStrength = 3.0
    ds.MRAcquisitionType = "3D"
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = list(pixel_spacing)
    pm.SliceThickness = abs(slice_gap)
    shared.PixelMeasuresSequence = Sequence([pm])
    po = Dataset()
    po.ImageOrientationPatient = [round(float(x), 8) for x in iop]
    shared.PlaneOrientationSequence = Sequence([po])
    pvt = Dataset()
    pvt.RescaleIntercept = 0
    pvt.RescaleSlope = 1
    pvt.RescaleType = "US"
    shared.PixelValueTransformationSequence = Sequence([pvt])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    normal = unit(np.cross(np.array(iop[:3], float), np.array(iop[3:], float)))
    per_frame = []
    pixels = []
    for k in range(n_frames):
        fg = Dataset()
        pp = Dataset()
        pos = np.asarray(origin, float) + normal * slice_gap * k
        pp.ImagePositionPatient = [round(float(x), 6) for x in pos]
        fg.PlanePositionSequence = Sequence([pp])
        fc = Dataset()
        fc.InStackPositionNumber = k + 1
        fc.StackID = "1"
        fc.DimensionIndexValues = [1, k + 1]
        fg.FrameContentSequence = Sequence([fc])
        per_frame.append(fg)
        pixels.append(pixel_pattern(rows, cols, k, 0, 3000, series_number))
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = np.round(np.stack(pixels)).astype(np.uint16).tobytes()
    write(ds, out_dir, rng)
    return rows * cols * n_frames * 2


def nm_planar(out_dir, rng, study, *, series_number, description, rows, cols, hours):
    """NM whole-body planar: anterior and posterior views, one file per time point."""
    total = 0
    for n, h in enumerate(hours):
        series_uid = uid(study["uid"], "nm", series_number, n)
        sop_uid = uid(series_uid, "nm")
        ds = base_dataset(NM_STORAGE, sop_uid, study, series_uid, "NM", series_number + n,
                          "%s %gh" % (description, h))
        ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
        ds.InstanceNumber = 1
        ds.NumberOfFrames = 2
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = rows
        ds.Columns = cols
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelSpacing = [2.4, 2.4]
        hh = 12 + int(h)
        ds.AcquisitionDate = "20260101" if hh < 24 else "20260102"
        ds.AcquisitionTime = "%02d%02d00" % (hh % 24, int((h % 1) * 60))
        ds.ActualFrameDuration = 600000
        ds.FrameIncrementPointer = [0x00540020, 0x00540010]  # DetectorVector, EnergyWindowVector
        ds.DetectorVector = [1, 2]
        ds.EnergyWindowVector = [1, 1]
        ds.NumberOfDetectors = 2
        ds.NumberOfEnergyWindows = 1
        ew = Dataset()
        rng_ds = Dataset()
        rng_ds.EnergyWindowLowerLimit = 154
        rng_ds.EnergyWindowUpperLimit = 188
        ew.EnergyWindowRangeSequence = Sequence([rng_ds])
        ew.EnergyWindowName = "In111-171"
        ds.EnergyWindowInformationSequence = Sequence([ew])
        rad = Dataset()
        rad.Radiopharmaceutical = "In-111 DTPA"
        rad.RadiopharmaceuticalStartTime = "120000"
        rad.RadiopharmaceuticalStartDateTime = "20260101120000"
        rad.RadionuclideHalfLife = 242332.0
        ds.RadiopharmaceuticalInformationSequence = Sequence([rad])
        dets = []
        for view in ("ANTERIOR", "POSTERIOR"):
            d = Dataset()
            d.ImagePositionPatient = [-300.0, -300.0, 0.0]
            d.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
            d.ViewCodeSequence = Sequence([])
            dets.append(d)
        ds.DetectorInformationSequence = Sequence(dets)
        frames = [pixel_pattern(rows, cols, f + 3 * n, 0, 900 * (0.5 ** (h / 67.2)), n)
                  for f in range(2)]
        ds.PixelData = np.round(np.stack(frames)).astype(np.uint16).tobytes()
        write(ds, out_dir, rng)
        total += rows * cols * 4
    return total


def geometry_set(out):
    """Small series covering the geometry cases, one folder per series."""
    study = {"uid": uid("geometry-study"), "for": uid("geometry-for")}
    cases = []
    rng = random.Random(1)

    def folder(name):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        cases.append(name)
        return d

    classic_series(folder("ct_axial_nonsquare"), rng, study, modality="CT", series_number=2,
                   description="CT axial non-square", rows=40, cols=56, n_slices=12,
                   iop=[1, 0, 0, 0, 1, 0], pixel_spacing=(0.9, 0.6), slice_gap=2.5,
                   origin=(-20.5, -31.0, 100.0))
    classic_series(folder("mr_double_oblique"), rng, study, modality="MR", series_number=3,
                   description="T2 FS oblique", rows=48, cols=36, n_slices=10,
                   iop=oblique_iop(17.0, 23.0), pixel_spacing=(0.7, 1.1), slice_gap=3.3,
                   origin=(12.0, -40.0, 35.0), signed=False, rescale=(1.0, 0.0),
                   value_range=(0, 3000))
    classic_series(folder("mr_sagittal_reversed"), rng, study, modality="MR", series_number=4,
                   description="T2 SAG reversed", rows=64, cols=32, n_slices=9,
                   iop=[0, 1, 0, 0, 0, -1], pixel_spacing=(1.2, 0.8), slice_gap=-3.0,
                   origin=(15.0, -60.0, 80.0), reverse=True, signed=False,
                   rescale=(1.0, 0.0), value_range=(0, 2500))
    classic_series(folder("mr_coronal_float_rescale"), rng, study, modality="MR",
                   series_number=5, description="COR rescaled", rows=30, cols=50, n_slices=7,
                   iop=[1, 0, 0, 0, 0, -1], pixel_spacing=(1.0, 0.75), slice_gap=4.0,
                   origin=(-30.0, 10.0, 60.0), signed=False, rescale=(0.25, 10.0),
                   value_range=(0, 4000))
    enhanced_mr(folder("mr_enhanced_oblique"), rng, study, series_number=6,
                description="3D T1 enhanced", rows=40, cols=44, n_frames=16,
                iop=oblique_iop(-12.0, 8.0), pixel_spacing=(1.0, 0.9), slice_gap=1.2,
                origin=(-22.0, -25.0, 40.0))
    return cases


def bench_set(out):
    """~250 MB in one flat folder with random names."""
    os.makedirs(out, exist_ok=True)
    study = {"uid": uid("bench-study"), "for": uid("bench-for")}
    rng = random.Random(2)
    total = 0
    total += classic_series(out, rng, study, modality="CT", series_number=2,
                            description="CT myelography 0.625", rows=512, cols=512,
                            n_slices=400, iop=[1, 0, 0, 0, 1, 0],
                            pixel_spacing=(0.7, 0.7), slice_gap=0.625,
                            origin=(-179.0, -179.0, -300.0))
    total += classic_series(out, rng, study, modality="MR", series_number=3,
                            description="T2 FS SAG spine", rows=512, cols=512, n_slices=15,
                            iop=[0, 1, 0, 0, 0, -1], pixel_spacing=(0.6, 0.6),
                            slice_gap=3.5, origin=(-25.0, -150.0, 150.0), signed=False,
                            rescale=(1.0, 0.0), value_range=(0, 3000))
    total += classic_series(out, rng, study, modality="MR", series_number=4,
                            description="T2 FS AX spine", rows=320, cols=320, n_slices=40,
                            iop=[1, 0, 0, 0, 1, 0], pixel_spacing=(0.6, 0.6), slice_gap=4.0,
                            origin=(-96.0, -96.0, -200.0), signed=False,
                            rescale=(1.0, 0.0), value_range=(0, 3000))
    total += classic_series(out, rng, study, modality="MR", series_number=5,
                            description="3D T1 SAG brain", rows=256, cols=256, n_slices=176,
                            iop=[0, 1, 0, 0, 0, -1], pixel_spacing=(1.0, 1.0), slice_gap=1.0,
                            origin=(-88.0, -128.0, 128.0), signed=False,
                            rescale=(1.0, 0.0), value_range=(0, 1500))
    total += nm_planar(out, rng, study, series_number=10, description="RI cisternography WB",
                       rows=1024, cols=256, hours=(1, 2.5, 6, 24))
    return total


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("geometry", "bench"):
        sys.exit(__doc__)
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "geometry":
        for name in geometry_set(out):
            print(name)
    else:
        total = bench_set(out)
        print("pixel bytes: %.1f MB" % (total / 1e6))


if __name__ == "__main__":
    main()
