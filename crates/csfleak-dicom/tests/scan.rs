//! Scanning and loading synthetic series written with dicom-object: grouping, splitting, sorting
//! and geometry.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_lossless,
    clippy::cast_possible_wrap,
    reason = "small test constants"
)]

mod common;

use common::{Spec, ds_elem, item, seq, str_elem, write};
use csfleak_dicom::{ImagePlane, Role, SeriesData, SeriesLayout, load_series, scan};
use csfleak_volume::{DVec3, VoxelIdx};
use dicom_core::VR;
use dicom_core::value::PrimitiveValue;
use dicom_dictionary_std::tags;

/// Pixels of a 4x3 slice whose values encode the slice: `base + index`.
fn pixels(base: u16) -> Vec<u16> {
    (0..12).map(|i| base + i).collect()
}

#[test]
fn shuffled_names_reversed_instance_numbers_sorted_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["zz9", "a/b/IM0001", "0042.dcm", "QQ", "m"];
    for (k, name) in names.iter().enumerate() {
        let mut s = Spec::mr("1.2.3.4.5", &format!("1.2.3.4.5.{k}"), 3.0 * k as f64);
        // Instance numbers deliberately run against the positions.
        s.instance_number = 10 - k as i32;
        s.pixels = Some(pixels(100 * k as u16));
        write(&dir.path().join(name), &s);
    }
    std::fs::write(dir.path().join("notes.txt"), "not DICOM").unwrap();
    std::fs::write(dir.path().join("DICOMDIR"), "directory").unwrap();

    let report = scan(dir.path()).unwrap();
    assert_eq!(report.n_files, 7);
    assert_eq!(report.studies.len(), 1);
    let series: Vec<_> = report.series().collect();
    assert_eq!(series.len(), 1);
    let s = series[0];
    assert_eq!(s.layout, SeriesLayout::Volume);
    assert_eq!(s.meta.dims, [4, 3, 5]);
    assert_eq!(s.meta.plane, Some(ImagePlane::Axial));
    assert!(s.flags.is_empty(), "{:?}", s.flags);
    let sp = s.meta.spacing_mm.unwrap();
    assert!((sp[0] - 0.5).abs() < 1e-9 && (sp[1] - 0.7).abs() < 1e-9 && (sp[2] - 3.0).abs() < 1e-9);
    // The geometry says axial, whatever the description says.
    assert_eq!(s.role.role, Role::SpinalT2FsAxial);

    let reasons: Vec<_> = report
        .skipped
        .iter()
        .map(|f| (f.path.to_str().unwrap(), f.reason))
        .collect();
    assert!(reasons.contains(&("DICOMDIR", "dicomdir")), "{reasons:?}");
    assert!(reasons.contains(&("notes.txt", "not_dicom")), "{reasons:?}");

    let loaded = load_series(s).unwrap();
    let SeriesData::Volume(v) = loaded.data else {
        panic!("expected a volume")
    };
    for k in 0..5 {
        // Voxel (i=1, j=2) is pixel index 2*4+1 = 9 of slice k.
        assert_eq!(
            v.get(VoxelIdx::new(1, 2, k)),
            Some(f32::from(100 * k as u16 + 9))
        );
        let p = v.geometry().voxel_center(VoxelIdx::new(1, 2, k));
        assert!((p.0[0] - -9.5).abs() < 1e-6);
        assert!((p.0[1] - -18.6).abs() < 1e-6);
        assert!((p.0[2] - 3.0 * k as f64).abs() < 1e-6);
    }
}

