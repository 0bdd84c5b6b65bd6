//! PNG rendering of [`Overlay`] descriptions: the one display convention of csfleak.
//!
//! * **Window/level**: the overlay's `window (low, high)` maps linearly to black..white;
//!   values outside are clamped, non-finite values are black.
//! * **Pixel aspect**: with `pixel_spacing_mm` the image is resampled (bilinear) so that one
//!   screen pixel has the same size in millimetres in both directions; the finer spacing is
//!   kept. Small images are enlarged by an integer-like factor so that the longer side reaches
//!   [`PngOptions::min_side_px`]; large ones are shrunk to [`PngOptions::max_side_px`].
//! * **Orientation**: the renderer never flips or rotates; the producer lays the image out
//!   (radiological convention: image left = patient right) and says so in `orientation_note`.
//! * **Drawing**: masks filled semi-transparently (or outlined), lines, point crosses and text
//!   in the built-in 5x7 font with a dark shadow, all in the colours of
//!   [`csfleak_volume::overlay::colors`].

use std::io::Write as _;
use std::path::{Path, PathBuf};

use csfleak_volume::index_of;
use csfleak_volume::overlay::{Overlay, OverlayMask, PixelPos, Rgb};
use image::{ImageEncoder, RgbImage};

use crate::font;
use crate::{Error, Result};

/// Options of the PNG renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PngOptions {
    /// Enlarge small images until the longer side has at least this many pixels (default 384).
    pub min_side_px: u32,
    /// Shrink large images so that the longer side has at most this many pixels (default 1024).
    pub max_side_px: u32,
    /// Opacity of filled masks, 0..=255 (default 110).
    pub mask_alpha: u8,
}

impl Default for PngOptions {
    fn default() -> Self {
        Self {
            min_side_px: 384,
            max_side_px: 1024,
            mask_alpha: 110,
        }
    }
}

impl PngOptions {
    /// Set the minimum longer side.
    pub fn with_min_side_px(mut self, px: u32) -> Self {
        self.min_side_px = px;
        self
    }

    /// Set the maximum longer side.
    pub fn with_max_side_px(mut self, px: u32) -> Self {
        self.max_side_px = px;
        self
    }
}

/// Scale from source pixels to screen pixels, per axis.
#[derive(Debug, Clone, Copy)]
struct Scale {
    sy: f64,
    sx: f64,
}

impl Scale {
    fn to_screen(self, p: PixelPos) -> (f64, f64) {
        ((p[0] + 0.5) * self.sy - 0.5, (p[1] + 0.5) * self.sx - 0.5)
    }
}

fn invalid(overlay: &Overlay, detail: impl Into<String>) -> Error {
    Error::InvalidInput {
        path: PathBuf::from(format!("{}.png", overlay.name)),
        detail: detail.into(),
    }
}

/// Screen size and scale of an overlay.
fn layout(overlay: &Overlay, opts: &PngOptions) -> Result<(u32, u32, Scale)> {
    let (rows, cols) = overlay.base.dim();
    if rows == 0 || cols == 0 {
        return Err(invalid(overlay, "empty base image"));
    }
    let [rs, cs] = overlay.pixel_spacing_mm.unwrap_or([1.0, 1.0]);
    let (rs, cs) = if rs.is_finite() && cs.is_finite() && rs > 0.0 && cs > 0.0 {
        (rs, cs)
    } else {
        (1.0, 1.0)
    };
    let fine = rs.min(cs);
    // Aspect-correct size at the finer spacing.
    let h0 = rows as f64 * rs / fine;
    let w0 = cols as f64 * cs / fine;
    let longer = h0.max(w0);
    let min_side = f64::from(opts.min_side_px.max(16));
    let max_side = f64::from(opts.max_side_px.max(opts.min_side_px).max(16));
    let zoom = if longer < min_side {
        (min_side / longer).ceil()
    } else if longer > max_side {
        max_side / longer
    } else {
        1.0
    };
    let to_px = |x: f64| -> Result<u32> {
        index_of(x.round().max(1.0))
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| invalid(overlay, "image size out of range"))
    };
    let h = to_px(h0 * zoom)?;
    let w = to_px(w0 * zoom)?;
    let scale = Scale {
        sy: f64::from(h) / rows as f64,
        sx: f64::from(w) / cols as f64,
    };
    Ok((w, h, scale))
}

