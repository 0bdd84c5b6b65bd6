//! `csfleak convert` end to end.
//!
//! Series are written with `csfleak-phantom`'s DICOM writer (meaningless hex file names, one
//! file per slice) from volumes with a known voxel pattern and geometry; the NIfTI header is
//! parsed here by hand so that this test shares no code with the writer it checks.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::path::{Path, PathBuf};

use csfleak_phantom::{
    CtParams, Modality, MrParams, SeriesSpec, StudyContext, quantize, write_volume_series,
};
use csfleak_volume::{
    DVec3, Geometry, PointLps, VecLps, Volume, VoxelIdx, orientation_normal, ras_from_lps,
};

use super::csfleak;

/// An oblique, non-square MR grid and an axial CT grid.
fn grids() -> (Geometry, Geometry) {
    let a = 20.0_f64.to_radians();
    let b = 12.0_f64.to_radians();
    let row = DVec3::new(a.cos(), a.sin(), 0.0);
    let col0 = DVec3::new(-a.sin() * b.cos(), a.cos() * b.cos(), -b.sin());
    let col = (col0 - row * row.dot(col0)).normalize_or_zero();
    let iop = [row.x, row.y, row.z, col.x, col.y, col.z];
    let n = orientation_normal(iop).unwrap();
    let mr = Geometry::from_dicom(
        [24, 18, 6],
        PointLps([-30.25, 10.5, 44.0]),
        iop,
        [1.1, 0.7],
        VecLps::from_dvec3(n * 3.5),
    )
    .unwrap();
    let ct = Geometry::from_dicom(
        [20, 16, 5],
        PointLps([-60.0, -45.0, -120.0]),
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        [0.8, 0.6],
        VecLps([0.0, 0.0, 2.0]),
    )
    .unwrap();
    (mr, ct)
}

/// Values that differ at every voxel, so any flip or shift shows.
fn patterned(g: Geometry, offset: f32) -> Volume {
    let mut v = Volume::zeros(g).unwrap();
    let [ni, nj, nk] = g.dims;
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let x = f32::from(u16::try_from(i + 31 * j + 577 * k).unwrap());
                v.set(VoxelIdx::new(i, j, k), x + offset);
            }
        }
    }
    v
}

struct Study {
    dir: tempfile::TempDir,
    ctx: StudyContext,
    mr: Volume,
    ct: Volume,
    ct_files: Vec<PathBuf>,
}

fn write_study() -> Study {
    let dir = tempfile::tempdir().unwrap();
    let ctx = StudyContext::new(4242);
    let (gm, gc) = grids();
    let mr = patterned(gm, 100.0);
    let ct = patterned(gc, -900.0);
    let dicom = dir.path().join("dicom");
    write_volume_series(
        &dicom,
        &ctx,
        &SeriesSpec::mr(3, "t2", "T2 FS oblique", MrParams::t2_fs_tse()),
        &mr,
    )
    .unwrap();
    let ct_files = write_volume_series(
        &dicom,
        &ctx,
        &SeriesSpec::ct(7, "ct", "CT myelo", CtParams::default()),
        &ct,
    )
    .unwrap();
    Study {
        dir,
        ctx,
        mr,
        ct,
        ct_files,
    }
}

/// The parts of an uncompressed NIfTI-1 file this test checks.
struct Nii {
    dims: Vec<usize>,
    datatype: i16,
    srow: [[f64; 4]; 3],
    codes: (i16, i16),
    values: Vec<f64>,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_le_bytes([b[at], b[at + 1]])
}
fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_nii(path: &Path) -> Nii {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[344..348], b"n+1\0", "magic of {}", path.display());
    let ndim = usize::try_from(i16_at(&b, 40)).unwrap();
    let dims: Vec<usize> = (0..ndim)
        .map(|n| usize::try_from(i16_at(&b, 42 + 2 * n)).unwrap())
        .collect();
    let datatype = i16_at(&b, 70);
    let mut srow = [[0.0; 4]; 3];
    for (r, row) in srow.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = f64::from(f32_at(&b, 280 + 16 * r + 4 * c));
        }
    }
    let offset = f32_at(&b, 108);
    assert_eq!(offset, 352.0);
    assert_eq!(f32_at(&b, 112), 1.0, "scl_slope");
    let data = &b[352..];
    let values: Vec<f64> = match datatype {
        4 => data
            .chunks_exact(2)
            .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        16 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        other => panic!("unexpected datatype {other}"),
    };
    Nii {
        dims,
        datatype,
        srow,
        codes: (i16_at(&b, 252), i16_at(&b, 254)),
        values,
    }
}