#[test]
fn oblique_non_square_reversed_order_geometry_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let a = 20.0_f64.to_radians();
    let row = DVec3::new(a.cos(), a.sin(), 0.0);
    let col = DVec3::new(0.0, 0.0, -1.0);
    let n = row.cross(col);
    let origin = DVec3::new(5.0, -3.0, 40.0);
    let iop = [row.x, row.y, row.z, col.x, col.y, col.z];
    // Written in reverse order along the normal.
    for k in (0..4).rev() {
        let p = origin + n * (2.5 * k as f64);
        let mut s = Spec::mr("9.9", &format!("9.9.{k}"), 0.0);
        s.position = Some(p.to_array());
        s.orientation = Some(iop);
        s.pixel_spacing = Some([1.2, 0.8]);
        s.pixels = Some(pixels(1000 * k as u16));
        write(&dir.path().join(format!("f{}", 3 - k)), &s);
    }
    let report = scan(dir.path()).unwrap();
    let s = report.series().next().unwrap();
    let g = s.geometry.unwrap();
    let expect =
        |i: f64, j: f64, k: f64| origin + row * (0.8 * i) + col * (1.2 * j) + n * (2.5 * k);
    for (i, j, k) in [(0.0, 0.0, 0.0), (3.0, 2.0, 3.0), (1.0, 0.0, 2.0)] {
        let got = g.world_from_voxel.transform_point3(DVec3::new(i, j, k));
        assert!((got - expect(i, j, k)).length() < 1e-6, "{got:?}");
    }
    let v = match load_series(s).unwrap().data {
        SeriesData::Volume(v) => v,
        SeriesData::Planar(_) => panic!("expected a volume"),
    };
    assert_eq!(v.get(VoxelIdx::new(0, 0, 3)), Some(3000.0));
}

#[test]
fn mixed_orientations_split_with_flags() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..3 {
        write(
            &dir.path().join(format!("ax{k}")),
            &Spec::mr("7.7", &format!("7.7.{k}"), k as f64),
        );
        let mut sag = Spec::mr("7.7", &format!("7.7.1{k}"), 0.0);
        sag.orientation = Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]);
        sag.position = Some([k as f64 * 4.0, 0.0, 0.0]);
        write(&dir.path().join(format!("sag{k}")), &sag);
    }
    let report = scan(dir.path()).unwrap();
    let parts: Vec<_> = report.series().collect();
    assert_eq!(parts.len(), 2);
    let planes: Vec<_> = parts.iter().map(|s| s.meta.plane.unwrap()).collect();
    assert!(planes.contains(&ImagePlane::Axial) && planes.contains(&ImagePlane::Sagittal));
    for p in &parts {
        assert_eq!(p.meta.dims[2], 3);
        assert!(p.flags.iter().any(|f| f.code == "mixed_orientation"));
        assert!(
            p.flags
                .iter()
                .any(|f| f.code == "series_split" && f.message.contains("orientation"))
        );
        assert!(p.id.starts_with("7.7#"));
    }
    let sag = parts
        .iter()
        .find(|s| s.meta.plane == Some(ImagePlane::Sagittal))
        .unwrap();
    assert_eq!(sag.role.role, Role::SpinalT2FsSagittal);
    assert_eq!(sag.role.rule, "spinal_t2_fs_sagittal");
}

