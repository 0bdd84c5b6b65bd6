//! Labelling the discs of a stack that shows both ends of the spine (C2 above its most cranial
//! disc, the sacrum below its most caudal one): the most cranial detected disc is C2/3, the
//! most caudal L5/S1, and every detection between them is either one of the 21 discs between
//! or spurious. The labels are the best alignment of the detections to the disc levels under
//! the typical ratios of vertebral heights ([`super::typical_position_mm`]) at the patient's
//! scale (the length between the two ends over the typical length), allowing a few missed
//! discs (a gap holding several segments) and spurious detections (a peak inside a body),
//! both penalised. Only labels that no other alignment explains nearly as well are kept: a
//! detection whose label is ambiguous stays an unlabelled position.
//!
//! The alignment is a dynamic programme over (detection, level) pairs, forwards and backwards,
//! so that the best total cost with any detection at any level (or skipped) is known.

use csfleak_findings::{Level, Vertebra};

use super::{Landmark, median, typical_position_mm};

/// Spread of the log ratio of an observed to a typical (scaled) spacing: one cost unit.
const SIGMA: f64 = 0.12;
/// Cost of a disc level with no detection (a missed disc).
const MISSED: f64 = 4.0;
/// Cost of a detection that is not a disc.
const SPURIOUS: f64 = 6.0;
/// Most levels spanned by two consecutive labelled detections.
const MAX_SPAN: usize = 4;
/// Most spurious detections in a row.
const MAX_SKIP: usize = 2;
/// Most missed discs and spurious detections in an accepted alignment.
const MAX_MISSED: usize = 4;
const MAX_SPURIOUS: usize = 2;
/// A label is kept when every alignment that gives its detection another label (or none)
/// costs at least this much more than the best one.
const MARGIN: f64 = 6.0;

/// The result of aligning detections between C2/3 and L5/S1.
#[derive(Debug, Clone)]
pub(crate) struct Alignment {
    /// Every detection, cranial first: labelled when its label is unambiguous.
    pub(crate) marks: Vec<Landmark>,
    /// Disc levels with no detection in the best alignment.
    pub(crate) missed: usize,
    /// Detections that are not discs in the best alignment.
    pub(crate) spurious: usize,
    /// Detections whose label was ambiguous (left unlabelled).
    pub(crate) ambiguous: usize,
    /// Patient scale (observed / typical length between the two ends).
    pub(crate) scale: f64,
}

/// The disc levels C2/3 .. L5/S1, cranial first.
fn slots() -> Vec<Level> {
    (1..=23u8)
        .filter_map(Vertebra::from_index)
        .filter(|v| v.next().is_some())
        .map(Level::Disc)
        .collect()
}

/// Align detected disc heights (`z`, patient mm, any order) to the disc levels C2/3 ..
/// L5/S1, the most cranial detection being C2/3 and the most caudal L5/S1. `Err` says why no
/// alignment is acceptable.
pub(crate) fn align_between_ends(discs_z_mm: &[f64]) -> Result<Alignment, String> {
    let z = sorted(discs_z_mm);
    let t: Vec<f64> = slots().iter().map(|&l| typical_position_mm(l)).collect();
    let (n, m) = (z.len(), t.len());
    if n < 6 || m < 2 {
        return Err("fewer than six discs".to_owned());
    }
    let scale = (z[0] - z[n - 1]) / (t[m - 1] - t[0]);
    if !(0.75..=1.35).contains(&scale) {
        return Err(format!(
            "the length between C2/3 and L5/S1 does not fit a spine (scale {scale:.2})"
        ));
    }
    align(&z, scale, Pinned::Both)
}

