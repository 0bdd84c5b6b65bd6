//! `csfleak batch` end to end: discovery by UID, per-study folders, tables, determinism,
//! one failing study, kill -9 and --resume.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on a broken fixture"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::analyze::{assert_absent, files_under, identifiers, phantom, read_json, stderr};
use crate::csfleak;

/// Three studies (different seeds: different UIDs and patients).
const SCENARIOS: [(&str, u64); 3] = [
    ("spine-mri-ventral-leak", 1),
    ("spine-mri-normal", 2),
    ("spine-ctm-normal", 3),
];

fn copy_tree(from: &Path, to: &Path) {
    for f in files_under(from) {
        let rel = f.strip_prefix(from).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}

/// A batch root holding the three studies in folders whose names say nothing about the
/// studies (one study's files split over two folders, to check discovery by UID).
fn root(tmp: &Path) -> PathBuf {
    let root = tmp.join("root");
    for (i, (s, seed)) in SCENARIOS.iter().enumerate() {
        copy_tree(&phantom(s, *seed), &root.join(format!("disk{i}")));
    }
    // Move half of the first study's files into another folder.
    let first = files_under(&root.join("disk0"));
    let moved = root.join("elsewhere");
    std::fs::create_dir_all(&moved).unwrap();
    for (n, f) in first.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
        std::fs::rename(f, moved.join(format!("f{n}"))).unwrap();
    }
    root
}

fn batch(root: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    csfleak()
        .arg("batch")
        .arg(root)
        .arg("--out")
        .arg(out)
        .args(["--outputs", "json,html"])
        .args(extra)
        .output()
        .unwrap()
}

fn study_dirs(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn batch_is_deterministic_across_jobs_and_survives_a_failing_study() {
    let tmp = tempfile::tempdir().unwrap();
    let root = root(tmp.path());
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    let o1 = batch(&root, &one, &["--jobs", "1"]);
    assert!(o1.status.success(), "{}", stderr(&o1));
    let o2 = batch(&root, &two, &["--jobs", "2"]);
    assert!(o2.status.success(), "{}", stderr(&o2));

    // Three studies by UID (four folders of files), folders named by a 16-hex hash.
    let dirs = study_dirs(&one);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    for d in &dirs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        assert!(d.join(".done").is_file());
        let a = std::fs::read(d.join("findings.json")).unwrap();
        let b = std::fs::read(two.join(&name).join("findings.json")).unwrap();
        assert!(
            a == b,
            "findings.json of {name} differs between --jobs 1 and 2"
        );
        let a = std::fs::read(d.join("assessment.json")).unwrap();
        let b = std::fs::read(two.join(&name).join("assessment.json")).unwrap();
        assert!(
            a == b,
            "assessment.json of {name} differs between --jobs 1 and 2"
        );
    }
    let s1 = std::fs::read_to_string(one.join("summary.csv")).unwrap();
    let s2 = std::fs::read_to_string(two.join("summary.csv")).unwrap();
    assert_eq!(s1, s2);
    let lines: Vec<&str> = s1.lines().collect();
    assert_eq!(lines.len(), 4, "{s1}");
    assert!(lines[0].starts_with("study_key,study_instance_uid,study_date,"));
    assert!(
        lines[0].contains("spine_max_thickness_mm")
            && lines[0].contains("ri_retention_24h_raw_pct")
    );
    assert_eq!(
        std::fs::read_to_string(one.join("errors.csv")).unwrap(),
        "study_key,n_series,error\n"
    );
    // No patient identifiers anywhere.
    let ids: Vec<String> = SCENARIOS
        .iter()
        .flat_map(|(_, seed)| identifiers(*seed))
        .collect();
    assert_absent(&one, &ids);

    // One study whose output cannot be written: the others still finish, exit code 1.
    let three = tmp.path().join("three");
    std::fs::create_dir_all(&three).unwrap();
    let blocked = dirs[1].file_name().unwrap().to_owned();
    std::fs::write(three.join(&blocked), "in the way").unwrap();
    let o3 = batch(&root, &three, &["--jobs", "2"]);
    assert_eq!(o3.status.code(), Some(1), "{}", stderr(&o3));
    assert_eq!(study_dirs(&three).len(), 2);
    let errors = std::fs::read_to_string(three.join("errors.csv")).unwrap();
    assert_eq!(errors.lines().count(), 2, "{errors}");
    assert!(errors.contains(&*blocked.to_string_lossy()));
    let summary = std::fs::read_to_string(three.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3);
}

#[test]
fn killed_batch_resumes_without_redoing_finished_studies() {
    let tmp = tempfile::tempdir().unwrap();
    let root = root(tmp.path());
    let reference = tmp.path().join("reference");
    let r = batch(&root, &reference, &["--jobs", "1"]);
    assert!(r.status.success(), "{}", stderr(&r));

    let out = tmp.path().join("killed");
    let mut child = csfleak()
        .arg("batch")
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .args(["--outputs", "json,html", "--jobs", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill (SIGKILL) as soon as the first study is finished.
    let deadline = Instant::now() + Duration::from_secs(120);
    let first_done = loop {
        let done: Vec<PathBuf> = if out.is_dir() {
            study_dirs(&out)
                .into_iter()
                .filter(|d| d.join(".done").is_file())
                .collect()
        } else {
            Vec::new()
        };
        if let Some(d) = done.first() {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "no study finished in time");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    let _ = child.wait();
    let before = std::fs::metadata(first_done.join("findings.json"))
        .unwrap()
        .modified()
        .unwrap();

    let resumed = batch(&root, &out, &["--jobs", "2", "--resume"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("finished earlier"),
        "{}",
        stderr(&resumed)
    );
    let after = std::fs::metadata(first_done.join("findings.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a finished study was redone");
    assert_eq!(
        std::fs::read_to_string(out.join("summary.csv")).unwrap(),
        std::fs::read_to_string(reference.join("summary.csv")).unwrap()
    );
    for d in study_dirs(&reference) {
        let name = d.file_name().unwrap();
        assert_eq!(
            std::fs::read(d.join("findings.json")).unwrap(),
            std::fs::read(out.join(name).join("findings.json")).unwrap()
        );
    }
    // Nothing partial or temporary is left.
    for f in files_under(&out) {
        let s = f.to_string_lossy();
        assert!(!s.contains(".partial-") && !s.contains(".tmp-"), "{s}");
    }
    let summary = read_json_free_check(&out);
    assert_eq!(summary, 3);
}

/// Rows in summary.csv (without the header).
fn read_json_free_check(out: &Path) -> usize {
    let text = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows = text.lines().count() - 1;
    for d in study_dirs(out) {
        let f = read_json(&d.join("findings.json"));
        assert_eq!(f["schema_version"], "1");
    }
    rows
}

#[test]
fn batch_usage_errors_exit_2_and_an_empty_root_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = batch(&tmp.path().join("missing"), &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = batch(&empty, &out, &["--jobs", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = batch(&empty, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no DICOM study"), "{}", stderr(&o));
}