#[test]
fn echoes_and_acquisitions_split_duplicates_flagged() {
    let dir = tempfile::tempdir().unwrap();
    // Two echoes at the same positions.
    for k in 0..3 {
        for (e, te) in [(1, 20.0), (2, 90.0)] {
            let mut s = Spec::mr("5.5", &format!("5.5.{e}.{k}"), k as f64 * 2.0);
            s.echo_time = Some(te);
            write(&dir.path().join(format!("e{e}_{k}")), &s);
        }
    }
    // Two acquisitions at the same positions, same echo.
    for k in 0..3 {
        for acq in [1, 2] {
            let mut s = Spec::mr("6.6", &format!("6.6.{acq}.{k}"), k as f64 * 2.0);
            s.acquisition = Some(acq);
            write(&dir.path().join(format!("a{acq}_{k}")), &s);
        }
    }
    // A copied file and a same-position different-UID file.
    for k in 0..3 {
        write(
            &dir.path().join(format!("d{k}")),
            &Spec::mr("8.8", &format!("8.8.{k}"), k as f64),
        );
    }
    write(&dir.path().join("d0_copy"), &Spec::mr("8.8", "8.8.0", 0.0));
    write(
        &dir.path().join("d1_again"),
        &Spec::mr("8.8", "8.8.99", 1.0),
    );

    let report = scan(dir.path()).unwrap();
    let by_uid = |uid: &str| {
        report
            .series()
            .filter(|s| s.meta.series_instance_uid == uid)
            .collect::<Vec<_>>()
    };
    let echoes = by_uid("5.5");
    assert_eq!(echoes.len(), 2);
    assert!(echoes.iter().all(|s| s.meta.dims[2] == 3));
    assert!(echoes[0].flags.iter().any(|f| f.message.contains("echo")));
    let acq = by_uid("6.6");
    assert_eq!(acq.len(), 2);
    assert!(acq.iter().all(|s| s.meta.dims[2] == 3));
    let dup = by_uid("8.8");
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0].meta.dims[2], 3);
    let codes: Vec<_> = dup[0].flags.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"duplicate_instance"), "{codes:?}");
    assert!(codes.contains(&"duplicate_position"), "{codes:?}");
    let f = dup[0]
        .flags
        .iter()
        .find(|f| f.code == "duplicate_position")
        .unwrap();
    assert!(f.files.iter().any(|p| p.to_str() == Some("d1_again")));
}

#[test]
fn missing_and_uneven_slices_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    for (k, z) in [0.0, 3.0, 6.0, 12.0, 15.0, 18.0].iter().enumerate() {
        write(
            &dir.path().join(format!("m{k}")),
            &Spec::mr("1.1", &format!("1.1.{k}"), *z),
        );
    }
    for (k, z) in [0.0, 3.0, 6.0, 7.5, 10.5, 13.5].iter().enumerate() {
        write(
            &dir.path().join(format!("u{k}")),
            &Spec::mr("2.2", &format!("2.2.{k}"), *z),
        );
    }
    let report = scan(dir.path()).unwrap();
    let get = |uid: &str| {
        report
            .series()
            .find(|s| s.meta.series_instance_uid == uid)
            .unwrap()
    };
    let m = get("1.1");
    let f = m
        .flags
        .iter()
        .find(|f| f.code == "missing_slices")
        .expect("missing flag");
    assert!(f.message.starts_with("1 slice"), "{}", f.message);
    assert_eq!(f.files[0].to_str(), Some("m3"));
    let u = get("2.2");
    assert!(
        u.flags.iter().any(|f| f.code == "uneven_slice_spacing"),
        "{:?}",
        u.flags
    );
}

#[test]
fn enhanced_multiframe_uses_per_frame_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spec::mr("3.3", "3.3.1", 0.0);
    s.frames = Some(3);
    s.position = None;
    s.orientation = None;
    s.pixel_spacing = None;
    s.pixels = Some((0..36).collect());
    // Frames stored out of order along z: 6, 0, 3.
    let frame = |z: f64| {
        item(vec![seq(
            tags::PLANE_POSITION_SEQUENCE,
            vec![item(vec![ds_elem(
                tags::IMAGE_POSITION_PATIENT,
                &[0.0, 0.0, z],
            )])],
        )])
    };
    s.extra.push(seq(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![frame(6.0), frame(0.0), frame(3.0)],
    ));
    s.extra.push(seq(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![item(vec![
            seq(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![item(vec![ds_elem(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                )])],
            ),
            seq(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![item(vec![ds_elem(tags::PIXEL_SPACING, &[2.0, 1.0])])],
            ),
        ])],
    ));
    write(&dir.path().join("enh"), &s);
    let report = scan(dir.path()).unwrap();
    let series = report.series().next().unwrap();
    assert_eq!(series.layout, SeriesLayout::Volume);
    assert_eq!(series.meta.dims, [4, 3, 3]);
    assert_eq!(
        series.slices.iter().map(|s| s.frame).collect::<Vec<_>>(),
        vec![1, 2, 0]
    );
    let sp = series.meta.spacing_mm.unwrap();
    assert!((sp[0] - 1.0).abs() < 1e-9 && (sp[1] - 2.0).abs() < 1e-9 && (sp[2] - 3.0).abs() < 1e-9);
    let SeriesData::Volume(v) = load_series(series).unwrap().data else {
        panic!("expected a volume")
    };
    // k = 0 is frame 1 (z = 0): its first pixel is 12.
    assert_eq!(v.get(VoxelIdx::new(0, 0, 0)), Some(12.0));
    assert_eq!(v.get(VoxelIdx::new(0, 0, 2)), Some(0.0));
}

