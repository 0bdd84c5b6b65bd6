//! Hostile input: truncated files, absurd sizes, wrong VRs, duplicate positions, mixed
//! orientations. Every case gives a clear error or flag naming the file, never a panic and
//! never an allocation beyond the file's real size.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_lossless,
    clippy::cast_possible_wrap,
    reason = "small test constants"
)]

mod common;

use common::{Spec, write};
use csfleak_dicom::{Error, SeriesLayout, load_series, scan};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;

fn error_text(e: &Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[test]
fn truncated_file_is_skipped_or_fails_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..3 {
        let mut s = Spec::mr("1.1", &format!("1.1.{k}"), k as f64);
        s.rows = 64;
        s.cols = 64;
        write(&dir.path().join(format!("ok{k}")), &s);
    }
    let mut s = Spec::mr("1.1", "1.1.9", 3.0);
    s.rows = 64;
    s.cols = 64;
    let cut = dir.path().join("cut");
    write(&cut, &s);
    let bytes = std::fs::read(&cut).unwrap();
    // Cut inside the pixel data: the header is intact, the pixels are not.
    std::fs::write(&cut, &bytes[..bytes.len() - 2000]).unwrap();
    // Another one cut inside the header.
    let head = dir.path().join("head");
    write(&head, &Spec::mr("1.1", "1.1.8", 4.0));
    let hb = std::fs::read(&head).unwrap();
    std::fs::write(&head, &hb[..300]).unwrap();

    let report = scan(dir.path()).unwrap();
    // The header of `cut` is intact, so it is indexed; its series must fail to load, naming it.
    let with_cut = report
        .series()
        .find(|s| {
            s.instances
                .iter()
                .any(|i| i.rel_path.to_str() == Some("cut"))
        })
        .expect("cut indexed from its intact header");
    let e = load_series(with_cut).unwrap_err();
    let t = error_text(&e);
    assert!(t.contains("cut"), "{t}");
    // `head` is cut inside the header: skipped with a reason, or indexed and then failing.
    if let Some(f) = report
        .skipped
        .iter()
        .find(|f| f.path.to_str() == Some("head"))
    {
        assert!(!f.detail.is_empty());
    } else {
        {
            let s = report
                .series()
                .find(|s| {
                    s.instances
                        .iter()
                        .any(|i| i.rel_path.to_str() == Some("head"))
                })
                .expect("head either skipped or indexed");
            let t = error_text(&load_series(s).unwrap_err());
            assert!(t.contains("head"), "{t}");
        }
    }
}

#[test]
fn absurd_rows_columns_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    // The header claims 40000 x 40000 (1.6e9 voxels, under the element limit, 6.4 GB of f32),
    // the file holds 12 pixels: not even one frame fits, so it is refused when indexing.
    let mut s = Spec::mr("2.2", "2.2.1", 0.0);
    s.pixels = Some((0..12).collect());
    s.rows = 40000;
    s.cols = 40000;
    write(&dir.path().join("huge"), &s);
    // 40 x 50 fits the file at 1 bit per pixel but not at 16: indexed, refused at load time
    // from the file size, before the output is allocated.
    let mut m = Spec::mr("2.3", "2.3.1", 0.0);
    m.pixels = Some((0..12).collect());
    m.rows = 40;
    m.cols = 50;
    write(&dir.path().join("big"), &m);
    let report = scan(dir.path()).unwrap();
    let skipped = report
        .skipped
        .iter()
        .find(|f| f.path.to_str() == Some("huge"))
        .expect("huge skipped");
    assert_eq!(skipped.reason, "invalid_header");
    let series = report.series().next().expect("big indexed from the header");
    assert_eq!(series.meta.dims, [50, 40, 1]);
    let e = load_series(series).unwrap_err();
    let t = error_text(&e);
    assert!(t.contains("big"), "{t}");
    assert!(matches!(e, Error::LimitExceeded { .. }), "{t}");
    assert!(t.contains("the file has"), "{t}");
}

