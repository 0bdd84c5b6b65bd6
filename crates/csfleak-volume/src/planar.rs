//! Planar images: projection frames such as NM whole-body or spot views.

use ndarray::{Array3, ArrayView2, Axis};

use crate::{Error, Result, checked_len, try_alloc};

/// A stack of 2D projection frames, `[frame, row, col]`, with in-plane pixel spacing.
///
/// Planar NM frames are projections, not slices: they have no slice position, so they are not
/// faked into a 3D [`crate::Volume`]. What each frame is (view, energy window, time slot) lives
/// in the series metadata, frame by frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanarImage {
    frames: Array3<f32>,
    /// `[row spacing, column spacing]` in mm (DICOM Pixel Spacing order), if known.
    pub pixel_spacing_mm: Option<[f64; 2]>,
}

impl PlanarImage {
    /// Frames from an array of shape `[frame, row, col]`.
    pub fn new(frames: Array3<f32>, pixel_spacing_mm: Option<[f64; 2]>) -> Self {
        Self {
            frames,
            pixel_spacing_mm,
        }
    }

    /// Frames from a flat buffer in storage order (frame after frame, row after row).
    pub fn from_vec(
        n_frames: usize,
        rows: usize,
        cols: usize,
        pixels: Vec<f32>,
        pixel_spacing_mm: Option<[f64; 2]>,
    ) -> Result<Self> {
        let len = pixels.len();
        let frames = Array3::from_shape_vec((n_frames, rows, cols), pixels).map_err(|_| {
            Error::ShapeMismatch {
                shape: vec![len],
                expected: [n_frames, rows, cols],
            }
        })?;
        Ok(Self::new(frames, pixel_spacing_mm))
    }

    /// Zero-filled frames.
    pub fn zeros(
        n_frames: usize,
        rows: usize,
        cols: usize,
        pixel_spacing_mm: Option<[f64; 2]>,
    ) -> Result<Self> {
        let n = checked_len(&[n_frames, rows, cols])?;
        Self::from_vec(n_frames, rows, cols, try_alloc(n, 0.0)?, pixel_spacing_mm)
    }

    /// Number of frames.
    #[inline]
    pub fn n_frames(&self) -> usize {
        self.frames.shape()[0]
    }

    /// Rows per frame.
    #[inline]
    pub fn rows(&self) -> usize {
        self.frames.shape()[1]
    }

    /// Columns per frame.
    #[inline]
    pub fn cols(&self) -> usize {
        self.frames.shape()[2]
    }

    /// One frame as `[row, col]`; `None` past the end.
    #[inline]
    pub fn frame(&self, index: usize) -> Option<ArrayView2<'_, f32>> {
        (index < self.n_frames()).then(|| self.frames.index_axis(Axis(0), index))
    }

    /// All frames, `[frame, row, col]`.
    #[inline]
    pub fn frames(&self) -> &Array3<f32> {
        &self.frames
    }

    /// All frames, mutable.
    pub fn frames_mut(&mut self) -> &mut Array3<f32> {
        &mut self.frames
    }

    /// Sum of a frame's pixels in `f64` (fixed order: row after row).
    pub fn frame_sum(&self, index: usize) -> Option<f64> {
        self.frame(index)
            .map(|f| f.iter().map(|&x| f64::from(x)).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_frame_row_col() {
        let px: Vec<f32> = (0..12u8).map(f32::from).collect();
        let p = PlanarImage::from_vec(2, 2, 3, px, Some([4.0, 4.0])).unwrap();
        assert_eq!(p.n_frames(), 2);
        assert_eq!(p.frame(1).unwrap()[[0, 1]], 7.0);
        assert_eq!(p.frame_sum(0), Some(15.0));
        assert!(p.frame(2).is_none());
        assert!(PlanarImage::from_vec(2, 2, 3, vec![0.0; 5], None).is_err());
    }
}