/// Align detected disc heights to the disc levels when only one end of the spine is known:
/// the most caudal detection is L5/S1 (`from_sacrum`) or the most cranial C2/3. The patient's
/// scale comes from the three spacings next to that end, which must agree (each within
/// 0.8-1.25 of their median, as consecutive discs); further from the end, a gap may hold
/// missed discs. `Err` says why no alignment is acceptable.
pub(crate) fn align_from_end(discs_z_mm: &[f64], from_sacrum: bool) -> Result<Alignment, String> {
    let z = sorted(discs_z_mm);
    let t: Vec<f64> = slots().iter().map(|&l| typical_position_mm(l)).collect();
    let (n, m) = (z.len(), t.len());
    if n < 5 {
        return Err("fewer than five discs".to_owned());
    }
    let ratios: Vec<f64> = (0..3)
        .map(|k| {
            if from_sacrum {
                (z[n - 2 - k] - z[n - 1 - k]) / (t[m - 1 - k] - t[m - 2 - k])
            } else {
                (z[k] - z[k + 1]) / (t[k + 1] - t[k])
            }
        })
        .collect();
    let scale = median(&ratios).ok_or("no disc spacing")?;
    if !(0.75..=1.35).contains(&scale)
        || ratios.iter().any(|r| !(0.8..=1.25).contains(&(r / scale)))
    {
        return Err(format!(
            "the three disc spacings next to the counted end are not regular (scale {scale:.2})"
        ));
    }
    align(
        &z,
        scale,
        if from_sacrum {
            Pinned::Caudal
        } else {
            Pinned::Cranial
        },
    )
}

/// Finite heights, cranial first, without duplicates.
fn sorted(discs_z_mm: &[f64]) -> Vec<f64> {
    let mut z: Vec<f64> = discs_z_mm
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    z.sort_by(|a, b| b.total_cmp(a));
    z.dedup();
    z
}

/// Which detections are known: the most cranial is C2/3, the most caudal L5/S1, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pinned {
    Cranial,
    Caudal,
    Both,
}

