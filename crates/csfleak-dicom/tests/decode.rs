//! Pixel decoding and robust opening on small files written here with dicom-object: each test
//! writes a file whose stored bytes are known and checks the decoded values or the error.

use std::path::{Path, PathBuf};

use csfleak_dicom::{Error, decode_file, open_full, open_header};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// A minimal image data set: `rows x cols`, `samples` per pixel, the given bits.
fn image(rows: u16, cols: u16, samples: u16, bits: (u16, u16), signed: bool) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    o.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(uids::SECONDARY_CAPTURE_IMAGE_STORAGE),
    ));
    o.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("2.25.1234"),
    ));
    o.put(DataElement::new(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::from("OT"),
    ));
    o.put(DataElement::new(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        dicom_value!(U16, [samples]),
    ));
    let pi = if samples == 3 { "RGB" } else { "MONOCHROME2" };
    o.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from(pi),
    ));
    o.put(DataElement::new(
        tags::ROWS,
        VR::US,
        dicom_value!(U16, [rows]),
    ));
    o.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        dicom_value!(U16, [cols]),
    ));
    o.put(DataElement::new(
        tags::BITS_ALLOCATED,
        VR::US,
        dicom_value!(U16, [bits.0]),
    ));
    o.put(DataElement::new(
        tags::BITS_STORED,
        VR::US,
        dicom_value!(U16, [bits.1]),
    ));
    o.put(DataElement::new(
        tags::HIGH_BIT,
        VR::US,
        dicom_value!(U16, [bits.1 - 1]),
    ));
    o.put(DataElement::new(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        dicom_value!(U16, [u16::from(signed)]),
    ));
    o
}

fn put_pixels(o: &mut InMemDicomObject, bytes: Vec<u8>) {
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(bytes.into()),
    ));
}

fn put_str(o: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn write(dir: &Path, name: &str, o: InMemDicomObject, ts: &str) -> PathBuf {
    let path = dir.join(name);
    let file = o
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
                .media_storage_sop_instance_uid("2.25.1234"),
        )
        .expect("meta");
    file.write_to_file(&path).expect("write");
    path
}

fn le16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn signed_12_of_16_bits_are_masked_and_sign_extended() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 4, 1, (16, 12), true);
    // garbage in the 4 unused high bits must be ignored (PS3.5 8.1.1)
    put_pixels(&mut o, le16(&[0xAFFB, 0x57FF, 0x0800, 0xF000]));
    let path = write(dir.path(), "s12.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let px = decode_file(&path).unwrap();
    assert_eq!((px.frames, px.rows, px.cols, px.samples), (1, 1, 4, 1));
    assert_eq!(px.values, vec![-5.0, 2047.0, -2048.0, 0.0]);
}

#[test]
fn unsigned_12_bits_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 1, (16, 12), false);
    put_pixels(&mut o, le16(&[0xF123, 0x0FFF]));
    let path = write(dir.path(), "u12.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(decode_file(&path).unwrap().values, vec![291.0, 4095.0]);
}

#[test]
fn rescale_slope_and_intercept_apply_in_f64() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 3, 1, (16, 16), true);
    put_str(&mut o, tags::RESCALE_SLOPE, VR::DS, "2.5");
    put_str(&mut o, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
    put_pixels(
        &mut o,
        le16(&[0, 400, u16::from_ne_bytes((-8i16).to_ne_bytes())]),
    );
    let path = write(dir.path(), "ct.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(
        decode_file(&path).unwrap().values,
        vec![-1024.0, -24.0, -1044.0]
    );
}

#[test]
fn implicit_vr_file_decodes_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(2, 2, 1, (16, 16), false);
    put_pixels(&mut o, le16(&[1, 2, 3, 65535]));
    let path = write(dir.path(), "impl.dcm", o, uids::IMPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(
        decode_file(&path).unwrap().values,
        vec![1.0, 2.0, 3.0, 65535.0]
    );
}

#[test]
fn planar_configuration_1_is_interleaved() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 3, (8, 8), false);
    o.put(DataElement::new(
        tags::PLANAR_CONFIGURATION,
        VR::US,
        dicom_value!(U16, [1]),
    ));
    // R plane, G plane, B plane
    put_pixels(&mut o, vec![10, 11, 20, 21, 30, 31]);
    let path = write(dir.path(), "planar.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let px = decode_file(&path).unwrap();
    assert_eq!(px.samples, 3);
    assert_eq!(px.values, vec![10.0, 20.0, 30.0, 11.0, 21.0, 31.0]);
}