/// Nearest source index of each screen pixel along one axis (`n` source pixels, `screen`
/// screen pixels, `scale` screen pixels per source pixel).
fn nearest_table(screen: u32, scale: f64, n: usize) -> Vec<usize> {
    (0..screen)
        .map(|x| {
            index_of(((f64::from(x) + 0.5) / scale - 0.5).round().max(0.0))
                .unwrap_or(0)
                .min(n - 1)
        })
        .collect()
}

/// Bilinear taps of each screen pixel along one axis: the two source indices and the weight
/// of the second.
fn linear_table(screen: u32, scale: f64, n: usize) -> Vec<(usize, usize, f64)> {
    (0..screen)
        .map(|x| {
            let f = ((f64::from(x) + 0.5) / scale - 0.5).clamp(0.0, (n - 1) as f64);
            let i0 = index_of(f.floor()).unwrap_or(0).min(n - 1);
            (i0, (i0 + 1).min(n - 1), f - i0 as f64)
        })
        .collect()
}

fn blend(px: &mut image::Rgb<u8>, color: Rgb, alpha: u8) {
    let a = u16::from(alpha);
    for (dst, src) in px.0.iter_mut().zip(color) {
        let mixed = (u16::from(*dst) * (255 - a) + u16::from(src) * a + 127) / 255;
        *dst = u8::try_from(mixed).unwrap_or(u8::MAX);
    }
}

/// A pixel setter clipped to the image.
fn put(img: &mut RgbImage, y: f64, x: f64, color: Rgb) {
    if !(y.is_finite() && x.is_finite()) || y < 0.0 || x < 0.0 {
        return;
    }
    let (Some(yi), Some(xi)) = (index_of(y.round()), index_of(x.round())) else {
        return;
    };
    let (Ok(yi), Ok(xi)) = (u32::try_from(yi), u32::try_from(xi)) else {
        return;
    };
    if yi < img.height() && xi < img.width() {
        img.put_pixel(xi, yi, image::Rgb(color));
    }
}

fn draw_line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), color: Rgb, thick: bool) {
    let steps = (b.0 - a.0)
        .abs()
        .max((b.1 - a.1).abs())
        .ceil()
        .clamp(1.0, 8192.0);
    let n = index_of(steps).unwrap_or(1);
    for s in 0..=n {
        let t = s as f64 / steps;
        let y = a.0 + (b.0 - a.0) * t;
        let x = a.1 + (b.1 - a.1) * t;
        put(img, y, x, color);
        if thick {
            put(img, y + 1.0, x, color);
            put(img, y, x + 1.0, color);
        }
    }
}