fn outputs(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v
}

/// Check dims, the affine at every voxel centre and every value.
fn check_volume(nii: &Nii, vol: &Volume, modality: Modality) {
    let [ni, nj, nk] = vol.dims();
    assert_eq!(nii.dims, vec![ni, nj, nk]);
    assert_eq!(nii.codes, (1, 1), "qform_code, sform_code");
    let g = vol.geometry();
    let ras = ras_from_lps();
    let mut n = 0;
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let want = ras.transform_point3(g.voxel_center(VoxelIdx::new(i, j, k)).to_dvec3());
                let ijk = [i as f64, j as f64, k as f64, 1.0];
                for (axis, row) in nii.srow.iter().enumerate() {
                    let got: f64 = row.iter().zip(ijk).map(|(a, b)| a * b).sum();
                    assert!(
                        (got - want[axis]).abs() < 1e-3,
                        "voxel ({i},{j},{k}) axis {axis}: {got} vs {}",
                        want[axis]
                    );
                }
                let v = vol.get(VoxelIdx::new(i, j, k)).unwrap();
                assert_eq!(
                    nii.values[n],
                    f64::from(quantize(modality, v)),
                    "voxel ({i},{j},{k})"
                );
                n += 1;
            }
        }
    }
    assert_eq!(nii.values.len(), n);
}

#[test]
fn convert_writes_one_nifti_and_sidecar_per_series() {
    let s = write_study();
    let out = s.dir.path().join("out");
    let res = csfleak()
        .args(["convert", "--no-compress", "--out"])
        .arg(&out)
        .arg(s.dir.path().join("dicom"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        res.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let niis = outputs(&out, ".nii");
    let jsons = outputs(&out, ".json");
    assert_eq!(niis.len(), 2, "{niis:?}");
    assert_eq!(jsons.len(), 2, "{jsons:?}");
    // Series number first in the name, so the MR (#3) sorts before the CT (#7).
    let mr_name = niis[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(mr_name.starts_with("0003_T2_FS_oblique_"), "{mr_name}");
    assert!(
        niis[1]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("0007_CT_myelo_")
    );

    let mr = read_nii(&niis[0]);
    assert_eq!(mr.datatype, 4, "integral MR values are stored as int16");
    check_volume(&mr, &s.mr, Modality::Mr);
    let ct = read_nii(&niis[1]);
    check_volume(&ct, &s.ct, Modality::Ct);

    let side: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&jsons[1]).unwrap()).unwrap();
    assert_eq!(side["Modality"], "CT");
    assert_eq!(side["SeriesNumber"], 7);
    assert_eq!(side["ConversionSoftware"], "csfleak");
    assert_eq!(
        side["csfleak"]["nifti"]["dims"],
        serde_json::json!([20, 16, 5])
    );
    let mr_side: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&jsons[0]).unwrap()).unwrap();
    // BIDS times are in seconds.
    let te = mr_side["EchoTime"].as_f64().unwrap();
    assert!(te > 0.0 && te < 1.0, "EchoTime {te} s");

    // No patient identifiers in any output file or name.
    for p in niis.iter().chain(&jsons) {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        for phi in [
            &s.ctx.patient_name,
            &s.ctx.patient_id,
            &s.ctx.patient_birth_date,
        ] {
            assert!(!phi.is_empty());
            assert!(
                !text.contains(phi.as_str()),
                "{} contains {phi}",
                p.display()
            );
            assert!(!p.to_string_lossy().contains(phi.as_str()));
        }
    }
    assert!(stdout.contains("ok "), "{stdout}");
}

