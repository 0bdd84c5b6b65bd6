//! `report.html`: one self-contained page (images embedded as base64 PNG, no scripts, no
//! external resources) that a radiologist can open from a share.
//!
//! Sections, each labelled in Japanese and English: study summary and series, the grade and
//! why (graded findings, rule trace), the measurement families (measured or not assessable
//! with the reason), raw values of every findings section, the RI time-activity curve, Bern
//! items, J007-2 claim text, each finding with evidence beside its raw values and the overlay
//! it links to, the other overlay images, and warnings (unverified rules that decided a
//! grade, borderline values, quality flags, not-assessable inputs).
//!
//! The assessment is taken as JSON (`assessment.json`'s value) so that this crate needs no
//! dependency on the criteria checker; missing keys render as "—".

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use csfleak_findings::Findings;
use serde_json::Value;

use crate::Result;

/// An image to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportImage {
    /// Stem (anchor id and overlay file name without `.png`).
    pub name: String,
    /// Caption.
    pub title: String,
    /// Orientation note shown under the caption.
    pub note: String,
    /// PNG bytes.
    pub png: Vec<u8>,
}

/// What happened to one measurement family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyStatus {
    /// Stable id (`"spine_mri"`, `"ri_cisternography"`...).
    pub id: String,
    /// Japanese name.
    pub name_ja: String,
    /// English name.
    pub name_en: String,
    /// Whether it measured anything.
    pub measured: bool,
    /// Why not (for `measured == false`), or a note.
    pub reason: Option<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The findings.
    pub findings: &'a Findings,
    /// `assessment.json` as JSON.
    pub assessment: &'a Value,
    /// Images, in display order.
    pub images: &'a [ReportImage],
    /// Measurement families.
    pub families: &'a [FamilyStatus],
    /// Extra warnings from the pipeline.
    pub warnings: &'a [String],
}

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |n: u32, shift: u32| ALPHABET[(n >> shift & 63) as usize];
    let mut out: Vec<u8> = Vec::new();
    // The output size follows from bytes already in memory (not from a file header).
    out.reserve_exact(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[sym(n, 18), sym(n, 12), sym(n, 6), sym(n, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[sym(n, 18), sym(n, 12), b'=', b'=']);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[sym(n, 18), sym(n, 12), sym(n, 6), b'=']);
        }
        _ => {}
    }
    // Every byte is from the ASCII alphabet above.
    String::from_utf8(out).unwrap_or_default()
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK JP','Hiragino Sans',sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em;border-bottom:2px solid #345}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #bbc}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccd;padding:.2em .5em;vertical-align:top;font-size:.92em}
th{background:#eef1f5;text-align:left}.grade{font-size:1.3em;font-weight:bold;padding:.4em .8em;background:#f4f0e0;border:1px solid #cb9;display:inline-block}
.warn{background:#fff4e0;border-left:4px solid #e90;padding:.3em .6em;margin:.2em 0}.na{color:#a50}.ok{color:#272}
figure{display:inline-block;margin:.5em;vertical-align:top;max-width:100%}figure img{max-width:100%;image-rendering:auto;border:1px solid #444;background:#000}
figcaption{font-size:.9em;max-width:520px}.small{font-size:.82em;color:#555}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
code{font-size:.9em}";

fn dash(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) => escape(s),
        Some(Value::Bool(b)) => if *b { "true" } else { "false" }.to_owned(),
        Some(Value::Number(n)) => escape(&n.to_string()),
        Some(other) => format!("<code>{}</code>", escape(&other.to_string())),
    }
}

fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |cur, key| cur.get(key))
}

fn grade_label(v: Option<&Value>) -> String {
    match v.and_then(Value::as_str) {
        Some(g) => {
            let en = match g {
                "確定" => "definitive",
                "確実" => "definite",
                "強疑" => "strongly suspected",
                "疑" => "suspected",
                "参考" => "reference only",
                _ => "",
            };
            format!("{} ({en})", escape(g))
        }
        None => "該当なし / none".to_owned(),
    }
}

fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
}

/// Flatten a JSON value into `(dotted path, leaf)` rows, skipping empty arrays.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        leaf => out.push((prefix.to_owned(), leaf.clone())),
    }
}