#[test]
fn nm_planar_frames_with_vectors_views_and_timing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spec::mr("4.4", "4.4.1", 0.0);
    s.modality = "NM".into();
    s.description = "脳槽シンチ 24h".into();
    s.frames = Some(4);
    s.position = None;
    s.orientation = None;
    s.pixel_spacing = Some([4.8, 4.8]);
    s.pixels = Some((0..48).collect());
    let fip = dicom_core::DataElement::new(
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::ENERGY_WINDOW_VECTOR, tags::DETECTOR_VECTOR].into()),
    );
    s.extra.push(fip);
    s.extra.push(dicom_core::DataElement::new(
        tags::ENERGY_WINDOW_VECTOR,
        VR::US,
        PrimitiveValue::U16(vec![1, 1, 2, 2].into()),
    ));
    s.extra.push(dicom_core::DataElement::new(
        tags::DETECTOR_VECTOR,
        VR::US,
        PrimitiveValue::U16(vec![1, 2, 1, 2].into()),
    ));
    s.extra.push(str_elem(
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\STATIC\\EMISSION",
    ));
    let view = |meaning: &str| {
        item(vec![
            seq(
                tags::VIEW_CODE_SEQUENCE,
                vec![item(vec![
                    str_elem(tags::CODE_VALUE, VR::SH, "399067008"),
                    str_elem(tags::CODE_MEANING, VR::LO, meaning),
                ])],
            ),
            ds_elem(
                tags::IMAGE_ORIENTATION_PATIENT,
                &[1.0, 0.0, 0.0, 0.0, 0.0, -1.0],
            ),
        ])
    };
    s.extra.push(seq(
        tags::DETECTOR_INFORMATION_SEQUENCE,
        vec![view("anterior"), view("posterior")],
    ));
    s.extra.push(seq(
        tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
        vec![item(vec![
            str_elem(
                tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
                VR::DT,
                "20250102083000",
            ),
            ds_elem(tags::RADIONUCLIDE_HALF_LIFE, &[242_290.0]),
            seq(
                tags::RADIONUCLIDE_CODE_SEQUENCE,
                vec![item(vec![str_elem(
                    tags::CODE_MEANING,
                    VR::LO,
                    "^111^Indium",
                )])],
            ),
        ])],
    ));
    s.extra
        .push(ds_elem(tags::ACTUAL_FRAME_DURATION, &[300_000.0]));
    s.extra
        .push(str_elem(tags::ACQUISITION_TIME, VR::TM, "083000"));
    write(&dir.path().join("nm"), &s);

    let report = scan(dir.path()).unwrap();
    let series = report.series().next().unwrap();
    assert_eq!(series.layout, SeriesLayout::Planar);
    assert_eq!(series.role.role, Role::RiCisternography);
    let nm = series.meta.nm.as_ref().unwrap();
    assert_eq!(nm.nm_image_type.as_deref(), Some("STATIC"));
    assert_eq!(
        nm.frame_increment_pointer,
        vec!["EnergyWindowVector", "DetectorVector"]
    );
    assert_eq!(nm.frames.len(), 4);
    assert_eq!(nm.frames[2].energy_window, Some(2));
    assert_eq!(nm.frames[3].detector, Some(2));
    assert_eq!(nm.detectors[1].view.as_deref(), Some("posterior"));
    // Anterior/posterior projections: the detector orientation makes the view coronal.
    assert_eq!(series.meta.plane, Some(ImagePlane::Coronal));
    assert_eq!(nm.radionuclide_half_life_s, Some(242_290.0));
    assert_eq!(nm.radionuclide.as_deref(), Some("^111^Indium"));
    assert_eq!(
        nm.radiopharmaceutical_start_datetime.as_deref(),
        Some("20250102083000")
    );
    assert_eq!(nm.actual_frame_duration_ms, Some(300_000.0));
    let SeriesData::Planar(p) = load_series(series).unwrap().data else {
        panic!("expected planar frames")
    };
    assert_eq!(p.n_frames(), 4);
    assert_eq!(p.frame(3).unwrap()[[0, 0]], 36.0);
    assert_eq!(p.pixel_spacing_mm, Some([4.8, 4.8]));
}

