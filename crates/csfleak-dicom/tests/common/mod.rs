//! Writing small synthetic DICOM files for the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test helpers shared by several test binaries; failures should abort the test"
)]

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// One image file to write.
#[derive(Debug, Clone)]
pub struct Spec {
    pub study: String,
    pub series: String,
    pub sop: String,
    pub modality: String,
    pub series_number: i32,
    pub instance_number: i32,
    pub description: String,
    pub rows: u16,
    pub cols: u16,
    pub frames: Option<u32>,
    pub position: Option<[f64; 3]>,
    pub orientation: Option<[f64; 6]>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub echo_time: Option<f64>,
    pub acquisition: Option<i32>,
    /// Pixel values (u16), rows*cols*frames of them; `None` writes a ramp.
    pub pixels: Option<Vec<u16>>,
    /// Extra elements.
    pub extra: Vec<DataElement<InMemDicomObject>>,
}

impl Spec {
    /// An axial MR slice of a 4x3 image.
    pub fn mr(series: &str, sop: &str, z: f64) -> Self {
        Self {
            study: "1.2.3.4".into(),
            series: series.into(),
            sop: sop.into(),
            modality: "MR".into(),
            series_number: 3,
            instance_number: 1,
            description: "T2 FS SAG L-SPINE".into(),
            rows: 3,
            cols: 4,
            frames: None,
            position: Some([-10.0, -20.0, z]),
            orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            pixel_spacing: Some([0.7, 0.5]),
            echo_time: Some(90.0),
            acquisition: Some(1),
            pixels: None,
            extra: Vec::new(),
        }
    }
}

fn ds(values: &[f64]) -> PrimitiveValue {
    let strs: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
    PrimitiveValue::Strs(strs.into())
}

/// Build the data set of a spec.
pub fn object(s: &Spec) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    let mut put = |tag: Tag, vr: VR, v: PrimitiveValue| {
        o.put(DataElement::new(tag, vr, v));
    };
    put(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    );
    put(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(uids::MR_IMAGE_STORAGE),
    );
    put(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(s.sop.as_str()),
    );
    put(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(s.study.as_str()),
    );
    put(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(s.series.as_str()),
    );
    put(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::from(s.modality.as_str()),
    );
    put(
        tags::SERIES_DESCRIPTION,
        VR::LO,
        PrimitiveValue::from(s.description.as_str()),
    );
    put(
        tags::SERIES_NUMBER,
        VR::IS,
        PrimitiveValue::from(s.series_number.to_string()),
    );
    put(
        tags::INSTANCE_NUMBER,
        VR::IS,
        PrimitiveValue::from(s.instance_number.to_string()),
    );
    put(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from("Secret^Patient"),
    );
    put(
        tags::PATIENT_ID,
        VR::LO,
        PrimitiveValue::from("PID-SECRET-42"),
    );
    if let Some(a) = s.acquisition {
        put(
            tags::ACQUISITION_NUMBER,
            VR::IS,
            PrimitiveValue::from(a.to_string()),
        );
    }
    if let Some(te) = s.echo_time {
        put(tags::ECHO_TIME, VR::DS, ds(&[te]));
    }
    if let Some(p) = s.position {
        put(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&p));
    }
    if let Some(o6) = s.orientation {
        put(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&o6));
    }
    if let Some(sp) = s.pixel_spacing {
        put(tags::PIXEL_SPACING, VR::DS, ds(&sp));
    }
    put(tags::ROWS, VR::US, PrimitiveValue::from(s.rows));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(s.cols));
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("MONOCHROME2"),
    );
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(16_u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15_u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    );
    let frames = s.frames.unwrap_or(1);
    if let Some(f) = s.frames {
        put(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(f.to_string()),
        );
    }
    let n = usize::from(s.rows) * usize::from(s.cols) * frames as usize;
    let px: Vec<u16> = s
        .pixels
        .clone()
        .unwrap_or_else(|| (0..n).map(|i| (i % 60000) as u16).collect());
    put(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(px.into()));
    for e in &s.extra {
        o.put(e.clone());
    }
    o
}

/// Write a spec as an Explicit VR Little Endian file.
pub fn write(path: &Path, s: &Spec) {
    write_object(path, object(s), &s.sop);
}

/// Write any data set with a File Meta group.
pub fn write_object(path: &Path, o: InMemDicomObject, sop: &str) {
    let f = o
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::MR_IMAGE_STORAGE)
                .media_storage_sop_instance_uid(sop),
        )
        .unwrap();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    f.write_to_file(path).unwrap();
}

/// A sequence element from items.
pub fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// A data set from elements.
pub fn item(elems: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elems)
}

/// A decimal-string element.
pub fn ds_elem(tag: Tag, values: &[f64]) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::DS, ds(values))
}

/// A string element.
pub fn str_elem(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}
