//! With the landmarks given in a file, every measurement equals the geometric truth of the
//! phantom model (0.1 mm / 0.5 degree), for oblique and anisotropic series, in every supported
//! file format and coordinate system.
#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

use std::fmt::Write as _;

use csfleak_brain::landmarks::{
    parse_fcsv, parse_markups_json, parse_points_json, read_landmark_file,
};
use csfleak_brain::{BrainInputs, BrainOptions, ImportedPoints, analyze};
use csfleak_findings::LandmarkSource;
use csfleak_phantom::brain::{BrainOptions as PhantomOptions, BrainPhantom, BrainTruth};
use csfleak_volume::DVec3;

const MM_TOL: f64 = 0.1;
const DEG_TOL: f64 = 0.5;

fn phantoms() -> Vec<BrainPhantom> {
    [
        PhantomOptions::default(),
        PhantomOptions::default()
            .with_sag(5.0)
            .with_oblique(17.0)
            .with_slice_factor(1.6),
        PhantomOptions::default()
            .with_sag(9.0)
            .with_head_rotation([6.0, -4.0, 9.0])
            .with_oblique(-11.0)
            .with_slice_factor(0.7),
    ]
    .iter()
    .map(|o| BrainPhantom::new(o).unwrap())
    .collect()
}

fn markups_ras(t: &BrainTruth) -> String {
    let pts: Vec<String> = t
        .landmarks
        .iter()
        .map(|(k, p)| {
            format!(
                r#"{{"id":"{k}","label":"{k}","position":[{},{},{}],"positionStatus":"defined"}}"#,
                -p[0], -p[1], p[2]
            )
        })
        .collect();
    format!(
        r#"{{"@schema":"https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#",
        "markups":[{{"type":"Fiducial","coordinateSystem":"RAS","coordinateUnits":"mm","controlPoints":[{}]}}]}}"#,
        pts.join(",")
    )
}

fn fcsv_lps(t: &BrainTruth) -> String {
    let mut s = String::from(
        "# Markups fiducial file version = 4.10\n# CoordinateSystem = LPS\n\
         # columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n",
    );
    for (i, (k, p)) in t.landmarks.iter().enumerate() {
        writeln!(
            s,
            "vtkMRMLMarkupsFiducialNode_{i},{},{},{},0,0,0,1,1,1,0,{k},,",
            p[0], p[1], p[2]
        )
        .unwrap();
    }
    s
}