fn study_section(out: &mut String, f: &Findings) {
    out.push_str("<h2>検査概要 / Study</h2>\n<table>\n");
    let s = &f.study;
    row(
        out,
        "検査日 / Study date",
        &s.study_date
            .as_ref()
            .map_or_else(|| "—".to_owned(), |d| escape(&d.to_string())),
    );
    row(
        out,
        "施設 / Institution",
        &s.institution_name
            .as_deref()
            .map_or_else(|| "—".to_owned(), escape),
    );
    row(
        out,
        "年齢 / Age (years)",
        &s.patient_age_years
            .map_or_else(|| "—".to_owned(), |a| format!("{a}")),
    );
    row(
        out,
        "Study Instance UID",
        &s.study_instance_uid
            .as_deref()
            .map_or_else(|| "—".to_owned(), escape),
    );
    row(
        out,
        "ソフトウェア / Tool",
        &format!(
            "csfleak {}",
            escape(f.tool_version.as_deref().unwrap_or("?"))
        ),
    );
    out.push_str("</table>\n<h3>シリーズ / Series</h3>\n<table>\n<tr><th>#</th><th>Modality</th><th>役割 / Role</th><th>説明 / Description</th><th>画像数 / Images</th><th>品質 / Quality flags</th></tr>\n");
    for se in &f.series {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            se.series_number
                .map_or_else(|| "—".to_owned(), |n| n.to_string()),
            escape(se.modality.as_deref().unwrap_or("—")),
            escape(se.role.as_deref().unwrap_or("—")),
            escape(se.description.as_deref().unwrap_or("")),
            se.n_images
                .map_or_else(|| "—".to_owned(), |n| n.to_string()),
            escape(&se.quality_flags.join("; "))
        );
    }
    out.push_str("</table>\n");
}