#[test]
fn no_patient_identifiers_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..2 {
        write(
            &dir.path().join(format!("f{k}")),
            &Spec::mr("1.9", &format!("1.9.{k}"), k as f64),
        );
    }
    let report = scan(dir.path()).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("T2 FS SAG"));
    assert!(!json.contains("Secret"));
    assert!(!json.contains("PID-SECRET"));
    let dbg = format!("{report:?}");
    assert!(!dbg.contains("Secret"));
}

#[test]
fn colour_images_become_luminance_with_a_flag_naming_the_file() {
    use dicom_core::DataElement;
    let dir = tempfile::tempdir().unwrap();
    let s = Spec::mr("6.1", "6.1.1", 0.0);
    let mut o = common::object(&s);
    let put = |o: &mut dicom_object::InMemDicomObject, tag, vr, v: PrimitiveValue| {
        o.put(DataElement::new(tag, vr, v));
    };
    put(
        &mut o,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(3_u16),
    );
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("RGB"),
    );
    put(
        &mut o,
        tags::PLANAR_CONFIGURATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    );
    put(
        &mut o,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(8_u16),
    );
    put(
        &mut o,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(8_u16),
    );
    put(&mut o, tags::HIGH_BIT, VR::US, PrimitiveValue::from(7_u16));
    // Pure red, green and blue pixels, then grey.
    let mut rgb = Vec::new();
    for p in 0..12 {
        rgb.extend_from_slice(match p % 4 {
            0 => &[200_u8, 0, 0],
            1 => &[0, 200, 0],
            2 => &[0, 0, 200],
            _ => &[100, 100, 100],
        });
    }
    put(
        &mut o,
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(rgb.into()),
    );
    common::write_object(&dir.path().join("rgb"), o, "6.1.1");
    let report = scan(dir.path()).unwrap();
    let series = report.series().next().unwrap();
    let loaded = load_series(series).unwrap();
    let flag = loaded
        .flags
        .iter()
        .find(|f| f.code == "colour_to_grey")
        .expect("flag");
    assert_eq!(flag.files, vec![std::path::PathBuf::from("rgb")]);
    let SeriesData::Volume(v) = loaded.data else {
        panic!("expected a volume")
    };
    let at = |i| v.get(VoxelIdx::new(i, 0, 0)).unwrap();
    assert!((at(0) - 0.299 * 200.0).abs() < 1e-3);
    assert!((at(1) - 0.587 * 200.0).abs() < 1e-3);
    assert!((at(2) - 0.114 * 200.0).abs() < 1e-3);
    assert!((at(3) - 100.0).abs() < 1e-3);
}

fn nm_spec(sop: &str, frames: u32, image_type: &str) -> Spec {
    let mut s = Spec::mr(&format!("{sop}.s"), sop, 0.0);
    s.modality = "NM".into();
    s.frames = Some(frames);
    s.position = None;
    s.orientation = None;
    s.pixels = Some((0..12 * frames as u16).collect());
    s.extra.push(str_elem(tags::IMAGE_TYPE, VR::CS, image_type));
    s
}