#[test]
fn thirty_two_bit_signed_and_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let raw: Vec<u8> = [-70_000i32, 1 << 20, 3]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut o = image(1, 3, 1, (32, 32), true);
    put_pixels(&mut o, raw.clone());
    let path = write(dir.path(), "s32.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(
        decode_file(&path).unwrap().values,
        vec![-70_000.0, 1_048_576.0, 3.0]
    );

    let mut o = image(1, 3, 1, (32, 32), false);
    put_pixels(&mut o, raw);
    let path = write(dir.path(), "u32.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let v = decode_file(&path).unwrap().values;
    assert_eq!(v[0], u32::from_ne_bytes((-70_000i32).to_ne_bytes()) as f32);
    assert_eq!(v[1], 1_048_576.0);
}

#[test]
fn one_bit_samples_unpack_least_significant_bit_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(2, 5, 1, (1, 1), false);
    // 10 bits: 1,0,1,1,0, 0,0,0,1,1
    put_pixels(&mut o, vec![0b0000_1101, 0b0000_0011]);
    let path = write(dir.path(), "seg.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(
        decode_file(&path).unwrap().values,
        vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    );
}

#[test]
fn modality_lut_sequence_maps_and_clamps() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 4, 1, (16, 16), false);
    let mut item = InMemDicomObject::new_empty();
    // 3 entries, first mapped value 10, 16 bits
    item.put(DataElement::new(
        tags::LUT_DESCRIPTOR,
        VR::US,
        dicom_value!(U16, [3, 10, 16]),
    ));
    item.put(DataElement::new(
        tags::LUT_DATA,
        VR::US,
        dicom_value!(U16, [100, 200, 300]),
    ));
    o.put(DataElement::new(
        tags::MODALITY_LUT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));
    put_pixels(&mut o, le16(&[5, 10, 11, 50]));
    let path = write(dir.path(), "mlut.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(
        decode_file(&path).unwrap().values,
        vec![100.0, 100.0, 200.0, 300.0]
    );
}

#[test]
fn enhanced_per_frame_rescale_is_applied_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 1, (16, 16), false);
    put_str(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "2");
    let group = |slope: &str, intercept: &str| {
        let mut pvt = InMemDicomObject::new_empty();
        put_str(&mut pvt, tags::RESCALE_SLOPE, VR::DS, slope);
        put_str(&mut pvt, tags::RESCALE_INTERCEPT, VR::DS, intercept);
        let mut g = InMemDicomObject::new_empty();
        g.put(DataElement::new(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![pvt]),
        ));
        g
    };
    o.put(DataElement::new(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![group("1", "-1024"), group("2", "0")]),
    ));
    put_pixels(&mut o, le16(&[0, 1000, 3, 4]));
    let path = write(dir.path(), "enh.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let px = decode_file(&path).unwrap();
    assert_eq!(px.frames, 2);
    assert_eq!(px.values, vec![-1024.0, -24.0, 6.0, 8.0]);
}

#[test]
fn uncompressed_ybr_full_422_becomes_rgb() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 3, (8, 8), false);
    put_str(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "YBR_FULL_422",
    );
    // Y1 Y2 Cb Cr: neutral chroma gives grey equal to Y
    put_pixels(&mut o, vec![50, 200, 128, 128]);
    let path = write(dir.path(), "ybr.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let px = decode_file(&path).unwrap();
    assert_eq!(px.values, vec![50.0, 50.0, 50.0, 200.0, 200.0, 200.0]);
}

#[test]
fn truncated_pixel_data_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(4, 4, 1, (16, 16), false);
    put_pixels(&mut o, vec![0; 30]);
    let path = write(dir.path(), "short.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    match decode_file(&path) {
        Err(Error::Invalid { what, path: p, .. }) => {
            assert_eq!(what, "pixel data length");
            assert_eq!(p, path);
        }
        other => panic!("expected a pixel data length error, got {other:?}"),
    }
}

#[test]
fn absurd_rows_columns_and_frames_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(65535, 65535, 3, (16, 16), false);
    put_str(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "2000000000");
    put_pixels(&mut o, vec![0; 64]);
    let path = write(dir.path(), "absurd.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    assert!(err.to_string().contains("absurd.dcm"));
}

