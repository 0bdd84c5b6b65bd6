"""Shared DICOM writing helpers of the independent phantom generator (altphantom).

Everything here is written from the DICOM standard (PS3.3 IODs), not from csfleak's own
generator: UIDs are derived from the case name and seed, files are written with pydicom in the
transfer syntax a case asks for (explicit VR little endian, deflated, RLE lossless).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    RLELossless,
)

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"

SYNTAXES = {
    "explicit": ExplicitVRLittleEndian,
    "deflate": DeflatedExplicitVRLittleEndian,
    "rle": RLELossless,
}


def uid(*parts) -> str:
    """A deterministic 2.25 UID from the given parts (a 128-bit hash; pydicom's generate_uid
    ignores its entropy sources when the prefix is None and would return a random UUID)."""
    h = hashlib.sha256("/".join(["altphantom"] + [str(p) for p in parts]).encode()).digest()
    return "2.25." + str(int.from_bytes(h[:16], "big"))


def seeded_rng(seed: int, key: str) -> np.random.Generator:
    h = hashlib.sha256(f"{seed}/{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


class Study:
    """Study-level attributes shared by every series of one case."""

    def __init__(self, case: str, seed: int, out_dir: str):
        self.case = case
        self.seed = seed
        self.out_dir = out_dir
        rng = seeded_rng(seed, "study/" + case)
        day = dt.date(2025, 1, 6) + dt.timedelta(days=int(rng.integers(0, 600)))
        self.date = day.strftime("%Y%m%d")
        self.time = f"{int(rng.integers(8, 16)):02d}{int(rng.integers(0, 60)):02d}00"
        self.age = int(rng.integers(19, 78))
        self.sex = "F" if rng.random() < 0.6 else "M"
        self.study_uid = uid(case, seed, "study")
        self.frame_of_reference = uid(case, seed, "for")
        self.institution = str(rng.choice(["Kita General Hospital", "Minato Spine Clinic", "Univ. Hospital Radiology"]))
        self.series_count = 0
        self.series = []  # truth records
        os.makedirs(out_dir, exist_ok=True)

    def next_series_number(self) -> int:
        self.series_count += 1
        return self.series_count

    def base(self, modality: str, sop_class: str, series_uid: str, series_number: int,
             description: str, series_time: str | None = None) -> Dataset:
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID = sop_class
        ds.StudyDate = self.date
        ds.SeriesDate = self.date
        ds.AcquisitionDate = self.date
        ds.ContentDate = self.date
        ds.StudyTime = self.time
        ds.SeriesTime = series_time or self.time
        ds.AcquisitionTime = series_time or self.time
        ds.ContentTime = series_time or self.time
        ds.AccessionNumber = f"A{self.seed:06d}"
        ds.Modality = modality
        ds.Manufacturer = "ALTPHANTOM"
        ds.InstitutionName = self.institution
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "altphantom"
        ds.SeriesDescription = description
        ds.PatientName = f"ALT^{self.case.upper()}^{self.seed}"
        ds.PatientID = f"ALT{self.seed:05d}"
        ds.PatientBirthDate = ""
        ds.PatientSex = self.sex
        ds.PatientAge = f"{self.age:03d}Y"
        ds.StudyInstanceUID = self.study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = "1"
        ds.SeriesNumber = series_number
        ds.FrameOfReferenceUID = self.frame_of_reference
        ds.PositionReferenceIndicator = ""
        return ds

    def write(self, ds: Dataset, subdir: str, name: str, syntax: str = "explicit") -> str:
        """Write one dataset (file meta added) and return the path."""
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
        meta.ImplementationVersionName = "ALTPHANTOM_1"
        ds.file_meta = meta
        ds.preamble = b"\0" * 128
        if syntax == "rle":
            ds.compress(RLELossless, encoding_plugin="pydicom")
        elif syntax == "deflate":
            ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
        d = os.path.join(self.out_dir, "DICOM", subdir)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        ds.save_as(path, enforce_file_format=True)
        return path

    def truth(self, extra: dict) -> dict:
        return {
            "generator": "altphantom",
            "generator_version": "1",
            "case": self.case,
            "seed": self.seed,
            "study": {
                "study_instance_uid": self.study_uid,
                "study_date": f"{self.date[:4]}-{self.date[4:6]}-{self.date[6:]}",
                "institution_name": self.institution,
                "patient_age_years": self.age,
            },
            "series": self.series,
            **extra,
        }

    def write_truth(self, extra: dict) -> None:
        with open(os.path.join(self.out_dir, "truth.json"), "w") as f:
            json.dump(self.truth(extra), f, indent=1, sort_keys=True, default=_json_default)


def _json_default(o):
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def ds_str(x: float, nd: int = 6) -> str:
    """A DS value string of at most 16 characters."""
    s = f"{x:.{nd}f}".rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    while len(s) > 16 and nd > 0:
        nd -= 1
        s = f"{x:.{nd}f}"
    return s


def to_u16(img: np.ndarray, lo: float = 0.0, hi: float = 4095.0) -> np.ndarray:
    return np.clip(np.rint(img), lo, hi).astype(np.uint16)


def set_pixels_u16(ds: Dataset, img: np.ndarray, bits_stored: int = 12) -> None:
    """Grey unsigned 16-bit pixels (rows x cols or frames x rows x cols)."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = int(img.shape[-2])
    ds.Columns = int(img.shape[-1])
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(img.astype("<u2")).tobytes()


def set_pixels_i16(ds: Dataset, img: np.ndarray) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = int(img.shape[-2])
    ds.Columns = int(img.shape[-1])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = np.ascontiguousarray(img.astype("<i2")).tobytes()


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    it = Dataset()
    it.CodeValue = value
    it.CodingSchemeDesignator = scheme
    it.CodeMeaning = meaning
    return it


def seq(*items) -> Sequence:
    return Sequence(list(items))


def rician(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the image plus complex Gaussian noise (Rician)."""
    re = img + rng.normal(0.0, sigma, img.shape)
    im = rng.normal(0.0, sigma, img.shape)
    return np.sqrt(re * re + im * im)


def add_time(hhmmss: str, minutes: float) -> str:
    t = dt.datetime(2000, 1, 1, int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:6]))
    t += dt.timedelta(minutes=minutes)
    return t.strftime("%H%M%S")


_ = pydicom  # imported for its side effects on encoders