#[test]
fn nm_recon_tomo_is_a_volume_from_the_detector_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = nm_spec("8.1", 3, "ORIGINAL\\PRIMARY\\RECON TOMO\\EMISSION");
    s.pixel_spacing = Some([4.0, 4.0]);
    s.extra.push(ds_elem(tags::SPACING_BETWEEN_SLICES, &[4.0]));
    s.extra.push(dicom_core::DataElement::new(
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::SLICE_VECTOR].into()),
    ));
    s.extra.push(dicom_core::DataElement::new(
        tags::SLICE_VECTOR,
        VR::US,
        PrimitiveValue::U16(vec![1, 2, 3].into()),
    ));
    s.extra.push(seq(
        tags::DETECTOR_INFORMATION_SEQUENCE,
        vec![item(vec![
            ds_elem(tags::IMAGE_POSITION_PATIENT, &[-10.0, -20.0, 30.0]),
            ds_elem(
                tags::IMAGE_ORIENTATION_PATIENT,
                &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            ),
        ])],
    ));
    write(&dir.path().join("tomo"), &s);
    let report = scan(dir.path()).unwrap();
    let series = report.series().next().unwrap();
    assert_eq!(series.layout, SeriesLayout::Volume);
    assert_eq!(series.meta.dims, [4, 3, 3]);
    let g = series.geometry.unwrap();
    assert_eq!(
        g.world_from_voxel.translation.to_array(),
        [-10.0, -20.0, 30.0]
    );
    assert!((g.spacing_mm()[2] - 4.0).abs() < 1e-9);
    assert_eq!(series.meta.nm.as_ref().unwrap().frames[2].slice, Some(3));
    let SeriesData::Volume(v) = load_series(series).unwrap().data else {
        panic!("expected a volume")
    };
    assert_eq!(v.get(VoxelIdx::new(0, 0, 2)), Some(24.0));
}

#[test]
fn nm_frame_vector_of_the_wrong_length_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = nm_spec("8.2", 4, "ORIGINAL\\PRIMARY\\STATIC\\EMISSION");
    s.extra.push(dicom_core::DataElement::new(
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::ENERGY_WINDOW_VECTOR, tags::DETECTOR_VECTOR].into()),
    ));
    s.extra.push(dicom_core::DataElement::new(
        tags::ENERGY_WINDOW_VECTOR,
        VR::US,
        PrimitiveValue::U16(vec![1, 1, 2].into()),
    ));
    write(&dir.path().join("nmbad"), &s);
    let report = scan(dir.path()).unwrap();
    let series = report.series().next().unwrap();
    let f = series
        .flags
        .iter()
        .find(|f| f.code == "nm_frame_vector")
        .expect("flag");
    assert!(
        f.message.contains("EnergyWindowVector has 3 values"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("DetectorVector is missing"),
        "{}",
        f.message
    );
    assert_eq!(f.files, vec![std::path::PathBuf::from("nmbad")]);
    let nm = series.meta.nm.as_ref().unwrap();
    assert_eq!(nm.frames.len(), 4);
    assert!(nm.frames.iter().all(|f| f.energy_window.is_none()));
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..12 {
        let mut s = Spec::mr("7.1", &format!("7.1.{k}"), f64::from(k % 6) * 2.0);
        // Two echoes at six positions, with a gap and a duplicate to produce flags.
        s.echo_time = Some(if k < 6 { 30.0 } else { 90.0 });
        write(&dir.path().join(format!("{:02}", (k * 7) % 12)), &s);
    }
    write(&dir.path().join("dup"), &Spec::mr("7.1", "7.1.0", 0.0));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let r = scan(dir.path()).unwrap();
            let loaded: Vec<String> = r
                .series()
                .map(|s| format!("{:?}", load_series(s).unwrap().flags))
                .collect();
            (serde_json::to_string(&r).unwrap(), loaded)
        })
    };
    let one = run(1);
    assert!(one.0.contains("duplicate_instance"));
    assert_eq!(one, run(4));
}