/// The alignment of heights `z` (cranial first) to the disc levels at `scale`.
fn align(z: &[f64], scale: f64, pinned: Pinned) -> Result<Alignment, String> {
    let levels = slots();
    let t: Vec<f64> = levels.iter().map(|&l| typical_position_mm(l)).collect();
    let (n, m) = (z.len(), t.len());
    let (top_pinned, bottom_pinned) = (pinned != Pinned::Caudal, pinned != Pinned::Cranial);
    // Cost of detections i < j labelled with levels s < u (consecutive labels), including the
    // detections skipped and the levels missed between them.
    let step = |i: usize, j: usize, s: usize, u: usize| -> f64 {
        let ratio = (z[i] - z[j]) / (scale * (t[u] - t[s]));
        if ratio <= 0.0 {
            return f64::INFINITY;
        }
        (ratio.ln() / SIGMA).powi(2) + SPURIOUS * (j - i - 1) as f64 + MISSED * (u - s - 1) as f64
    };
    let inf = f64::INFINITY;
    let mut fwd = vec![vec![inf; m]; n];
    let mut back = vec![vec![(0usize, 0usize); m]; n];
    if top_pinned {
        fwd[0][0] = 0.0;
    } else {
        fwd[0].fill(0.0);
    }
    for j in 1..n {
        for u in 1..m {
            for i in j.saturating_sub(MAX_SKIP + 1)..j {
                for s in u.saturating_sub(MAX_SPAN)..u {
                    if fwd[i][s].is_finite() {
                        let c = fwd[i][s] + step(i, j, s, u);
                        if c < fwd[j][u] {
                            fwd[j][u] = c;
                            back[j][u] = (i, s);
                        }
                    }
                }
            }
        }
    }
    let mut bwd = vec![vec![inf; m]; n];
    if bottom_pinned {
        bwd[n - 1][m - 1] = 0.0;
    } else {
        bwd[n - 1].fill(0.0);
    }
    for i in (0..n - 1).rev() {
        for s in (0..m - 1).rev() {
            for j in i + 1..=(i + MAX_SKIP + 1).min(n - 1) {
                for u in s + 1..=(s + MAX_SPAN).min(m - 1) {
                    if bwd[j][u].is_finite() {
                        bwd[i][s] = bwd[i][s].min(bwd[j][u] + step(i, j, s, u));
                    }
                }
            }
        }
    }
    let (last, best) = if bottom_pinned {
        (m - 1, fwd[n - 1][m - 1])
    } else {
        fwd[n - 1]
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, inf))
    };
    if !best.is_finite() {
        return Err("the discs cannot be fitted to the disc levels".to_owned());
    }
    // The best path, cranial first: (detection, level).
    let mut path = vec![(n - 1, last)];
    while let Some(&(j, u)) = path.last() {
        if j == 0 {
            break;
        }
        path.push(back[j][u]);
    }
    path.reverse();
    let missed = path.windows(2).map(|w| w[1].1 - w[0].1 - 1).sum::<usize>();
    let spurious = n - path.len();
    if missed > MAX_MISSED || spurious > MAX_SPURIOUS {
        return Err(format!(
            "the best fit needs {missed} missed and {spurious} spurious disc(s)"
        ));
    }
    check_spacings(z, &t, &path)?;
    // Best total with detection i skipped (not a disc).
    #[allow(
        clippy::needless_range_loop,
        reason = "detections and levels index the forward and backward tables together"
    )]
    let skipped = |i: usize| -> f64 {
        let mut c = inf;
        for a in i.saturating_sub(MAX_SKIP)..i {
            for b in i + 1..=(a + MAX_SKIP + 1).min(n - 1) {
                for s in 0..m {
                    if !fwd[a][s].is_finite() {
                        continue;
                    }
                    for u in s + 1..=(s + MAX_SPAN).min(m - 1) {
                        c = c.min(fwd[a][s] + step(a, b, s, u) + bwd[b][u]);
                    }
                }
            }
        }
        c
    };
    let mut marks: Vec<Landmark> = z.iter().map(|&zz| Landmark::disc(zz)).collect();
    let mut ambiguous = 0;
    for &(i, s) in &path {
        let other = (0..m)
            .filter(|&u| u != s)
            .map(|u| fwd[i][u] + bwd[i][u])
            .fold(inf, f64::min);
        let other = if (i == 0 && top_pinned) || (i == n - 1 && bottom_pinned) {
            other
        } else {
            other.min(skipped(i))
        };
        if other - best >= MARGIN {
            marks[i] = Landmark::labelled(z[i], levels[s]);
        } else {
            ambiguous += 1;
        }
    }
    Ok(Alignment {
        marks,
        missed,
        spurious,
        ambiguous,
        scale,
    })
}