/// Draw `text` with its top-left at screen `(y, x)`, with a dark shadow.
fn draw_text(img: &mut RgbImage, y: f64, x: f64, text: &str, color: Rgb, scale: usize) {
    let sc = scale as f64;
    for pass in 0..2 {
        let (dy, dx, col) = if pass == 0 {
            (sc, sc, [0, 0, 0])
        } else {
            (0.0, 0.0, color)
        };
        for (i, ch) in text.chars().enumerate() {
            let x0 = x + (i * font::ADVANCE) as f64 * sc + dx;
            for r in 0..font::GLYPH_H {
                for c in 0..font::GLYPH_W {
                    if !font::pixel(ch, r, c) {
                        continue;
                    }
                    for sy in 0..scale {
                        for sx in 0..scale {
                            put(
                                img,
                                y + dy + (r * scale + sy) as f64,
                                x0 + (c * scale + sx) as f64,
                                col,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Render an overlay to an RGB image (see the module docs for the convention).
pub fn render(overlay: &Overlay, opts: &PngOptions) -> Result<RgbImage> {
    let (w, h, scale) = layout(overlay, opts)?;
    let (rows, cols) = overlay.base.dim();
    for m in &overlay.masks {
        if m.mask.dim() != (rows, cols) {
            return Err(invalid(
                overlay,
                format!(
                    "mask {:?} is {:?}, the base image {:?}",
                    m.label,
                    m.mask.dim(),
                    (rows, cols)
                ),
            ));
        }
    }
    let mut img = RgbImage::new(w, h);
    // Bilinear resampling, separably: each screen row interpolates two source rows into one
    // (vertical taps), then each pixel between two columns of it (horizontal taps, computed
    // once per column). Window/level is one multiply-add per pixel.
    let taps_y = linear_table(h, scale.sy, rows);
    let taps_x = linear_table(w, scale.sx, cols);
    let b = &overlay.base;
    let (lo, hi) = overlay.window;
    let span = if hi > lo { hi - lo } else { 1.0 };
    let gain = 255.0 / span;
    let mut mixed = vec![0.0_f32; cols];
    for ((r0, r1, ty), line) in taps_y.iter().zip(img.chunks_exact_mut(3 * w as usize)) {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "an interpolation weight in [0, 1]"
        )]
        let ty = *ty as f32;
        for ((m, a), b) in mixed.iter_mut().zip(b.row(*r0)).zip(b.row(*r1)) {
            *m = a * (1.0 - ty) + b * ty;
        }
        for ((c0, c1, tx), px) in taps_x.iter().zip(line.chunks_exact_mut(3)) {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "an interpolation weight in [0, 1]"
            )]
            let tx = *tx as f32;
            let v = mixed[*c0] * (1.0 - tx) + mixed[*c1] * tx;
            let g = if v.is_finite() {
                round_to_u8(((v - lo) * gain).clamp(0.0, 255.0))
            } else {
                0
            };
            px.copy_from_slice(&[g, g, g]);
        }
    }
    let near_y = nearest_table(h, scale.sy, rows);
    let near_x = nearest_table(w, scale.sx, cols);
    for m in &overlay.masks {
        if !m.mask.iter().any(|&v| v) {
            continue;
        }
        composite_mask(&mut img, m, &near_y, &near_x, opts.mask_alpha);
    }
    let text_scale = if w >= 480 { 2 } else { 1 };
    let thick = scale.sy.min(scale.sx) >= 2.0;
    for l in &overlay.lines {
        let (a, b) = (scale.to_screen(l.from), scale.to_screen(l.to));
        draw_line(&mut img, a, b, l.color, thick);
        if !l.label.is_empty() {
            let (my, mx) = (f64::midpoint(a.0, b.0), f64::midpoint(a.1, b.1));
            draw_text(&mut img, my + 3.0, mx + 4.0, &l.label, l.color, text_scale);
        }
    }
    for p in &overlay.points {
        let (y, x) = scale.to_screen(p.at);
        let arm = 4.0 * text_scale as f64;
        draw_line(&mut img, (y - arm, x), (y + arm, x), p.color, thick);
        draw_line(&mut img, (y, x - arm), (y, x + arm), p.color, thick);
        if !p.label.is_empty() {
            draw_text(
                &mut img,
                y - arm,
                x + arm + 2.0,
                &p.label,
                p.color,
                text_scale,
            );
        }
    }
    for t in &overlay.texts {
        let (y, x) = scale.to_screen(t.at);
        draw_text(&mut img, y, x, &t.text, t.color, text_scale);
    }
    Ok(img)
}

/// Paint one mask over the image, resampled to the screen by nearest neighbour: filled (blended
/// with `alpha`) or, for `outline_only`, its edge pixels in the mask colour. Works a screen row
/// at a time with the rows above and below resampled once each (the outline test needs them).
/// `x.round() as u8` for `x` in `[0, 255]` (halves away from zero), without the `roundf` call
/// the baseline x86-64 target makes of `f32::round`: the fraction `x - trunc(x)` is exact in
/// `f32` for these values, so the result is the same in every case.
#[inline]
fn round_to_u8(x: f32) -> u8 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "x is in 0..=255 (clamped by the caller)"
    )]
    let t = x as u8;
    t + u8::from(x - f32::from(t) >= 0.5)
}

fn composite_mask(
    img: &mut RgbImage,
    m: &OverlayMask,
    near_y: &[usize],
    near_x: &[usize],
    alpha: u8,
) {
    let (w, h) = (near_x.len(), near_y.len());
    let resample = |y: usize, out: &mut Vec<bool>| {
        let src = m.mask.row(near_y[y]);
        out.clear();
        out.extend(near_x.iter().map(|&c| src[c]));
    };
    let (mut above, mut here, mut below) = (vec![false; w], Vec::new(), Vec::new());
    resample(0, &mut here);
    for (y, line) in img.chunks_exact_mut(3 * w).enumerate() {
        if y + 1 < h {
            resample(y + 1, &mut below);
        } else {
            below.clear();
            below.resize(w, false);
        }
        for (x, px) in line.chunks_exact_mut(3).enumerate() {
            if !here[x] {
                continue;
            }
            if m.outline_only {
                let edge = y == 0
                    || x == 0
                    || y + 1 == h
                    || x + 1 == w
                    || !above[x]
                    || !below[x]
                    || !here[x - 1]
                    || !here[x + 1];
                if edge {
                    px.copy_from_slice(&m.color);
                }
            } else {
                let mut rgb = image::Rgb([px[0], px[1], px[2]]);
                blend(&mut rgb, m.color, alpha);
                px.copy_from_slice(&rgb.0);
            }
        }
        std::mem::swap(&mut above, &mut here);
        std::mem::swap(&mut here, &mut below);
    }
}

/// Encode an image as PNG bytes.
pub fn encode(img: &RgbImage, name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::InvalidInput {
            path: PathBuf::from(name),
            detail: format!("PNG encoding failed: {e}"),
        })?;
    Ok(out)
}