#[test]
fn non_numeric_number_of_frames_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 1, 1, (8, 8), false);
    put_str(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "1A");
    put_pixels(&mut o, vec![0, 0]);
    let path = write(dir.path(), "badvr.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert!(matches!(
        decode_file(&path),
        Err(Error::Invalid {
            what: "NumberOfFrames",
            ..
        })
    ));
}

#[test]
fn missing_pixel_data_names_the_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let o = image(1, 1, 1, (8, 8), false);
    let path = write(dir.path(), "nopix.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert!(matches!(
        decode_file(&path),
        Err(Error::MissingAttribute {
            keyword: "PixelData",
            ..
        })
    ));
}

/// `PackBits` as literal runs only (valid, if not compact).
fn packbits_literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.chunks(128) {
        out.push(u8::try_from(chunk.len() - 1).expect("at most 128"));
        out.extend_from_slice(chunk);
    }
    if out.len() % 2 == 1 {
        out.push(128); // no-op padding to an even length
    }
    out
}

/// One RLE frame of 32-bit samples (4 segments, most significant byte first).
fn rle_frame_32(values: &[u32]) -> Vec<u8> {
    let segments: Vec<Vec<u8>> = (0..4)
        .map(|b| {
            let plane: Vec<u8> = values.iter().map(|v| v.to_be_bytes()[b]).collect();
            packbits_literal(&plane)
        })
        .collect();
    let mut header = vec![0u8; 64];
    header[..4].copy_from_slice(&4u32.to_le_bytes());
    let mut offset = 64u32;
    for (i, s) in segments.iter().enumerate() {
        header[4 + 4 * i..8 + 4 * i].copy_from_slice(&offset.to_le_bytes());
        offset += u32::try_from(s.len()).expect("small segment");
    }
    let mut frame = header;
    for s in segments {
        frame.extend(s);
    }
    frame
}

#[test]
fn rle_lossless_32_bit_multi_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 3, 1, (32, 32), false);
    put_str(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "2");
    let frames = [[1u32, 70_000, 16_777_216], [5, 6, 7]];
    let fragments: Vec<Vec<u8>> = frames.iter().map(|f| rle_frame_32(f)).collect();
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::PixelFragmentSequence::new(Vec::<u32>::new(), fragments),
    ));
    let path = write(dir.path(), "rle32.dcm", o, uids::RLE_LOSSLESS);
    let px = decode_file(&path).unwrap();
    assert_eq!(px.frames, 2);
    assert_eq!(px.values, vec![1.0, 70_000.0, 16_777_216.0, 5.0, 6.0, 7.0]);
}

#[test]
fn file_without_meta_group_is_read_as_implicit_little_endian() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 1, (16, 16), false);
    put_pixels(&mut o, le16(&[7, 9]));
    let path = dir.path().join("nometa.dcm");
    let mut f = std::fs::File::create(&path).unwrap();
    o.write_dataset_with_ts(&mut f, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    drop(f);
    let header = open_header(&path).unwrap();
    assert_eq!(
        header.meta().transfer_syntax(),
        uids::IMPLICIT_VR_LITTLE_ENDIAN
    );
    assert!(header.get(tags::PIXEL_DATA).is_none());
    assert_eq!(header.get(tags::ROWS).unwrap().to_int::<u16>().unwrap(), 1);
    let full = open_full(&path).unwrap();
    assert!(full.get(tags::PIXEL_DATA).is_some());
    assert_eq!(decode_file(&path).unwrap().values, vec![7.0, 9.0]);
}

#[test]
fn standard_attributes_stored_as_un_are_reread() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 1, (16, 16), false);
    o.put(DataElement::new(
        tags::MODALITY,
        VR::UN,
        PrimitiveValue::U8(b"CT".to_vec().into()),
    ));
    o.put(DataElement::new(
        tags::RESCALE_SLOPE,
        VR::UN,
        PrimitiveValue::U8(b"2 ".to_vec().into()),
    ));
    o.put(DataElement::new(
        tags::RESCALE_INTERCEPT,
        VR::UN,
        PrimitiveValue::U8(b"-1000 ".to_vec().into()),
    ));
    put_pixels(&mut o, le16(&[0, 600]));
    let path = write(dir.path(), "un.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let file = open_full(&path).unwrap();
    let modality = file.get(tags::MODALITY).unwrap();
    assert_eq!(modality.vr(), VR::CS);
    assert_eq!(modality.to_str().unwrap(), "CT");
    assert_eq!(decode_file(&path).unwrap().values, vec![-1000.0, 200.0]);
}

