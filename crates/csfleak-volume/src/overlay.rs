//! Overlay descriptions: what a measurement wants a radiologist to see, without pixels drawn.
//!
//! Measurement crates return [`Overlay`]s (a 2D grey image plus coloured masks, lines, points and
//! labels in that image's pixel coordinates); `csfleak-report` renders them to PNG with one display
//! convention (window, aspect, radiological left/right, burned-in text). Nothing here does I/O.

use ndarray::Array2;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Colours with a fixed meaning across all overlays.
pub mod colors {
    use super::Rgb;
    /// CSF / thecal sac / normal structure outline.
    pub const SAC: Rgb = [0, 170, 255];
    /// Abnormal finding (extradural fluid, leak, accumulation).
    pub const FINDING: Rgb = [255, 60, 60];
    /// Excluded mimic (venous plexus, Tarlov cyst, root sleeve).
    pub const MIMIC: Rgb = [255, 200, 0];
    /// Reference structures (ROIs, landmarks, measuring lines).
    pub const REFERENCE: Rgb = [60, 220, 90];
    /// Text and level labels.
    pub const LABEL: Rgb = [255, 255, 255];
}

/// A position in an overlay's image: `[row, col]` in pixels (continuous; centres at integers).
pub type PixelPos = [f64; 2];

/// A coloured region.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayMask {
    /// `[row, col]`, same shape as the base image.
    pub mask: Array2<bool>,
    /// Colour.
    pub color: Rgb,
    /// Legend text.
    pub label: String,
    /// Draw only the boundary (true) or fill semi-transparently (false).
    pub outline_only: bool,
}

/// A line segment with an optional label at its midpoint (measurements).
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayLine {
    /// Start.
    pub from: PixelPos,
    /// End.
    pub to: PixelPos,
    /// Colour.
    pub color: Rgb,
    /// Label, e.g. `"MPD 5.2 mm"`; empty for none.
    pub label: String,
}

/// A marked point with an optional label (landmarks).
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayPoint {
    /// Position.
    pub at: PixelPos,
    /// Colour.
    pub color: Rgb,
    /// Label; empty for none.
    pub label: String,
}

/// Free text placed in the image (e.g. vertebral level labels beside the spine).
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayText {
    /// Top-left of the text.
    pub at: PixelPos,
    /// The text (ASCII renders everywhere; other characters may render as boxes).
    pub text: String,
    /// Colour.
    pub color: Rgb,
}

/// A 2D image to show with what was found on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// File stem, unique within a study (`[a-z0-9_-]`), e.g. `"spine_sagittal_overview"`.
    pub name: String,
    /// Caption shown above or under the image.
    pub title: String,
    /// Grey image `[row, col]`.
    pub base: Array2<f32>,
    /// Display window `(low, high)` for the base image.
    pub window: (f32, f32),
    /// `[row spacing, column spacing]` in mm, for display aspect; `None` for square pixels.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Orientation words for the caption, e.g. `"left of image = patient right; top = superior"`.
    /// The renderer never flips or rotates the image: the producer lays it out for display.
    pub orientation_note: String,
    /// Regions.
    pub masks: Vec<OverlayMask>,
    /// Lines.
    pub lines: Vec<OverlayLine>,
    /// Points.
    pub points: Vec<OverlayPoint>,
    /// Texts.
    pub texts: Vec<OverlayText>,
}

impl Overlay {
    /// A new overlay of a grey image with a window and nothing drawn yet.
    pub fn new(
        name: impl Into<String>,
        title: impl Into<String>,
        base: Array2<f32>,
        window: (f32, f32),
    ) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            base,
            window,
            pixel_spacing_mm: None,
            orientation_note: String::new(),
            masks: Vec::new(),
            lines: Vec::new(),
            points: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// A window from the 1st and 99th percentiles of the base image (robust to hot pixels).
    pub fn auto_window(base: &Array2<f32>) -> (f32, f32) {
        let (lo, hi) = if base.len() >= RADIX_MIN {
            percentiles_by_radix(base)
        } else {
            percentiles_by_selection(base)
        }
        .unwrap_or((0.0, 1.0));
        if hi > lo { (lo, hi) } else { (lo, lo + 1.0) }
    }
}

/// Images from this many pixels on take their window by [`percentiles_by_radix`] (below, the
/// two histograms cost more than a selection).
const RADIX_MIN: usize = 1 << 14;

/// Ranks of the 1st and 99th percentiles among `n` sorted values.
fn window_ranks(n: usize) -> (usize, usize) {
    let rank = |q: f64| {
        crate::index_of(((n - 1) as f64 * q).round())
            .unwrap_or(0)
            .min(n - 1)
    };
    (rank(0.01), rank(0.99))
}

/// The 1st and 99th percentiles of the finite values by selection (`None` without any).
fn percentiles_by_selection(base: &Array2<f32>) -> Option<(f32, f32)> {
    let mut v: Vec<f32> = base.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    // Two order statistics by selection (the same values a full sort gives, in linear time).
    let (i_lo, i_hi) = window_ranks(v.len());
    let (below, &mut hi, _) = v.select_nth_unstable_by(i_hi, f32::total_cmp);
    let lo = if i_lo < i_hi {
        *below.select_nth_unstable_by(i_lo, f32::total_cmp).1
    } else {
        hi
    };
    Some((lo, hi))
}