fn points_ijk(ph: &BrainPhantom) -> String {
    let g = ph.sagittal_geometry().unwrap();
    let vfw = g.voxel_from_world();
    let pts: Vec<String> = ph
        .truth
        .landmarks
        .iter()
        .map(|(k, p)| {
            let c = vfw.transform_point3(DVec3::from_array(*p));
            format!(r#""{k}": {{"ijk": [{}, {}, {}]}}"#, c.x, c.y, c.z)
        })
        .collect();
    format!(r#"{{"points": {{{}}}}}"#, pts.join(","))
}

fn check(t: &BrainTruth, pts: ImportedPoints, what: &str) {
    let inputs = BrainInputs {
        imported: vec![pts],
        ..BrainInputs::default()
    };
    let a = analyze(&inputs, &BrainOptions::default()).unwrap();
    let f = &a.findings;
    let m = &a.measurements;
    let close = |name: &str, got: Option<f64>, want: f64, tol: f64| {
        let got = got.unwrap_or_else(|| panic!("{what}: {name} not measured"));
        assert!(
            (got - want).abs() <= tol,
            "{what}: {name} = {got}, truth {want}"
        );
    };
    close(
        "mpd",
        f.mamillopontine_distance_mm.map(|x| x.0),
        t.mamillopontine_distance_mm,
        MM_TOL,
    );
    close(
        "pma",
        f.pontomesencephalic_angle_deg.map(|x| x.0),
        t.pontomesencephalic_angle_deg,
        DEG_TOL,
    );
    close(
        "suprasellar",
        f.suprasellar_cistern_mm.map(|x| x.0),
        t.suprasellar_cistern_mm,
        MM_TOL,
    );
    close(
        "prepontine",
        f.prepontine_cistern_mm.map(|x| x.0),
        t.prepontine_cistern_mm,
        MM_TOL,
    );
    close(
        "tonsil",
        f.tonsil_below_mcrae_mm.map(|x| x.0),
        t.tonsil_below_mcrae_mm,
        MM_TOL,
    );
    close(
        "iter",
        m.iter_below_incisural_line_mm.value(),
        t.iter_below_incisural_line_mm,
        MM_TOL,
    );
    close(
        "pituitary",
        m.pituitary_height_mm.value(),
        t.pituitary_height_mm,
        MM_TOL,
    );
    assert_eq!(f.landmark_source, Some(LandmarkSource::Imported), "{what}");
    // The phantom has no axial interpeduncular landmarks: not assessable, with the reason.
    assert!(
        m.interpeduncular_angle_rad
            .reason()
            .is_some_and(|r| r.contains("ipa_vertex")),
        "{what}"
    );
}

#[test]
fn measurements_equal_geometric_truth_in_every_format() {
    for ph in phantoms() {
        let t = &ph.truth;
        check(
            t,
            parse_markups_json(&markups_ras(t), "mrk").unwrap(),
            "mrk.json RAS",
        );
        check(t, parse_fcsv(&fcsv_lps(t), "fcsv").unwrap(), "fcsv LPS");
        let g = ph.sagittal_geometry().unwrap();
        check(
            t,
            parse_points_json(&points_ijk(&ph), "ijk", Some(&g)).unwrap(),
            "points JSON ijk on the oblique anisotropic grid",
        );
    }
}

#[test]
fn files_are_recognised_by_name_and_content() {
    let ph = BrainPhantom::new(&PhantomOptions::default().with_sag(3.0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mrk = dir.path().join("reader.mrk.json");
    std::fs::write(&mrk, markups_ras(&ph.truth)).unwrap();
    let fcsv = dir.path().join("reader.FCSV");
    std::fs::write(&fcsv, fcsv_lps(&ph.truth)).unwrap();
    for p in [&mrk, &fcsv] {
        check(&ph.truth, read_landmark_file(p, None).unwrap(), "file");
    }
    let missing = dir.path().join("absent.json");
    let err = read_landmark_file(&missing, None).unwrap_err();
    assert!(format!("{err}").contains("absent.json"));
}

#[test]
fn bern_items_follow_the_measurements() {
    // Sag 9 mm: effaced cisterns and a short MPD; every mm item must match its threshold.
    let ph = BrainPhantom::new(&PhantomOptions::default().with_sag(9.0)).unwrap();
    let pts = parse_markups_json(&markups_ras(&ph.truth), "mrk").unwrap();
    let a = analyze(
        &BrainInputs {
            imported: vec![pts],
            ..BrainInputs::default()
        },
        &BrainOptions::default(),
    )
    .unwrap();
    for item in &a.bern.items {
        if let (Some(v), Some(thr)) = (item.value_mm, item.threshold_mm) {
            assert_eq!(item.positive, Some(v <= thr), "{:?}", item.id);
            let u = item.uncertainty_mm.unwrap();
            assert_eq!(item.borderline, (v - thr).abs() <= u, "{:?}", item.id);
        } else {
            // No images: the image signs are not assessable, never "absent".
            assert_eq!(item.positive, None, "{:?}", item.id);
            assert!(item.reason.is_some());
        }
    }
    assert!(a.bern.score.is_none());
    assert!(a.bern.score_max >= a.bern.score_min + 5);
}

/// The interpeduncular angle (axial) from imported points: the phantom draws no peduncles, so
/// three points of known angle are placed in a tilted axial plane of each oblique anisotropic
/// grid and given as voxel indices and as RAS markups.
#[test]
fn interpeduncular_angle_from_points_on_oblique_anisotropic_grids() {
    for (n, ph) in phantoms().iter().enumerate() {
        let want = 30.0 + 12.0 * n as f64;
        let half = want.to_radians() / 2.0;
        // Vertex in front of the pons; the two peduncle points 14 mm behind it.
        let v = ph.world_from_head([0.0, -2.0, 38.0]).to_dvec3();
        let at = |x: f64, y: f64| ph.world_from_head([x, y, 38.0]).to_dvec3();
        let (l, r) = (at(14.0 * half.tan(), 12.0), at(-14.0 * half.tan(), 12.0));
        let g = ph.sagittal_geometry().unwrap();
        let vfw = g.voxel_from_world();
        let ijk = |p: DVec3| {
            let c = vfw.transform_point3(p);
            format!(r#"{{"ijk": [{}, {}, {}]}}"#, c.x, c.y, c.z)
        };
        let json = format!(
            r#"{{"points": {{"ipa_vertex": {}, "ipa_left": {}, "ipa_right": {}}}}}"#,
            ijk(v),
            ijk(l),
            ijk(r)
        );
        let ras = |p: DVec3| [-p.x, -p.y, p.z];
        let markups = format!(
            r#"{{"markups": [{{"type": "Fiducial", "coordinateSystem": "RAS", "controlPoints": [
                {{"label": "ipa_vertex", "position": {:?}}},
                {{"label": "ipa_left", "position": {:?}}},
                {{"label": "ipa_right", "position": {:?}}}]}}]}}"#,
            ras(v),
            ras(l),
            ras(r)
        );
        for pts in [
            parse_points_json(&json, "ijk", Some(&g)).unwrap(),
            parse_markups_json(&markups, "mrk").unwrap(),
        ] {
            let inputs = BrainInputs {
                imported: vec![pts],
                ..BrainInputs::default()
            };
            let a = analyze(&inputs, &BrainOptions::default()).unwrap();
            let got = a.findings.interpeduncular_angle_deg.map(|d| d.0);
            assert!(
                got.is_some_and(|d| (d - want).abs() <= DEG_TOL),
                "phantom {n}: IPA {got:?} vs {want}"
            );
        }
    }
}