#[test]
fn default_output_is_gzipped() {
    let s = write_study();
    let out = s.dir.path().join("out");
    let res = csfleak()
        .arg("convert")
        .arg(s.dir.path().join("dicom"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(res.status.success());
    let gz = outputs(&out, ".nii.gz");
    assert_eq!(gz.len(), 2);
    for p in &gz {
        let b = std::fs::read(p).unwrap();
        assert_eq!(&b[..2], &[0x1f, 0x8b], "gzip magic in {}", p.display());
    }
}

#[test]
fn a_failing_series_is_reported_and_the_others_are_written() {
    let s = write_study();
    // Cut the pixel data of one CT file: the header still indexes, the pixels cannot decode.
    let victim = &s.ct_files[2];
    let len = std::fs::metadata(victim).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .unwrap();
    f.set_len(len - 200).unwrap();
    drop(f);
    let out = s.dir.path().join("out");
    let res = csfleak()
        .args(["convert", "--no-compress", "--out"])
        .arg(&out)
        .arg(s.dir.path().join("dicom"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(
        stdout.contains("#7"),
        "the failed series is named: {stdout}"
    );
    assert!(stderr.contains("1 failed"), "{stderr}");
    let niis = outputs(&out, ".nii");
    assert_eq!(niis.len(), 1, "the MR is still converted: {niis:?}");
    check_volume(&read_nii(&niis[0]), &s.mr, Modality::Mr);
    // Nothing half-written is left behind.
    assert!(
        std::fs::read_dir(&out).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
}

#[test]
fn quiet_prints_only_the_failures_and_names_the_file() {
    let s = write_study();
    let victim = &s.ct_files[1];
    let len = std::fs::metadata(victim).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .unwrap();
    f.set_len(len - 100).unwrap();
    drop(f);
    let out = s.dir.path().join("out");
    let res = csfleak()
        .args(["-q", "convert", "--out"])
        .arg(&out)
        .arg(s.dir.path().join("dicom"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.trim().is_empty(),
        "quiet: nothing on stderr: {stderr}"
    );
    assert!(!stdout.contains("ok "), "quiet: no success lines: {stdout}");
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stdout.contains("FAILED") && stdout.contains(&name),
        "the failure names the file {name}: {stdout}"
    );
    assert_eq!(outputs(&out, ".nii.gz").len(), 1, "the MR is still written");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let res = csfleak()
        .arg("convert")
        .arg(dir.path().join("does-not-exist"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("not a folder"));
    let res = csfleak().arg("convert").arg(dir.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(2), "missing --out");
}

#[test]
fn a_folder_without_images_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not DICOM").unwrap();
    let res = csfleak()
        .arg("convert")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("no DICOM image series"));
}

#[test]
fn nm_planar_frames_become_a_4d_nifti_with_timing_in_the_sidecar() {
    use csfleak_phantom::cisterno::{self, CisternoOptions};
    let dir = tempfile::tempdir().unwrap();
    let dicom = dir.path().join("dicom");
    std::fs::create_dir_all(&dicom).unwrap();
    let study = cisterno::simulate(
        &CisternoOptions::default().with_time_points(&[1.0, 24.0]),
        11,
    )
    .unwrap();
    let ctx = StudyContext::new(77);
    for index in 0..2 {
        cisterno::nm::write_time_point(
            &dicom,
            &ctx,
            &study,
            index,
            20 + u32::try_from(index).unwrap(),
            csfleak_phantom::Vendor::default(),
            csfleak_phantom::Compression::None,
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let res = csfleak()
        .args(["convert", "--no-compress", "--out"])
        .arg(&out)
        .arg(&dicom)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    let niis = outputs(&out, ".nii");
    let jsons = outputs(&out, ".json");
    assert_eq!(niis.len(), 2, "{niis:?}");
    for (index, (nii_path, json_path)) in niis.iter().zip(&jsons).enumerate() {
        let nii = read_nii(nii_path);
        let tp = &study.time_points[index];
        let (rows, cols) = tp.counts[0].dim();
        assert_eq!(nii.dims, vec![cols, rows, 1, 2], "{}", nii_path.display());
        assert_eq!(nii.codes, (0, 0), "planar frames have no patient transform");
        for (f, frame) in tp.counts.iter().enumerate() {
            for ((r, c), &v) in frame.indexed_iter() {
                assert_eq!(nii.values[(f * rows + r) * cols + c], f64::from(v));
            }
        }
        let side: serde_json::Value =
            serde_json::from_slice(&std::fs::read(json_path).unwrap()).unwrap();
        assert_eq!(side["Modality"], "NM");
        let h = side["TimeSinceInjection_h"].as_f64().unwrap();
        assert!((h - tp.hours).abs() < 0.02, "{h} h vs {} h", tp.hours);
        assert!(side["FrameDuration"].as_f64().unwrap() > 0.0);
        assert!(side["RadionuclideHalfLife"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn output_bytes_do_not_depend_on_the_thread_count() {
    let s = write_study();
    let mut runs = Vec::new();
    for threads in ["1", "3"] {
        let out = s.dir.path().join(format!("out{threads}"));
        let res = csfleak()
            .args(["--threads", threads, "convert", "--out"])
            .arg(&out)
            .arg(s.dir.path().join("dicom"))
            .output()
            .unwrap();
        assert!(res.status.success());
        let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        assert_eq!(files.len(), 4);
        runs.push(files);
    }
    assert!(
        runs[0] == runs[1],
        "gzip pieces or sidecars differ between 1 and 3 threads"
    );
}