#[test]
fn absurd_number_of_frames_refused() {
    let dir = tempfile::tempdir().unwrap();
    let with_frames = |uid: &str, frames: &str| {
        let mut s = Spec::mr(uid, &format!("{uid}.1"), 0.0);
        s.extra.push(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames),
        ));
        s
    };
    // Plausible for the file's size at 1 bit per pixel, but not at 16: refused at load time,
    // before the output is allocated.
    write(&dir.path().join("frames100"), &with_frames("3.2", "100"));
    // More frames than the file could hold at all: refused when indexing, before any
    // per-frame bookkeeping is allocated.
    write(&dir.path().join("frames"), &with_frames("3.3", "900000"));
    write(
        &dir.path().join("frames2"),
        &with_frames("3.4", "2000000000"),
    );
    let report = scan(dir.path()).unwrap();
    for name in ["frames", "frames2"] {
        let skipped = report
            .skipped
            .iter()
            .find(|f| f.path.to_str() == Some(name))
            .expect("skipped");
        assert_eq!(skipped.reason, "invalid_header");
        assert!(
            skipped.detail.contains("NumberOfFrames") && skipped.detail.contains(name),
            "{}",
            skipped.detail
        );
    }
    let series = report.series().next().expect("frames100 indexed");
    assert_eq!(series.meta.n_frames, 100);
    let e = load_series(series).unwrap_err();
    let t = error_text(&e);
    assert!(matches!(e, Error::LimitExceeded { .. }), "{t}");
    assert!(t.contains("frames100"), "{t}");
}

#[test]
fn wrong_vrs_and_garbage_values() {
    let dir = tempfile::tempdir().unwrap();
    // NumberOfFrames "1A" (badVR.dcm in pydicom's data).
    let mut s = Spec::mr("4.4", "4.4.1", 0.0);
    s.extra.push(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("1A"),
    ));
    write(&dir.path().join("badvr"), &s);
    // Image Position as text: no geometry, flagged, still loads as planar frames.
    for k in 0..2 {
        let mut g = Spec::mr("4.5", &format!("4.5.{k}"), 0.0);
        g.position = None;
        g.extra.push(DataElement::new(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::from("abc\\def\\ghi"),
        ));
        write(&dir.path().join(format!("garbage{k}")), &g);
    }
    // Zero pixel spacing: geometry rejected with a flag.
    for k in 0..2 {
        let mut z = Spec::mr("4.6", &format!("4.6.{k}"), k as f64);
        z.pixel_spacing = Some([0.0, 0.0]);
        write(&dir.path().join(format!("zero{k}")), &z);
    }
    // Random bytes and an empty file.
    std::fs::write(
        dir.path().join("random.bin"),
        (0..4000_u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(dir.path().join("empty"), b"").unwrap();

    let report = scan(dir.path()).unwrap();
    let skip = |name: &str| {
        report
            .skipped
            .iter()
            .find(|f| f.path.to_str() == Some(name))
    };
    assert!(skip("badvr").is_some(), "{:?}", report.skipped);
    assert!(skip("random.bin").is_some());
    assert!(skip("empty").is_some());
    let garbage = report
        .series()
        .find(|s| s.meta.series_instance_uid == "4.5")
        .unwrap();
    assert_eq!(garbage.layout, SeriesLayout::Planar);
    assert!(
        garbage.flags.iter().any(|f| f.code == "no_geometry"),
        "{:?}",
        garbage.flags
    );
    assert_eq!(load_series(garbage).unwrap().meta.n_frames, 2);
    let zero = report
        .series()
        .find(|s| s.meta.series_instance_uid == "4.6")
        .unwrap();
    assert_eq!(zero.layout, SeriesLayout::Planar);
    let f = zero
        .flags
        .iter()
        .find(|f| f.code == "invalid_geometry")
        .expect("flag");
    assert!(f.files.iter().any(|p| p.to_str() == Some("zero0")));
}

#[test]
fn mismatched_image_size_in_one_series_is_split() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..2 {
        write(
            &dir.path().join(format!("a{k}")),
            &Spec::mr("5.5", &format!("5.5.{k}"), k as f64),
        );
    }
    let mut odd = Spec::mr("5.5", "5.5.9", 2.0);
    odd.rows = 5;
    odd.cols = 5;
    write(&dir.path().join("odd"), &odd);
    let report = scan(dir.path()).unwrap();
    let parts: Vec<_> = report.series().collect();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| {
        p.flags
            .iter()
            .any(|f| f.code == "series_split" && f.message.contains("image size"))
    }));
    for p in parts {
        load_series(p).unwrap();
    }
}
