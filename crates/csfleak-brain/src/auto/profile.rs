//! Intensity profiles along a slab column, cut into dark (CSF-like) and tissue segments.
//!
//! A profile is sampled every 0.1 pixel between two rows (bilinear) and classified against a
//! threshold; the boundary between two segments is the linear crossing of the threshold.
//! Segments shorter than a minimum length are merged into their neighbours (noise, a thin
//! vessel), shortest first.

use super::locate::Slab;

/// A run of samples on one side of the threshold, rows `top..bottom` (fractional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Seg {
    /// Below the threshold (CSF, air, cortical bone on T1).
    pub(super) dark: bool,
    /// First row.
    pub(super) top: f64,
    /// Last row.
    pub(super) bottom: f64,
    /// Highest normalised intensity within the segment.
    pub(super) peak: f64,
}

impl Seg {
    /// Length in pixels.
    pub(super) fn len(&self) -> f64 {
        self.bottom - self.top
    }
}

/// Step between samples, pixels.
const STEP: f64 = 0.1;

/// The segments of column `c` from row `r0` down to row `r1` against `thr`; `None` when the
/// profile leaves the image.
pub(super) fn column_segments(
    s: &Slab,
    c: f64,
    r0: f64,
    r1: f64,
    thr: f64,
    min_px: f64,
) -> Option<Vec<Seg>> {
    let mut segs: Vec<Seg> = Vec::new();
    let mut r = r0;
    let mut prev = s.bilinear(r, c);
    if !prev.is_finite() {
        return None;
    }
    let mut cur = Seg {
        dark: prev < thr,
        top: r,
        bottom: r,
        peak: prev,
    };
    while r < r1 {
        let rn = r + STEP;
        let z = s.bilinear(rn, c);
        if !z.is_finite() {
            return None;
        }
        let dark = z < thr;
        if dark == cur.dark {
            cur.peak = cur.peak.max(z);
        } else {
            let f = ((thr - prev) / (z - prev)).clamp(0.0, 1.0);
            let cross = r + STEP * f;
            cur.bottom = cross;
            segs.push(cur);
            cur = Seg {
                dark,
                top: cross,
                bottom: cross,
                peak: z,
            };
        }
        prev = z;
        r = rn;
    }
    cur.bottom = r;
    segs.push(cur);
    merge_short(&mut segs, min_px);
    Some(segs)
}

/// Merge segments shorter than `min_px` into their neighbours, shortest first.
fn merge_short(segs: &mut Vec<Seg>, min_px: f64) {
    loop {
        let Some((i, _)) = segs
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() < min_px)
            .min_by(|a, b| a.1.len().total_cmp(&b.1.len()))
        else {
            return;
        };
        if segs.len() < 2 {
            return;
        }
        // Absorb the segment (and, inside the profile, both neighbours join).
        let lo = i.saturating_sub(1);
        let hi = (i + 1).min(segs.len() - 1);
        let (top, bottom) = (segs[lo].top, segs[hi].bottom);
        let dark = if i == 0 { segs[1].dark } else { segs[lo].dark };
        let peak = segs[lo..=hi]
            .iter()
            .filter(|g| g.dark == dark)
            .map(|g| g.peak)
            .fold(f64::NEG_INFINITY, f64::max);
        let merged = Seg {
            dark,
            top,
            bottom,
            peak,
        };
        segs.splice(lo..=hi, [merged]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(dark: bool, top: f64, bottom: f64) -> Seg {
        Seg {
            dark,
            top,
            bottom,
            peak: 0.0,
        }
    }

    #[test]
    fn short_segment_joins_its_neighbours() {
        let mut v = vec![
            seg(false, 0.0, 5.0),
            seg(true, 5.0, 5.2),
            seg(false, 5.2, 9.0),
            seg(true, 9.0, 12.0),
        ];
        merge_short(&mut v, 0.5);
        assert_eq!(v.len(), 2);
        assert!(!v[0].dark);
        assert!((v[0].bottom - 9.0).abs() < 1e-12);
        assert!(v[1].dark);
    }

    #[test]
    fn short_first_segment_joins_the_next() {
        let mut v = vec![seg(true, 0.0, 0.1), seg(false, 0.1, 4.0)];
        merge_short(&mut v, 0.5);
        assert_eq!(v.len(), 1);
        assert!(!v[0].dark);
        assert!(v[0].top.abs() < 1e-12);
    }
}