fn grade_section(out: &mut String, a: &Value) {
    out.push_str("<h2>判定 / Assessment</h2>\n");
    let _ = writeln!(
        out,
        "<div class=\"grade\">脳脊髄液漏出症 (CSF leak, MHLW 2011): {}</div>",
        grade_label(at(a, "mhlw2011.diagnosis"))
    );
    out.push_str("<table>\n");
    row(
        out,
        "低髄液圧症 / Intracranial hypotension",
        &grade_label(at(a, "mhlw2011.intracranial_hypotension")),
    );
    row(
        out,
        "Bern score",
        &format!(
            "{} ({}) <span class=\"small\">range {}–{}</span>",
            dash(at(a, "bern.score")),
            dash(at(a, "bern.band")),
            dash(at(a, "bern.score_min")),
            dash(at(a, "bern.score_max"))
        ),
    );
    row(
        out,
        "GL2007 RI 陽性 / RI positive",
        &dash(at(a, "gl2007.ri_positive")),
    );
    row(
        out,
        "ICHD-3",
        &format!(
            "{} (fulfilled: {})",
            dash(at(a, "ichd3.code")),
            dash(at(a, "ichd3.fulfilled"))
        ),
    );
    row(
        out,
        "J007-2 硬膜外自家血注入 / blood patch eligible",
        &dash(at(a, "j007_2.eligible")),
    );
    row(
        out,
        "次の手順 / Next step",
        &format!(
            "{}<br>{}",
            dash(at(a, "flowchart.text_ja")),
            dash(at(a, "flowchart.text_en"))
        ),
    );
    row(out, "Rules", &dash(at(a, "rules_version")));
    out.push_str("</table>\n");

    out.push_str("<h3>所見ごとの判定 / Graded findings</h3>\n");
    let graded = at(a, "mhlw2011.findings").and_then(Value::as_array);
    match graded {
        Some(items) if !items.is_empty() => {
            out.push_str("<table>\n<tr><th>所見 / Finding</th><th>Modality</th><th>判定 / Grade</th><th>Level</th><th>Side</th><th>Rules</th><th>画像 / Images</th></tr>\n");
            for g in items {
                let images = g
                    .get("evidence")
                    .and_then(Value::as_array)
                    .map(|ev| {
                        ev.iter()
                            .filter_map(|e| e.get("overlay").and_then(Value::as_str))
                            .map(|o| {
                                let stem =
                                    o.trim_start_matches("overlays/").trim_end_matches(".png");
                                format!("<a href=\"#img-{0}\">{0}</a>", escape(stem))
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "<tr><td>{}<br><span class=\"small\">{}</span></td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    dash(g.get("description_ja")),
                    dash(g.get("description_en")),
                    dash(g.get("modality")),
                    grade_label(g.get("grade")),
                    dash(g.get("level_from")),
                    dash(g.get("level_to")),
                    dash(g.get("side")),
                    dash(g.get("rule_ids")),
                    images
                );
            }
            out.push_str("</table>\n");
        }
        _ => out.push_str("<p>判定対象の所見なし / No graded findings.</p>\n"),
    }

    if let Some(items) = at(a, "bern.items").and_then(Value::as_array) {
        out.push_str("<h3>Bern score items</h3>\n<table>\n<tr><th>Item</th><th>Points</th><th>Met</th><th>Value (mm)</th><th>Threshold (mm)</th><th>Borderline</th></tr>\n");
        for it in items {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                dash(it.get("item")),
                dash(it.get("points")),
                dash(it.get("met")),
                dash(it.get("value_mm")),
                dash(it.get("threshold_mm")),
                dash(it.get("borderline"))
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h3>J007-2 症状詳記 / Claim text</h3>\n");
    match (
        at(a, "j007_2.claim_text_ja").and_then(Value::as_str),
        at(a, "j007_2.claim_text_en").and_then(Value::as_str),
    ) {
        (None, None) => out.push_str("<p>対象外 / Not applicable.</p>\n"),
        (ja, en) => {
            let _ = writeln!(
                out,
                "<pre>{}</pre>\n<pre>{}</pre>",
                escape(ja.unwrap_or("")),
                escape(en.unwrap_or(""))
            );
        }
    }
}

fn families_section(out: &mut String, families: &[FamilyStatus]) {
    out.push_str("<h2>計測 / Measurements</h2>\n<table>\n<tr><th>項目 / Family</th><th>状態 / Status</th><th>理由 / Reason</th></tr>\n");
    for fam in families {
        let (class, status) = if fam.measured {
            ("ok", "計測済 / measured")
        } else {
            ("na", "評価不能 / not assessable")
        };
        let _ = writeln!(
            out,
            "<tr><td>{} / {}</td><td class=\"{class}\">{status}</td><td>{}</td></tr>",
            escape(&fam.name_ja),
            escape(&fam.name_en),
            escape(fam.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
}

/// Values a reader entered (`--annotations`) in place of automatic ones: path, automatic
/// value, reader's value.
fn overrides_section(out: &mut String, f: &Findings) {
    if f.reader_overrides.is_empty() {
        return;
    }
    out.push_str("<h2>読影医による修正 / Reader overrides</h2>\n<table>\n<tr><th>Finding</th><th>自動 / Automatic</th><th>読影医 / Reader</th></tr>\n");
    for o in &f.reader_overrides {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            escape(&o.path),
            dash(Some(&o.automatic)),
            dash(Some(&o.reader))
        );
    }
    out.push_str("</table>\n");
}

fn raw_values_section(out: &mut String, f: &Findings) {
    overrides_section(out, f);
    out.push_str("<h2>計測値 / Raw values</h2>\n");
    let Ok(v) = serde_json::to_value(f) else {
        return;
    };
    for (key, ja) in [
        ("spine", "脊髄MRI / Spinal MRI"),
        ("ct_myelography", "CTミエログラフィー / CT myelography"),
        ("cisternography", "脳槽シンチグラフィー / RI cisternography"),
        ("brain", "頭部MRI / Brain MRI"),
    ] {
        let _ = writeln!(out, "<h3>{ja}</h3>");
        let section = v.get(key).unwrap_or(&Value::Null);
        if section.is_null() {
            out.push_str("<p class=\"na\">検査なし / not in the study</p>\n");
            continue;
        }
        let mut rows = Vec::new();
        flatten("", section, &mut rows);
        out.push_str("<table>\n");
        for (p, leaf) in &rows {
            let class = if leaf.as_str() == Some("not_assessable") {
                " class=\"na\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<tr><th>{}</th><td{class}>{}</td></tr>",
                escape(p),
                dash(Some(leaf))
            );
        }
        out.push_str("</table>\n");
    }
}

/// The RI time-activity curve as inline SVG: CSF counts (solid) and bladder counts (dashed)
/// against hours, one colour per view.
fn tac_svg(f: &Findings) -> Option<String> {
    use csfleak_findings::NmView;
    let c = f.cisternography.as_ref()?;
    if c.time_points.is_empty() {
        return None;
    }
    let max_h = c
        .time_points
        .iter()
        .map(|t| t.hours.0)
        .fold(1.0_f64, f64::max);
    let max_c = c
        .time_points
        .iter()
        .flat_map(|t| [t.csf_counts, t.bladder_counts])
        .flatten()
        .map(|x| x.0)
        .fold(1.0_f64, f64::max);
    let (w, h, m) = (560.0, 280.0, 44.0);
    let x = |hours: f64| m + hours / max_h * (w - 2.0 * m);
    let y = |counts: f64| h - m - counts / max_c * (h - 2.0 * m);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"time-activity curve\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\" stroke=\"#999\"/>\n<line x1=\"{m}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#000\"/>\n<line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{0}\" stroke=\"#000\"/>\n<text x=\"{2}\" y=\"{3}\" font-size=\"11\">hours / 時間</text>\n<text x=\"4\" y=\"{4}\" font-size=\"11\">counts (max {5:.0})</text>\n",
        h - m,
        w - m,
        w / 2.0,
        h - 6.0,
        m - 12.0,
        max_c
    );
    let mut legend = 0.0;
    for (view, color, name) in [
        (NmView::Anterior, "#06c", "anterior"),
        (NmView::Posterior, "#093", "posterior"),
        (NmView::GeometricMean, "#a0a", "geometric mean"),
    ] {
        let mut pts: Vec<_> = c.time_points.iter().filter(|t| t.view == view).collect();
        pts.sort_by(|a, b| a.hours.0.total_cmp(&b.hours.0));
        for (bladder, dash, what) in [
            (false, "", "CSF"),
            (true, " stroke-dasharray=\"5,3\"", "bladder / 膀胱"),
        ] {
            let coords: Vec<String> = pts
                .iter()
                .filter_map(|t| {
                    let v = if bladder {
                        t.bladder_counts
                    } else {
                        t.csf_counts
                    };
                    v.map(|v| format!("{:.1},{:.1}", x(t.hours.0), y(v.0)))
                })
                .collect();
            if coords.is_empty() {
                continue;
            }
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
                coords.join(" ")
            );
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{color}\">{what} ({name})</text>",
                w - m - 170.0,
                m + 14.0 * legend
            );
            legend += 1.0;
        }
    }
    let mut hours: Vec<f64> = c.time_points.iter().map(|t| t.hours.0).collect();
    hours.sort_by(f64::total_cmp);
    hours.dedup();
    for hr in hours {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{hr}</text>",
            x(hr),
            h - m + 14.0
        );
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

fn figure(out: &mut String, im: &ReportImage) {
    let _ = writeln!(
        out,
        "<figure id=\"img-{0}\"><img alt=\"{1}\" src=\"data:image/png;base64,{2}\"><figcaption>{1}<br><span class=\"small\">{3}</span></figcaption></figure>",
        escape(&im.name),
        escape(&im.title),
        base64(&im.png),
        escape(&im.note)
    );
}

/// Every finding that carries evidence (a JSON object with a non-empty `evidence` array),
/// in document order: `(dotted path, object)`.
fn findings_with_evidence<'v>(prefix: &str, v: &'v Value, out: &mut Vec<(String, &'v Value)>) {
    match v {
        Value::Object(map) => {
            if map
                .get("evidence")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.is_empty())
            {
                out.push((prefix.to_owned(), v));
            }
            for (k, x) in map {
                if k == "evidence" {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                findings_with_evidence(&p, x, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                findings_with_evidence(&format!("{prefix}[{i}]"), x, out);
            }
        }
        _ => {}
    }
}

/// The overlay stem of an evidence link (`overlays/<stem>.png`).
fn overlay_stem(link: &str) -> &str {
    let name = link.rsplit('/').next().unwrap_or(link);
    name.strip_suffix(".png").unwrap_or(name)
}

/// Each finding with evidence: its raw values, then each evidence entry with the overlay
/// that shows it (embedded here once). Returns the names of the images shown.
fn evidence_section(out: &mut String, f: &Findings, images: &[ReportImage]) -> Vec<String> {
    let mut shown = Vec::new();
    let Ok(v) = serde_json::to_value(f) else {
        return shown;
    };
    let mut items = Vec::new();
    findings_with_evidence("", &v, &mut items);
    if items.is_empty() {
        return shown;
    }
    out.push_str("<h2>所見と根拠画像 / Findings and evidence</h2>\n");
    for (path, finding) in items {
        let _ = writeln!(out, "<h3>{}</h3>\n<table>", escape(&path));
        let mut rows = Vec::new();
        if let Value::Object(map) = finding {
            for (k, x) in map {
                if k != "evidence" && k != "provenance" {
                    flatten(k, x, &mut rows);
                }
            }
        }
        for (p, leaf) in &rows {
            let _ = writeln!(
                out,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(p),
                dash(Some(leaf))
            );
        }
        out.push_str("</table>\n");
        let evidence = finding
            .get("evidence")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for ev in evidence {
            let desc = ev
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("evidence");
            let slice = ev
                .get("slice_index")
                .and_then(Value::as_u64)
                .map_or_else(String::new, |k| format!(", slice index {k}"));
            let level = ev
                .get("level")
                .and_then(Value::as_str)
                .map_or_else(String::new, |l| format!(", {l}"));
            let link = ev.get("overlay").and_then(Value::as_str);
            let _ = writeln!(
                out,
                "<p class=\"small\">根拠 / evidence: {}{}{}{}</p>",
                escape(desc),
                escape(&slice),
                escape(&level),
                link.map_or_else(
                    || " (画像なし / no overlay)".to_owned(),
                    |l| format!(" — <code>{}</code>", escape(l))
                )
            );
            let Some(stem) = link.map(overlay_stem) else {
                continue;
            };
            if shown.iter().any(|n| n == stem) {
                let _ = writeln!(
                    out,
                    "<p class=\"small\"><a href=\"#img-{0}\">{0}</a></p>",
                    escape(stem)
                );
            } else if let Some(im) = images.iter().find(|im| im.name == stem) {
                figure(out, im);
                shown.push(stem.to_owned());
            }
        }
    }
    shown
}

fn images_section(out: &mut String, images: &[ReportImage], shown: &[String]) {
    out.push_str("<h2>画像 / Images</h2>\n");
    if images.is_empty() {
        out.push_str("<p>画像なし / No images.</p>\n");
        return;
    }
    if !shown.is_empty() {
        out.push_str("<p class=\"small\">根拠画像は上の所見に表示 / evidence images are shown with their findings above.</p>\n");
    }
    for im in images.iter().filter(|im| !shown.contains(&im.name)) {
        figure(out, im);
    }
}

/// All warnings shown on the page: the assessment's, unverified rules that decided a grade,
/// borderline Bern items, not-assessable inputs, quality flags and the pipeline's own.
pub fn collect_warnings(input: &ReportInput<'_>) -> Vec<String> {
    let a = input.assessment;
    let mut w: Vec<String> = at(a, "warnings")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(items) = at(a, "mhlw2011.findings").and_then(Value::as_array) {
        for g in items {
            if let Some(u) = g.get("unverified_rules").and_then(Value::as_array) {
                for r in u.iter().filter_map(Value::as_str) {
                    w.push(format!(
                        "未検証ルール / unverified rule {r} decided a grade ({})",
                        g.get("finding_path").and_then(Value::as_str).unwrap_or("?")
                    ));
                }
            }
        }
    }
    if let Some(b) = at(a, "bern.borderline").and_then(Value::as_array) {
        for item in b.iter().filter_map(Value::as_str) {
            w.push(format!("境界値 / borderline value: {item}"));
        }
    }
    if let Some(na) = at(a, "mhlw2011.not_assessable").and_then(Value::as_array) {
        for n in na {
            w.push(format!(
                "評価不能 / not assessable: {} ({})",
                n.get("path").and_then(Value::as_str).unwrap_or("?"),
                n.get("reason").and_then(Value::as_str).unwrap_or("")
            ));
        }
    }
    for se in &input.findings.series {
        for q in &se.quality_flags {
            w.push(format!(
                "品質 / quality: series {} ({}): {q}",
                se.series_number
                    .map_or_else(|| "?".to_owned(), |n| n.to_string()),
                se.role.as_deref().unwrap_or("?")
            ));
        }
    }
    w.extend(input.warnings.iter().cloned());
    w
}

/// The page as a string.
pub fn render_html(input: &ReportInput<'_>) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>csfleak report</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>\n");
    out.push_str(STYLE);
    out.push_str("\n</style>\n</head>\n<body>\n<h1>脳脊髄液漏出症 画像解析レポート / CSF leak imaging report</h1>\n<p class=\"small\">自動計測の結果です。最終判断は読影医が行ってください。 / Automatic measurements: a radiologist makes the final call.</p>\n");
    study_section(&mut out, input.findings);
    grade_section(&mut out, input.assessment);

    let warnings = collect_warnings(input);
    out.push_str("<h2>注意 / Warnings</h2>\n");
    if warnings.is_empty() {
        out.push_str("<p>なし / None.</p>\n");
    }
    for w in &warnings {
        let _ = writeln!(out, "<div class=\"warn\">{}</div>", escape(w));
    }

    families_section(&mut out, input.families);
    // The curve image when the analysis drew one (also written to overlays/), else inline SVG.
    let tac_image = input
        .images
        .iter()
        .find(|im| im.name == crate::chart::TAC_OVERLAY_NAME);
    if let Some(im) = tac_image {
        out.push_str("<h2>時間放射能曲線 / RI time-activity curve</h2>\n");
        figure(&mut out, im);
    } else if let Some(svg) = tac_svg(input.findings) {
        out.push_str("<h2>時間放射能曲線 / RI time-activity curve</h2>\n");
        out.push_str(&svg);
    }
    let mut shown = evidence_section(&mut out, input.findings, input.images);
    if let Some(im) = tac_image {
        shown.push(im.name.clone());
    }
    images_section(&mut out, input.images, &shown);
    raw_values_section(&mut out, input.findings);

    out.push_str("<h2>判定根拠 / Rule trace</h2>\n<table>\n<tr><th>Rule</th><th>Source</th><th>Confidence</th><th>Result</th></tr>\n");
    if let Some(trace) = at(input.assessment, "trace").and_then(Value::as_array) {
        for t in trace {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                dash(t.get("rule_id")),
                dash(t.get("source")),
                dash(t.get("confidence")),
                dash(t.get("result"))
            );
        }
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

/// Write the page to `path` through a temporary sibling and a rename.
pub fn write_html(path: &Path, input: &ReportInput<'_>) -> Result<()> {
    let text = render_html(input);
    crate::atomic::write_atomically(path, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expect) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expect);
        }
    }

    #[test]
    fn page_has_grade_images_warnings_and_escapes_text() {
        let mut f = Findings::new("0.1.0");
        f.study.institution_name = Some("<Clinic & Co>".into());
        f.series.push(csfleak_findings::SeriesSummary {
            series_number: Some(3),
            role: Some("ct_myelography".into()),
            quality_flags: vec!["uneven slice gaps".into()],
            ..Default::default()
        });
        let a = json!({
            "mhlw2011": {"diagnosis": "確実", "findings": [{"finding_path": "ct[0]",
                "grade": "確実", "unverified_rules": ["R9"], "description_ja": "硬膜外造影剤",
                "evidence": [{"overlay": "overlays/ct_t12.png"}]}],
                "not_assessable": [{"path": "brain", "reason": "no brain series"}]},
            "bern": {"borderline": ["suprasellar_cistern_mm"]},
            "warnings": ["w1"],
            "trace": [{"rule_id": "mhlw.c1", "source": "MHLW 2011", "confidence": "V", "result": "確実"}]
        });
        let images = [ReportImage {
            name: "ct_t12".into(),
            title: "CT T12".into(),
            note: "left = right".into(),
            png: vec![1, 2, 3],
        }];
        let families = [FamilyStatus {
            id: "brain".into(),
            name_ja: "頭部MRI".into(),
            name_en: "brain MRI".into(),
            measured: false,
            reason: Some("no brain series".into()),
        }];
        let page = render_html(&ReportInput {
            findings: &f,
            assessment: &a,
            images: &images,
            families: &families,
            warnings: &["pipeline note".into()],
        });
        assert!(page.contains("確実 (definite)"));
        assert!(page.contains("&lt;Clinic &amp; Co&gt;"));
        assert!(!page.contains("<Clinic"));
        assert!(page.contains("data:image/png;base64,AQID"));
        assert!(page.contains("href=\"#img-ct_t12\""));
        assert!(page.contains("unverified rule R9"));
        assert!(page.contains("borderline value: suprasellar_cistern_mm"));
        assert!(page.contains("uneven slice gaps"));
        assert!(page.contains("no brain series"));
        assert!(page.contains("mhlw.c1"));
        assert!(page.contains("pipeline note"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("Reader overrides"));

        f.reader_overrides.push(csfleak_findings::ReaderOverride {
            path: "brain.mamillopontine_distance_mm".into(),
            automatic: json!(4.1),
            reader: json!(5.25),
        });
        let page = render_html(&ReportInput {
            findings: &f,
            assessment: &a,
            images: &images,
            families: &families,
            warnings: &[],
        });
        assert!(page.contains(
            "<tr><th>brain.mamillopontine_distance_mm</th><td>4.1</td><td>5.25</td></tr>"
        ));
    }

    #[test]
    fn each_finding_with_evidence_shows_its_raw_values_and_overlay_once() {
        let mut f = Findings::new("0.1.0");
        let ev = |k: u32, d: &str| csfleak_findings::Evidence {
            slice_index: Some(k),
            overlay: Some("overlays/spine_c1_k007.png".into()),
            description: Some(d.into()),
            ..Default::default()
        };
        f.spine = Some(csfleak_findings::Spine {
            epidural_fluid: Some(csfleak_findings::EpiduralFluid {
                status: csfleak_findings::Status::Present,
                collections: vec![csfleak_findings::EpiduralCollection {
                    max_thickness_mm: Some(csfleak_findings::Mm(4.2)),
                    evidence: vec![ev(7, "maximal thickness"), ev(7, "continuity")],
                    ..Default::default()
                }],
                reason: None,
                contrast_series_available: None,
                provenance: None,
            }),
            ..Default::default()
        });
        let image = |name: &str, png: Vec<u8>| ReportImage {
            name: name.into(),
            title: name.into(),
            note: String::new(),
            png,
        };
        let images = [
            image("overview_s0003", vec![9, 9, 9]),
            image("spine_c1_k007", vec![1, 2, 3]),
        ];
        let page = render_html(&ReportInput {
            findings: &f,
            assessment: &json!({}),
            images: &images,
            families: &[],
            warnings: &[],
        });
        let evidence_at = page.find("Findings and evidence").unwrap();
        let images_at = page.find("画像 / Images").unwrap();
        let fig = page.find("id=\"img-spine_c1_k007\"").unwrap();
        assert!(
            evidence_at < fig && fig < images_at,
            "overlay shown with its finding"
        );
        assert_eq!(
            page.matches("<figure").count(),
            2,
            "each image embedded once"
        );
        assert!(page.contains("spine.epidural_fluid.collections[0]"));
        assert!(page.contains("<th>max_thickness_mm</th><td>4.2</td>"));
        assert!(page.contains("maximal thickness, slice index 7"));
        assert!(page.contains("href=\"#img-spine_c1_k007\""));
    }

    #[test]
    fn time_activity_curve_is_drawn_for_ri() {
        let mut f = Findings::new("x");
        let mut c = csfleak_findings::Cisternography::not_assessable("r");
        for (h, csf) in [(1.0, 900.0), (6.0, 600.0), (24.0, 250.0)] {
            c.time_points.push(csfleak_findings::TimePoint {
                hours: csfleak_findings::Hours(h),
                view: csfleak_findings::NmView::Posterior,
                csf_counts: Some(csfleak_findings::Counts(csf)),
                bladder_counts: None,
            });
        }
        // Anterior views at other times must not zig-zag into the posterior line.
        for h in [24.0, 1.0] {
            c.time_points.push(csfleak_findings::TimePoint {
                hours: csfleak_findings::Hours(h),
                view: csfleak_findings::NmView::Anterior,
                csf_counts: Some(csfleak_findings::Counts(100.0)),
                bladder_counts: Some(csfleak_findings::Counts(50.0)),
            });
        }
        f.cisternography = Some(c);
        let svg = tac_svg(&f).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.contains(">24<"));
        assert!(tac_svg(&Findings::new("x")).is_none());

        // With the curve image (overlays/cisterno_tac.png) the page shows it once, in the
        // curve section, instead of the inline SVG.
        let images = [ReportImage {
            name: crate::chart::TAC_OVERLAY_NAME.into(),
            title: "RI time-activity curve".into(),
            note: String::new(),
            png: vec![7, 7, 7],
        }];
        let page = render_html(&ReportInput {
            findings: &f,
            assessment: &json!({}),
            images: &images,
            families: &[],
            warnings: &[],
        });
        assert!(!page.contains("<svg"));
        let section = page.find("RI time-activity curve</h2>").unwrap();
        let img = page.find("id=\"img-cisterno_tac\"").unwrap();
        assert!(img > section);
        assert_eq!(page.matches("id=\"img-cisterno_tac\"").count(), 1);
    }
}