/// Render an overlay and encode it as PNG bytes.
pub fn render_png(overlay: &Overlay, opts: &PngOptions) -> Result<Vec<u8>> {
    let img = render(overlay, opts)?;
    encode(&img, &format!("{}.png", overlay.name))
}

/// Write bytes to `path` through a temporary sibling and a rename.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write_atomically(path, |w| w.write_all(bytes))
}

fn check_name(overlay: &Overlay) -> Result<()> {
    let ok_name = !overlay.name.is_empty()
        && overlay
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok_name {
        Ok(())
    } else {
        Err(invalid(overlay, "overlay name must be [a-z0-9_-]+"))
    }
}

/// Render an overlay to `dir/<name>.png` (atomically) and return the PNG bytes.
pub fn write_overlay(dir: &Path, overlay: &Overlay, opts: &PngOptions) -> Result<Vec<u8>> {
    check_name(overlay)?;
    let bytes = render_png(overlay, opts)?;
    write_bytes(&dir.join(format!("{}.png", overlay.name)), &bytes)?;
    Ok(bytes)
}

/// Write PNG bytes already rendered from `overlay` ([`render_png`]) to `dir/<name>.png`
/// (atomically), with the same name check as [`write_overlay`].
pub fn write_rendered(dir: &Path, overlay: &Overlay, png: &[u8]) -> Result<()> {
    check_name(overlay)?;
    write_bytes(&dir.join(format!("{}.png", overlay.name)), png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use csfleak_volume::overlay::{OverlayLine, OverlayText, colors};
    use ndarray::Array2;

    fn ramp(rows: usize, cols: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(_, c)| c as f32)
    }

    /// The base image and masks drawn the plainest way (one pixel at a time, every mask over
    /// the whole image): the reference any faster renderer must equal.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "weights in [0, 1], greys in 0..=255, test image sizes"
    )]
    fn render_reference(overlay: &Overlay, opts: &PngOptions) -> RgbImage {
        let (w, h, scale) = layout(overlay, opts).unwrap();
        let (rows, cols) = overlay.base.dim();
        let mut img = RgbImage::new(w, h);
        let taps_y = linear_table(h, scale.sy, rows);
        let taps_x = linear_table(w, scale.sx, cols);
        let b = &overlay.base;
        let (lo, hi) = overlay.window;
        let gain = 255.0 / if hi > lo { hi - lo } else { 1.0 };
        let mut mixed = vec![0.0_f32; cols];
        for ((r0, r1, ty), line) in taps_y.iter().zip(img.chunks_exact_mut(3 * w as usize)) {
            let ty = *ty as f32;
            for ((m, a), b) in mixed.iter_mut().zip(b.row(*r0)).zip(b.row(*r1)) {
                *m = a * (1.0 - ty) + b * ty;
            }
            for ((c0, c1, tx), px) in taps_x.iter().zip(line.chunks_exact_mut(3)) {
                let tx = *tx as f32;
                let v = mixed[*c0] * (1.0 - tx) + mixed[*c1] * tx;
                let g = if v.is_finite() {
                    ((v - lo) * gain).clamp(0.0, 255.0).round() as u8
                } else {
                    0
                };
                px.copy_from_slice(&[g, g, g]);
            }
        }
        let near_y = nearest_table(h, scale.sy, rows);
        let near_x = nearest_table(w, scale.sx, cols);
        let (w, h) = (w as usize, h as usize);
        for m in &overlay.masks {
            let at = |y: usize, x: usize| m.mask[[near_y[y], near_x[x]]];
            for y in 0..h {
                for x in 0..w {
                    if !at(y, x) {
                        continue;
                    }
                    let px = img.get_pixel_mut(x as u32, y as u32);
                    if m.outline_only {
                        let edge = y == 0
                            || x == 0
                            || y + 1 == h
                            || x + 1 == w
                            || !at(y - 1, x)
                            || !at(y + 1, x)
                            || !at(y, x - 1)
                            || !at(y, x + 1);
                        if edge {
                            *px = image::Rgb(m.color);
                        }
                    } else {
                        blend(px, m.color, opts.mask_alpha);
                    }
                }
            }
        }
        img
    }

    #[test]
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        reason = "small test sizes and pseudo-random values"
    )]
    fn base_and_masks_equal_the_reference_renderer() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut compared = 0;
        // Enlarged, shrunk, anisotropic; masks touching the borders, blobs, empty, outlines.
        for (rows, cols, spacing) in [
            (17, 23, [1.0, 1.0]),
            (40, 9, [0.7, 2.1]),
            (300, 1100, [1.0, 1.0]),
            (64, 64, [3.0, 0.5]),
            (5, 200, [1.0, 1.0]),
        ] {
            for round in 0..4 {
                let base = Array2::from_shape_fn((rows, cols), |_| match next() % 40 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    v => (v as f32) * 3.7 - 20.0,
                });
                let mut o = Overlay::new("r", "r", base, (-5.0, 90.0 + f32::from(round)));
                o.pixel_spacing_mm = Some(spacing);
                for k in 0..3 {
                    let (r0, c0) = (next() as usize % rows, next() as usize % cols);
                    let (r1, c1) = (
                        (r0 + 1 + next() as usize % rows).min(rows),
                        (c0 + 1 + next() as usize % cols).min(cols),
                    );
                    let mask = Array2::from_shape_fn((rows, cols), |(r, c)| {
                        (r0..r1).contains(&r) && (c0..c1).contains(&c) && next() % 5 != 0
                            || (round == 3 && (r == 0 || c + 1 == cols))
                    });
                    o.masks.push(OverlayMask {
                        mask,
                        color: [200, 40 * k, 10],
                        label: String::new(),
                        outline_only: (k + round) % 2 == 0,
                    });
                }
                if round == 1 {
                    o.masks.push(OverlayMask {
                        mask: Array2::from_elem((rows, cols), false),
                        color: colors::SAC,
                        label: String::new(),
                        outline_only: false,
                    });
                }
                for opts in [
                    PngOptions::default(),
                    PngOptions::default()
                        .with_min_side_px(16)
                        .with_max_side_px(64),
                ] {
                    let got = render(&o, &opts).unwrap();
                    assert_eq!(got, render_reference(&o, &opts), "{rows}x{cols} {round}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 40);
    }

    #[test]
    #[allow(clippy::cast_precision_loss, reason = "test values below 2^22")]
    fn round_to_u8_equals_f32_round() {
        // Around every half and whole value (a few ulps either side) and on a fine sweep.
        let mut xs = Vec::new();
        for i in 0..=510_u16 {
            let mut x = f32::from(i) * 0.5;
            for _ in 0..4 {
                x = x.next_down();
            }
            for _ in 0..9 {
                xs.push(x);
                x = x.next_up();
            }
        }
        xs.extend((0..=2_550_000_u32).map(|i| i as f32 * 1e-4));
        for x in xs.into_iter().filter(|x| (0.0..=255.0).contains(x)) {
            assert_eq!(f32::from(round_to_u8(x)), x.round(), "{x:e}");
        }
    }

    #[test]
    fn window_maps_low_to_black_and_high_to_white() {
        let o = Overlay::new("t", "t", ramp(10, 100), (10.0, 90.0));
        let img = render(&o, &PngOptions::default().with_min_side_px(16)).unwrap();
        assert_eq!((img.width(), img.height()), (100, 10));
        assert_eq!(img.get_pixel(0, 5).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(99, 5).0, [255, 255, 255]);
        let mid = img.get_pixel(50, 5).0[0];
        assert!((120..=135).contains(&mid), "{mid}");
    }

    #[test]
    fn pixel_aspect_is_corrected() {
        // 20 rows of 2 mm, 40 columns of 0.5 mm: 40 mm tall, 20 mm wide.
        let mut o = Overlay::new("a", "a", ramp(20, 40), (0.0, 40.0));
        o.pixel_spacing_mm = Some([2.0, 0.5]);
        let img = render(&o, &PngOptions::default().with_min_side_px(16)).unwrap();
        assert_eq!((img.width(), img.height()), (40, 80));
    }

    #[test]
    fn small_images_are_enlarged_and_large_ones_shrunk() {
        let o = Overlay::new("s", "s", ramp(32, 64), (0.0, 64.0));
        let img = render(&o, &PngOptions::default()).unwrap();
        assert!(
            img.width() >= 384 && img.width() % 64 == 0,
            "{}",
            img.width()
        );
        let big = Overlay::new("b", "b", ramp(300, 3000), (0.0, 1.0));
        let img = render(&big, &PngOptions::default()).unwrap();
        assert_eq!(img.width(), 1024);
    }

    #[test]
    fn masks_lines_and_text_are_drawn_in_their_colours() {
        let base = Array2::zeros((64, 64));
        let mut o = Overlay::new("m", "m", base, (0.0, 1.0));
        let mut mask = Array2::from_elem((64, 64), false);
        for r in 10..20 {
            for c in 10..20 {
                mask[[r, c]] = true;
            }
        }
        o.masks.push(OverlayMask {
            mask,
            color: colors::FINDING,
            label: "leak".into(),
            outline_only: false,
        });
        o.lines.push(OverlayLine {
            from: [40.0, 5.0],
            to: [40.0, 60.0],
            color: colors::REFERENCE,
            label: String::new(),
        });
        o.texts.push(OverlayText {
            at: [50.0, 2.0],
            text: "L4".into(),
            color: colors::LABEL,
        });
        let img = render(&o, &PngOptions::default().with_min_side_px(64)).unwrap();
        let inside = img.get_pixel(15, 15).0;
        assert!(inside[0] > 80 && inside[1] < 40, "{inside:?}");
        assert_eq!(img.get_pixel(5, 5).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(30, 40).0, colors::REFERENCE);
        // The 'L' has a vertical stroke in its first column.
        let white = (50..57)
            .filter(|&y| img.get_pixel(2, y).0 == colors::LABEL)
            .count();
        assert!(white >= 6, "{white}");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let o = Overlay::new("e", "e", Array2::zeros((0, 5)), (0.0, 1.0));
        assert!(render(&o, &PngOptions::default()).is_err());
        let mut o = Overlay::new("e", "e", Array2::zeros((4, 4)), (0.0, 1.0));
        o.masks.push(OverlayMask {
            mask: Array2::from_elem((3, 3), true),
            color: colors::SAC,
            label: String::new(),
            outline_only: true,
        });
        assert!(render(&o, &PngOptions::default()).is_err());
        let bad = Overlay::new("Bad Name", "x", Array2::zeros((4, 4)), (0.0, 1.0));
        let dir = tempfile::tempdir().unwrap();
        assert!(write_overlay(dir.path(), &bad, &PngOptions::default()).is_err());
    }

    #[test]
    fn written_png_decodes_to_the_rendered_pixels() {
        let o = Overlay::new("w", "w", ramp(8, 16), (0.0, 15.0));
        let dir = tempfile::tempdir().unwrap();
        let opts = PngOptions::default().with_min_side_px(16);
        let bytes = write_overlay(dir.path(), &o, &opts).unwrap();
        let back = image::load_from_memory(&std::fs::read(dir.path().join("w.png")).unwrap())
            .unwrap()
            .to_rgb8();
        assert_eq!(back, render(&o, &opts).unwrap());
        assert_eq!(&bytes[..4], b"\x89PNG");
    }
}
