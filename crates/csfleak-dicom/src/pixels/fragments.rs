//! The compressed bytes of each frame of encapsulated Pixel Data, shared by the hand-written
//! codecs (RLE, JPEG 8/12-bit, JPEG-LS).

/// One compressed byte string per frame: the fragments as they are (one per frame), or, for a
/// single-frame object split over several fragments, the fragments joined.
pub(super) enum FrameBytes<'a> {
    /// One fragment per frame.
    PerFragment(&'a [Vec<u8>]),
    /// A single frame stored in several fragments.
    Joined(Vec<u8>),
}

impl FrameBytes<'_> {
    /// The frames' bytes in frame order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (many, one): (&[Vec<u8>], Option<&[u8]>) = match self {
            FrameBytes::PerFragment(f) => (f, None),
            FrameBytes::Joined(j) => (&[], Some(j.as_slice())),
        };
        many.iter().map(Vec::as_slice).chain(one)
    }
}

/// Map fragments to `n_frames` frames; `None` when neither one fragment per frame nor a single
/// frame (several fragments per frame of a multi-frame object need the offset table).
pub(super) fn frame_bytes(fragments: &[Vec<u8>], n_frames: usize) -> Option<FrameBytes<'_>> {
    if fragments.len() == n_frames {
        Some(FrameBytes::PerFragment(fragments))
    } else if n_frames == 1 {
        Some(FrameBytes::Joined(fragments.concat()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fragment_per_frame_or_one_joined_frame() {
        let f = vec![vec![1_u8, 2], vec![3]];
        let per = frame_bytes(&f, 2).unwrap();
        assert_eq!(
            per.iter().collect::<Vec<_>>(),
            vec![&[1_u8, 2][..], &[3][..]]
        );
        let joined = frame_bytes(&f, 1).unwrap();
        assert_eq!(joined.iter().collect::<Vec<_>>(), vec![&[1_u8, 2, 3][..]]);
        assert!(frame_bytes(&f, 3).is_none());
    }
}
