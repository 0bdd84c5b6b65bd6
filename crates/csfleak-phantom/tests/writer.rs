//! The volume writer: geometry and voxel values survive a round trip through the files, the
//! files pass dciodvfy and pydicom reads them.
#![allow(clippy::print_stderr, reason = "tests report skipped external tools")]
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on error")]

use std::path::{Path, PathBuf};
use std::process::Command;

use csfleak_phantom::writer::ds;
use csfleak_phantom::{
    Compression, CtParams, Modality, MrParams, SeriesSpec, StudyContext, quantize,
    write_volume_series,
};
use csfleak_volume::{DVec3, Geometry, PointLps, VecLps, Volume, orientation_normal};
use dicom_dictionary_std::tags;
use dicom_pixeldata::PixelDecoder;

/// A non-square, anisotropic, oblique grid with a gradient and a bright block.
fn phantom(modality: Modality) -> Volume {
    let a = 0.25_f64;
    let iop = [a.cos(), a.sin(), 0.0, 0.0, 0.0, -1.0];
    let n = orientation_normal(iop).unwrap();
    let g = Geometry::from_dicom(
        [23, 17, 5],
        PointLps([-31.25, 12.5, 140.0]),
        iop,
        [0.8, 0.65],
        VecLps::from_dvec3(n * 3.3),
    )
    .unwrap();
    let mut v = Volume::zeros(g).unwrap();
    for ((k, j, i), x) in v.data_mut().indexed_iter_mut() {
        let base = (i * 7 + j * 3 + k * 11) as f32 + 0.3;
        *x = match modality {
            Modality::Ct => base * 9.0 - 1000.0,
            _ => base * 5.0,
        };
    }
    v
}

/// Per file: position, orientation, pixel spacing, decoded values.
type ReadBack = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f32>);

fn read_back(files: &[PathBuf]) -> Vec<ReadBack> {
    files
        .iter()
        .map(|f| {
            let obj = dicom_object::open_file(f).unwrap();
            let ipp = obj
                .element(tags::IMAGE_POSITION_PATIENT)
                .unwrap()
                .to_multi_float64()
                .unwrap();
            let iop = obj
                .element(tags::IMAGE_ORIENTATION_PATIENT)
                .unwrap()
                .to_multi_float64()
                .unwrap();
            let ps = obj
                .element(tags::PIXEL_SPACING)
                .unwrap()
                .to_multi_float64()
                .unwrap();
            let pd = obj.decode_pixel_data().unwrap();
            let arr: Vec<f32> = pd.to_vec::<f32>().unwrap();
            (ipp, iop, ps, arr)
        })
        .collect()
}

fn spec(modality: Modality, compression: Compression) -> SeriesSpec {
    match modality {
        Modality::Ct => SeriesSpec::ct(3, "test/ct", "CTM 1.0 Br40", CtParams::default())
            .with_contrast_agent("Iohexol 300"),
        _ => SeriesSpec::mr(2, "test/mr", "脊椎 T2 FS 軸位", MrParams::t2_fs_tse()),
    }
    .with_compression(compression)
}

#[test]
fn geometry_and_values_round_trip_for_every_modality_and_transfer_syntax() {
    let ctx = StudyContext::new(11);
    for modality in [Modality::Mr, Modality::Ct] {
        for compression in [Compression::None, Compression::Rle, Compression::Deflate] {
            let dir = tempfile::tempdir().unwrap();
            let v = phantom(modality);
            let files =
                write_volume_series(dir.path(), &ctx, &spec(modality, compression), &v).unwrap();
            assert_eq!(files.len(), 5);
            let g = v.geometry();
            let [di, dj, _] = g.directions();
            let [si, sj, _] = g.spacing_mm();
            for (k, (ipp, iop, ps, px)) in read_back(&files).into_iter().enumerate() {
                let want = g
                    .world_from_voxel
                    .transform_point3(DVec3::new(0.0, 0.0, k as f64));
                for a in 0..3 {
                    assert!(
                        (ipp[a] - want[a]).abs() < 1e-6,
                        "{modality:?} {compression:?} ipp"
                    );
                    assert!((iop[a] - di[a]).abs() < 1e-9);
                    assert!((iop[a + 3] - dj[a]).abs() < 1e-9);
                }
                assert!((ps[0] - sj).abs() < 1e-9 && (ps[1] - si).abs() < 1e-9);
                let slice = v.data().index_axis(ndarray::Axis(0), k);
                let want: Vec<f32> = slice.iter().map(|&x| quantize(modality, x)).collect();
                assert_eq!(px, want, "{modality:?} {compression:?} slice {k}");
            }
        }
    }
}

#[test]
fn same_seed_gives_identical_bytes_and_names() {
    let ctx = StudyContext::new(5);
    let v = phantom(Modality::Mr);
    let s = spec(Modality::Mr, Compression::Rle);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let fa = write_volume_series(a.path(), &ctx, &s, &v).unwrap();
    let fb = write_volume_series(b.path(), &ctx, &s, &v).unwrap();
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.file_name(), y.file_name());
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
    }
    // File names carry no order: not sorted like the slices.
    let names: Vec<_> = fa
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_ne!(names, sorted);
}

#[test]
fn decimal_strings_are_valid() {
    for x in [-1_234.567_890_123, 0.999_999_999_9, 1e-12] {
        assert!(ds(x).len() <= 16);
    }
}

/// A missing external tool fails the test under CI=true and is skipped loudly otherwise.
fn skip_missing(name: &str) {
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{name} is required when CI=true (run scripts/setup-test-deps.sh)"
    );
    eprintln!("SKIPPED: {name} not found; run scripts/setup-test-deps.sh");
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run dciodvfy on a file; returns the lines with "Error".
pub(crate) fn dciodvfy_errors(file: &Path) -> Option<Vec<String>> {
    let out = Command::new("dciodvfy").arg(file).output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if std::env::var_os("SHOW_DCIODVFY").is_some() {
        eprintln!("{text}");
    }
    Some(
        text.lines()
            .filter(|l| l.starts_with("Error"))
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn dciodvfy_reports_no_errors_on_mr_and_ct() {
    let ctx = StudyContext::new(3);
    for modality in [Modality::Mr, Modality::Ct] {
        let dir = tempfile::tempdir().unwrap();
        let files = write_volume_series(
            dir.path(),
            &ctx,
            &spec(modality, Compression::None),
            &phantom(modality),
        )
        .unwrap();
        let Some(errors) = dciodvfy_errors(&files[0]) else {
            skip_missing("dciodvfy");
            return;
        };
        assert!(errors.is_empty(), "{modality:?}: {errors:#?}");
    }
}

#[test]
fn pydicom_reads_every_file_and_its_pixels() {
    let py = repo_root().join(".cache/venv/bin/python");
    if !py.exists() {
        skip_missing("pydicom venv (.cache/venv)");
        return;
    }
    let ctx = StudyContext::new(9);
    let dir = tempfile::tempdir().unwrap();
    for modality in [Modality::Mr, Modality::Ct] {
        for compression in [Compression::None, Compression::Rle, Compression::Deflate] {
            let key = format!("{modality:?}/{compression:?}");
            let mut s = spec(modality, compression);
            s.key = key;
            write_volume_series(dir.path(), &ctx, &s, &phantom(modality)).unwrap();
        }
    }
    let script = r"
import sys, pathlib, pydicom
n = 0
for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    ds = pydicom.dcmread(p)
    a = ds.pixel_array
    assert a.shape == (ds.Rows, ds.Columns), p
    n += 1
print(n)
";
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "30");
}