#[test]
fn not_dicom_and_missing_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello, this is not DICOM at all").unwrap();
    let err = open_full(&path).unwrap_err();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    let missing = dir.path().join("missing.dcm");
    let err = open_header(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.dcm"));
}

/// Overwrite the 4-byte length that follows the first occurrence of `header` in the file.
fn patch_length(path: &Path, header: &[u8], len: u32) {
    let mut bytes = std::fs::read(path).expect("read back");
    let at = bytes
        .windows(header.len())
        .position(|w| w == header)
        .expect("element header present")
        + header.len();
    bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
    std::fs::write(path, bytes).expect("rewrite");
}

#[test]
fn corrupt_element_lengths_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    // Pixel Data declaring 2 GiB in a small file
    let mut o = image(2, 2, 1, (16, 16), false);
    put_pixels(&mut o, le16(&[1, 2, 3, 4]));
    let path = write(dir.path(), "pixlen.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    patch_length(
        &path,
        &[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0],
        0x8000_0000,
    );
    let err = open_full(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                what: "element length",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("pixlen.dcm"));
    // the header alone is still readable
    assert!(open_header(&path).is_ok());

    // an unlimited-text value nested in a sequence item, before Pixel Data
    let mut o = image(2, 2, 1, (16, 16), false);
    let mut item = InMemDicomObject::new_empty();
    put_str(&mut item, tags::TEXT_VALUE, VR::UT, "fine");
    o.put(DataElement::new(
        tags::CONTENT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));
    put_pixels(&mut o, le16(&[1, 2, 3, 4]));
    let path = write(dir.path(), "nested.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    patch_length(
        &path,
        &[0x40, 0x00, 0x60, 0xA1, b'U', b'T', 0, 0],
        0xFFFF_FFF0,
    );
    for result in [open_header(&path), open_full(&path)] {
        assert!(
            matches!(
                result,
                Err(Error::Invalid {
                    what: "element length",
                    ..
                })
            ),
            "{result:?}"
        );
    }
}

#[test]
fn file_cut_inside_the_header_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(2, 2, 1, (16, 16), false);
    put_str(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "a description long enough",
    );
    put_pixels(&mut o, le16(&[1, 2, 3, 4]));
    let path = write(dir.path(), "cut.dcm", o, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"a de")
        .expect("description present");
    std::fs::write(&path, &bytes[..at + 3]).unwrap();
    for result in [open_header(&path), open_full(&path)] {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("cut.dcm"), "{err}");
    }
    assert!(decode_file(&path).is_err());
}

#[test]
fn big_endian_file_without_meta_group_is_detected() {
    use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_BIG_ENDIAN;
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 3, 1, (16, 12), true);
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(vec![0x0FFF, 0x0001, 0x0800].into()),
    ));
    let path = dir.path().join("be-nometa.dcm");
    let mut f = std::fs::File::create(&path).unwrap();
    o.write_dataset_with_ts(&mut f, &EXPLICIT_VR_BIG_ENDIAN.erased())
        .unwrap();
    drop(f);
    let file = open_full(&path).unwrap();
    assert_eq!(file.meta().transfer_syntax(), "1.2.840.10008.1.2.2");
    assert_eq!(decode_file(&path).unwrap().values, vec![-1.0, 1.0, -2048.0]);
}

#[test]
fn preamble_with_a_meta_group_lacking_the_transfer_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(1, 2, 1, (8, 8), false);
    put_pixels(&mut o, vec![3, 250]);
    let mut dataset = Vec::new();
    o.write_dataset_with_ts(&mut dataset, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    // preamble, DICM, then only (0002,0001) File Meta Information Version
    let mut bytes = vec![0u8; 128];
    bytes.extend(b"DICM");
    bytes.extend([0x02, 0x00, 0x01, 0x00, b'O', b'B', 0, 0, 2, 0, 0, 0, 0, 1]);
    bytes.extend(dataset);
    let path = dir.path().join("odd-meta.dcm");
    std::fs::write(&path, bytes).unwrap();
    let header = open_header(&path).unwrap();
    assert_eq!(
        header.meta().transfer_syntax(),
        uids::IMPLICIT_VR_LITTLE_ENDIAN
    );
    assert_eq!(decode_file(&path).unwrap().values, vec![3.0, 250.0]);
}