/// Every consecutive pair of the path must fit the local spacing: the observed / typical
/// spacing of the three nearest one-segment pairs (their median). A
/// one-segment pair within 0.67-1.5 of it, a gap over missed discs within 0.8-1.25 (a gap one
/// segment longer or shorter falls outside).
fn check_spacings(z: &[f64], t: &[f64], path: &[(usize, usize)]) -> Result<(), String> {
    let pairs: Vec<(f64, usize)> = path
        .windows(2)
        .map(|w| {
            let ((i, s), (j, u)) = (w[0], w[1]);
            ((z[i] - z[j]) / (t[u] - t[s]), u - s)
        })
        .collect();
    for (k, &(r, span)) in pairs.iter().enumerate() {
        let mut singles: Vec<(usize, f64)> = pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1 == 1)
            .map(|(q, p)| (q.abs_diff(k), p.0))
            .collect();
        singles.sort_by_key(|p| p.0);
        let near: Vec<f64> = singles.iter().take(3).map(|p| p.1).collect();
        let Some(local) = median(&near) else {
            return Err("too few regular disc spacings".to_owned());
        };
        let rel = r / local;
        let ok = if span == 1 {
            (0.67..=1.5).contains(&rel)
        } else {
            (0.8..=1.25).contains(&rel)
        };
        if !ok {
            let (i, j) = (path[k].0, path[k + 1].0);
            return Err(format!(
                "the spacing between z {:.0} and {:.0} mm does not hold {span} segment(s) \
                 ({rel:.2} of the local spacing)",
                z[i], z[j]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Level {
        s.parse().unwrap()
    }

    /// Disc heights of a typical spine scaled by `scale`, C2/3 at z 400.
    fn spine(scale: f64) -> Vec<(f64, Level)> {
        slots()
            .into_iter()
            .map(|d| {
                (
                    400.0 - scale * (typical_position_mm(d) - typical_position_mm(l("C2/3"))),
                    d,
                )
            })
            .collect()
    }

    /// Checks every labelled mark against the level drawn at its z; returns how many were labelled.
    fn labels_right(a: &Alignment, all: &[(f64, Level)]) -> usize {
        let mut labelled = 0;
        for m in &a.marks {
            if let Some(lv) = m.level {
                labelled += 1;
                let truth = all.iter().find(|p| (p.0 - m.z_mm).abs() < 1e-9).unwrap();
                assert_eq!(lv, truth.1);
            }
        }
        labelled
    }

    #[test]
    fn a_missed_and_a_spurious_disc_are_placed() {
        let all = spine(1.05);
        let mut z: Vec<f64> = all
            .iter()
            .filter(|(_, d)| *d != l("T1/2") && *d != l("L4/5"))
            .map(|p| p.0)
            .collect();
        // A spurious peak inside the T6 body (a third of the way down).
        let (t56, t67) = (all[9].0, all[10].0);
        z.push(t56 + 0.35 * (t67 - t56));
        let a = align_between_ends(&z).unwrap();
        assert_eq!((a.missed, a.spurious), (2, 1), "{a:?}");
        let labelled = labels_right(&a, &all);
        assert!(labelled >= 18, "{labelled} labelled: {a:?}");
    }

    #[test]
    fn counted_from_the_sacrum_across_missed_thoracic_discs() {
        // T5/6 .. L5/S1 with T6/7, T8/9, T10/11 and T12/L1 missed (thick slices).
        let all = spine(0.97);
        let missed = ["T6/7", "T8/9", "T10/11", "T12/L1"].map(l);
        let z: Vec<f64> = all
            .iter()
            .filter(|(_, d)| *d >= l("T5/6") && !missed.contains(d))
            .map(|p| p.0)
            .collect();
        let a = align_from_end(&z, true).unwrap();
        assert_eq!(a.missed, 4, "{a:?}");
        let labelled = labels_right(&a, &all);
        assert!(labelled >= 7, "{labelled} labelled: {a:?}");
        // Counted from C2 instead, the same discs cannot fit.
        assert!(align_from_end(&z, false).is_err());
    }

    #[test]
    fn an_irregular_end_is_not_counted_from() {
        // L3/4 missed: the spacings next to the sacrum disagree.
        let all = spine(1.0);
        let z: Vec<f64> = all
            .iter()
            .filter(|(_, d)| *d >= l("T8/9") && *d != l("L3/4"))
            .map(|p| p.0)
            .collect();
        assert!(align_from_end(&z, true).is_err());
    }

    #[test]
    fn a_stack_ending_at_l4_5_is_refused() {
        // C2/3 .. L4/5 detected, with T6/7 missed: the caudal end is not L5/S1, and no
        // alignment fits the disc spacing.
        let all = spine(1.0);
        let z: Vec<f64> = all
            .iter()
            .filter(|(_, d)| *d != l("T6/7") && *d != l("L5/S1"))
            .map(|p| p.0)
            .collect();
        assert!(align_between_ends(&z).is_err());
        let z: Vec<f64> = all
            .iter()
            .filter(|(_, d)| *d != l("L5/S1"))
            .map(|p| p.0)
            .collect();
        assert!(align_between_ends(&z).is_err());
    }
}