/// `f32::total_cmp` order as unsigned integers: the bits with the sign bit flipped for positive
/// values, every bit flipped for negative ones.
fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | (1 << 31) }
}

/// The value of an [`order_key`].
fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// The same two order statistics as [`percentiles_by_selection`], bit for bit, without
/// copying the image: a histogram of the keys' upper 16 bits finds the bucket of each rank,
/// a histogram of the lower 16 bits of that bucket's keys the key itself.
fn percentiles_by_radix(base: &Array2<f32>) -> Option<(f32, f32)> {
    const HALF: u32 = 16;
    let bucket = |k: u32| (k >> HALF) as usize;
    let mut hist = vec![0_u32; 1 << HALF];
    let mut n = 0_usize;
    for &x in base {
        if x.is_finite() {
            hist[bucket(order_key(x))] += 1;
            n += 1;
        }
    }
    if n == 0 {
        return None;
    }
    // The bucket holding rank `i`, and the rank of its first value.
    let locate = |hist: &[u32], i: usize| {
        let mut below = 0_usize;
        for (b, &h) in hist.iter().enumerate() {
            let h = h as usize;
            if below + h > i {
                return (b, below);
            }
            below += h;
        }
        (hist.len() - 1, below)
    };
    let (i_lo, i_hi) = window_ranks(n);
    let value = |i: usize| {
        let (b, below) = locate(&hist, i);
        let mut low = vec![0_u32; 1 << HALF];
        for &x in base {
            if x.is_finite() {
                let k = order_key(x);
                if bucket(k) == b {
                    low[(k & 0xffff) as usize] += 1;
                }
            }
        }
        let (l, _) = locate(&low, i - below);
        let key = (u32::try_from(b).unwrap_or(0) << HALF) | u32::try_from(l).unwrap_or(0);
        from_order_key(key)
    };
    let hi = value(i_hi);
    let lo = value(i_lo);
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_window_equals_the_sorted_percentiles() {
        // Pseudo-random values with ties, NaN and infinities, several sizes.
        for n in [1_usize, 2, 3, 57, 1000, 4099, 16_384, 70_001] {
            let mut x = 12345_u64;
            let base = Array2::from_shape_fn((1, n), |_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                match (x >> 33) % 50 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    v => (v % 17) as f32 * 0.5 - 3.0,
                }
            });
            let mut v: Vec<f32> = base.iter().copied().filter(|x| x.is_finite()).collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f32::total_cmp);
            let at = |q: f64| {
                v[crate::index_of(((v.len() - 1) as f64 * q).round())
                    .unwrap()
                    .min(v.len() - 1)]
            };
            let (lo, hi) = (at(0.01), at(0.99));
            let want = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
            assert_eq!(Overlay::auto_window(&base), want, "n = {n}");
        }
    }

    #[test]
    fn radix_percentiles_equal_the_selected_ones() {
        // Values over many magnitudes and both signs, zeros of both signs, ties, NaN and
        // infinities; an image of one value; an image without a finite value.
        let mut x = 777_u64;
        for n in [16_384_usize, 50_000, 262_144] {
            let base = Array2::from_shape_fn((1, n), |_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let u = (x >> 40) as f32 / (1_u32 << 24) as f32;
                match (x >> 7) % 64 {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    2 => -0.0,
                    3..=20 => 0.0,
                    21 => -u * 1e4,
                    22 => 3.0,
                    k => u * 10_f32.powi(i32::try_from(k % 7).unwrap() - 2),
                }
            });
            assert_eq!(
                percentiles_by_radix(&base).map(|(a, b)| (a.to_bits(), b.to_bits())),
                percentiles_by_selection(&base).map(|(a, b)| (a.to_bits(), b.to_bits())),
                "n = {n}"
            );
        }
        let flat = Array2::from_elem((200, 200), -2.5_f32);
        assert_eq!(Overlay::auto_window(&flat), (-2.5, -1.5));
        let none = Array2::from_elem((200, 200), f32::NAN);
        assert_eq!(percentiles_by_radix(&none), None);
        assert_eq!(Overlay::auto_window(&none), (0.0, 1.0));
    }

    #[test]
    fn auto_window_ignores_outliers() {
        let mut base = Array2::from_shape_fn((10, 10), |(r, c)| (r * 10 + c) as f32);
        base[[0, 0]] = -1e6;
        base[[9, 9]] = 1e6;
        let (lo, hi) = Overlay::auto_window(&base);
        assert!(lo > -10.0 && lo < 5.0, "{lo}");
        assert!(hi > 90.0 && hi < 100.0, "{hi}");
        let flat = Array2::from_elem((3, 3), 5.0_f32);
        assert_eq!(Overlay::auto_window(&flat), (5.0, 6.0));
    }
}
