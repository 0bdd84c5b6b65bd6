//! The loader's native fast path (pixel bytes read straight from the file into the volume)
//! must give exactly the values of the general decoder, and leave unusual files to it.

#![allow(
    clippy::fn_params_excessive_bools,
    clippy::unwrap_used,
    reason = "test helpers: spelled-out flags, and a failure is a test failure"
)]

use std::path::{Path, PathBuf};

use csfleak_dicom::{SeriesData, decode_file, load_series, scan};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

const ROWS: u16 = 320;
const COLS: u16 = 240;

fn put_str(o: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_u16(o: &mut InMemDicomObject, tag: Tag, value: u16) {
    o.put(DataElement::new(tag, VR::US, dicom_value!(U16, [value])));
}

/// One axial CT-like slice at height `z` with the given stored bits and pixel bytes.
fn slice(
    k: usize,
    bits: (u16, u16),
    signed: bool,
    rescale: bool,
    pixels: Vec<u8>,
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE);
    put_str(
        &mut o,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        &format!("2.25.77{k}"),
    );
    put_str(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, "2.25.71");
    put_str(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, "2.25.72");
    put_str(&mut o, tags::MODALITY, VR::CS, "CT");
    put_str(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "1\\0\\0\\0\\1\\0",
    );
    put_str(
        &mut o,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &format!("-100\\-80\\{}", 2.5 * k as f64),
    );
    put_str(&mut o, tags::PIXEL_SPACING, VR::DS, "0.75\\0.8");
    put_str(&mut o, tags::SLICE_THICKNESS, VR::DS, "2.5");
    put_u16(&mut o, tags::SAMPLES_PER_PIXEL, 1);
    put_str(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_u16(&mut o, tags::ROWS, ROWS);
    put_u16(&mut o, tags::COLUMNS, COLS);
    put_u16(&mut o, tags::BITS_ALLOCATED, bits.0);
    put_u16(&mut o, tags::BITS_STORED, bits.1);
    put_u16(&mut o, tags::HIGH_BIT, bits.1 - 1);
    put_u16(&mut o, tags::PIXEL_REPRESENTATION, u16::from(signed));
    if rescale {
        put_str(&mut o, tags::RESCALE_SLOPE, VR::DS, "1.5");
        put_str(&mut o, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
    }
    let vr = if bits.0 == 8 { VR::OB } else { VR::OW };
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        vr,
        PrimitiveValue::U8(pixels.into()),
    ));
    o
}

fn write(dir: &Path, k: usize, o: InMemDicomObject, ts: &str) -> PathBuf {
    let path = dir.join(format!("f{k:03}"));
    o.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(ts)
            .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
            .media_storage_sop_instance_uid(format!("2.25.77{k}")),
    )
    .expect("meta")
    .write_to_file(&path)
    .expect("write");
    path
}

/// Pseudo-random bytes (also setting the bits above `BitsStored`, which must be ignored).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

/// Write a series, load it, and compare every slice with the general decoder of its file.
fn check(bits: (u16, u16), signed: bool, rescale: bool, ts: &str, trailing: bool) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = usize::from(ROWS) * usize::from(COLS) * usize::from(bits.0 / 8);
    let mut paths = Vec::new();
    // written in an order unrelated to the slice position
    for k in [3, 0, 4, 1, 2] {
        let mut o = slice(k, bits, signed, rescale, noise(bytes, k as u64 + 1));
        if trailing {
            // an element after Pixel Data: not a plain file, so the general path is taken
            put_str(&mut o, Tag(0xFFFA, 0xFFFA), VR::OB, "xx");
        }
        paths.push((k, write(dir.path(), k, o, ts)));
    }
    assert!(
        bytes > 64 * 1024,
        "the files must be larger than the header prefix"
    );
    let report = scan(dir.path()).unwrap();
    let series: Vec<_> = report.series().collect();
    assert_eq!(series.len(), 1);
    let loaded = load_series(series[0]).unwrap();
    let SeriesData::Volume(v) = &loaded.data else {
        panic!("a volume was expected");
    };
    assert_eq!(v.data().dim(), (5, usize::from(ROWS), usize::from(COLS)));
    for (k, path) in &paths {
        let want = decode_file(path).unwrap().values;
        let got: Vec<f32> = v
            .data()
            .index_axis(ndarray::Axis(0), *k)
            .iter()
            .copied()
            .collect();
        assert_eq!(got.len(), want.len());
        let differ = got
            .iter()
            .zip(&want)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(
            differ, 0,
            "slice {k}: {differ} values differ from the general decoder"
        );
    }
}

#[test]
fn signed_12_bit_rescaled_explicit_vr_matches_the_general_decoder() {
    check((16, 12), true, true, uids::EXPLICIT_VR_LITTLE_ENDIAN, false);
}

#[test]
fn unsigned_16_bit_implicit_vr_matches_the_general_decoder() {
    check(
        (16, 16),
        false,
        false,
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
        false,
    );
}

#[test]
fn signed_16_bit_without_rescale_matches_the_general_decoder() {
    check(
        (16, 16),
        true,
        false,
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        false,
    );
}

#[test]
fn eight_bit_signed_and_unsigned_match_the_general_decoder() {
    check((8, 7), true, true, uids::EXPLICIT_VR_LITTLE_ENDIAN, false);
    check((8, 8), false, false, uids::EXPLICIT_VR_LITTLE_ENDIAN, false);
}

#[test]
fn data_after_pixel_data_takes_the_general_path_with_the_same_values() {
    check((16, 12), true, true, uids::EXPLICIT_VR_LITTLE_ENDIAN, true);
}

#[test]
fn big_endian_files_take_the_general_path_with_the_same_values() {
    check((16, 16), true, true, "1.2.840.10008.1.2.2", false);
}