#[test]
fn malformed_jpeg_streams_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    // a frame header with 2 components where the data set says 3 samples, then junk
    let mut two_components = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0E, 8, 0, 1, 0, 1, 2];
    two_components.extend([1, 0x11, 0, 2, 0x11, 0]);
    two_components.extend([0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 63, 0, 0xFF, 0xD9]);
    let junk = vec![0xFF, 0xD8, 0x12, 0x34, 0x56, 0x78, 0xFF, 0xD9];
    for (i, (samples, fragment)) in [(3, two_components), (1, junk.clone()), (3, junk)]
        .into_iter()
        .enumerate()
    {
        let mut o = image(1, 1, samples, (8, 8), false);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            dicom_core::value::PixelFragmentSequence::new(Vec::<u32>::new(), vec![fragment]),
        ));
        let name = format!("bad{i}.dcm");
        let path = write(dir.path(), &name, o, uids::JPEG_BASELINE8_BIT);
        let err = decode_file(&path).unwrap_err();
        assert!(err.to_string().contains(&name), "{err}");
    }
}

#[test]
fn a_large_non_dicom_file_is_refused_from_its_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("movie.bin");
    // 4 MiB of pseudo-random bytes
    let mut x: u32 = 12345;
    let bytes: Vec<u8> = (0..4 << 20)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x.to_le_bytes()[3]
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    for result in [open_header(&path), open_full(&path)] {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("movie.bin"), "{err}");
    }
}

#[test]
fn compressed_data_cannot_claim_an_absurd_decoded_size() {
    let dir = tempfile::tempdir().unwrap();
    // 16000 x 16000 8-bit from a 64-byte RLE fragment: 256 MB from nothing
    let mut o = image(16000, 16000, 1, (8, 8), false);
    let mut fragment = vec![0u8; 64];
    fragment[0] = 1;
    fragment[4] = 64;
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::PixelFragmentSequence::new(Vec::<u32>::new(), vec![fragment]),
    ));
    let path = write(dir.path(), "bomb.dcm", o, uids::RLE_LOSSLESS);
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    assert!(err.to_string().contains("bomb.dcm"));
}

/// The bytes of a File Meta group (with `DICM` and a preamble) declaring `ts`.
fn meta_bytes(ts: &str) -> Vec<u8> {
    let table = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
        .media_storage_sop_instance_uid("2.25.1234")
        .build()
        .expect("meta");
    let mut bytes = vec![0_u8; 128];
    bytes.extend_from_slice(b"DICM");
    table.write(&mut bytes).expect("meta bytes");
    bytes
}

#[test]
fn undefined_length_un_with_implicit_content_is_refused_without_a_huge_allocation() {
    // An explicit-VR file whose private UN element of undefined length holds an implicit-VR
    // sequence (PS3.5 6.2.2). dicom-rs reads that content as explicit VR and takes the item tag
    // bytes for a 3.7 GB value length; the length check must refuse it before the parser runs.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = meta_bytes(uids::EXPLICIT_VR_LITTLE_ENDIAN);
    bytes.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'O', b'T']);
    bytes.extend_from_slice(&[
        0x53, 0x44, 0x0C, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    for chunk in [
        [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF], // item, undefined length
        [0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF], // (0008,1115) implicit SQ
        [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF],
        [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0],
        [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0],
        [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0],
        [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0],
    ] {
        bytes.extend_from_slice(&chunk);
    }
    let path = dir.path().join("un_sequence.dcm");
    std::fs::write(&path, bytes).unwrap();
    for result in [open_header(&path), open_full(&path)] {
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    what: "element length",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("un_sequence.dcm"));
    }
}

#[test]
fn implicit_data_set_behind_an_explicit_meta_group_is_read_with_the_encoding_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = image(2, 2, 1, (16, 16), false);
    put_pixels(&mut o, le16(&[10, 20, 30, 40]));
    let mut bytes = meta_bytes(uids::EXPLICIT_VR_LITTLE_ENDIAN);
    o.write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .expect("implicit data set");
    let path = dir.path().join("mismatch.dcm");
    std::fs::write(&path, bytes).unwrap();
    let decoded = decode_file(&path).expect("decodes with the detected encoding");
    assert_eq!(decoded.values, vec![10.0, 20.0, 30.0, 40.0]);
}
