//! RLE Lossless encoding (PS3.5 Annex G): one `PackBits` segment per byte plane.

/// PackBits-encode one byte plane (PS3.5 G.3.1), padded to an even length.
pub(crate) fn packbits(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let n = src.len();
    let mut i = 0;
    while i < n {
        // Length of the replicate run starting at i (at most 128).
        let mut run = 1;
        while i + run < n && run < 128 && src[i + run] == src[i] {
            run += 1;
        }
        if run >= 2 {
            // Header -(run - 1) as a two's-complement byte: 257 - run.
            #[allow(
                clippy::cast_possible_truncation,
                reason = "run is 2..=128, so 257 - run is 129..=255"
            )]
            out.push((257 - run) as u8);
            out.push(src[i]);
            i += run;
            continue;
        }
        // Literal run: until two equal bytes start a replicate run, at most 128 bytes.
        let start = i;
        let mut len = 0;
        while i < n && len < 128 {
            if i + 1 < n && src[i] == src[i + 1] {
                break;
            }
            i += 1;
            len += 1;
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "len is 1..=128, so len - 1 fits a byte"
        )]
        out.push((len - 1) as u8);
        out.extend_from_slice(&src[start..start + len]);
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// One RLE frame of 16-bit samples: the 64-byte header, then the most significant byte plane,
/// then the least significant one (PS3.5 G.2).
pub(crate) fn encode_frame_u16(samples: &[u16]) -> Vec<u8> {
    let hi: Vec<u8> = samples.iter().map(|s| s.to_be_bytes()[0]).collect();
    let lo: Vec<u8> = samples.iter().map(|s| s.to_be_bytes()[1]).collect();
    let seg_hi = packbits(&hi);
    let seg_lo = packbits(&lo);
    let mut header = [0_u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + u32::try_from(seg_hi.len()).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    for h in header {
        out.extend_from_slice(&h.to_le_bytes());
    }
    out.extend_from_slice(&seg_hi);
    out.extend_from_slice(&seg_lo);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference `PackBits` decoder, written from PS3.5 G.3.2.
    fn unpack(src: &[u8], n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < n && i < src.len() {
            let h = src[i];
            i += 1;
            if h < 128 {
                let len = usize::from(h) + 1;
                out.extend_from_slice(&src[i..i + len]);
                i += len;
            } else if h > 128 {
                let len = 257 - usize::from(h);
                out.extend(std::iter::repeat_n(src[i], len));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn packbits_round_trips_runs_and_literals() {
        let mut data = vec![0_u8; 300];
        data.extend((0..=255_u8).cycle().take(400));
        data.extend([5, 5, 6, 7, 7, 7, 8]);
        let enc = packbits(&data);
        assert_eq!(enc.len() % 2, 0);
        assert_eq!(unpack(&enc, data.len()), data);
        // Long runs compress.
        assert!(packbits(&[9; 1000]).len() < 20);
    }

    #[test]
    fn frame_header_points_at_both_segments() {
        let s: Vec<u16> = (0..500_u16).map(|x| x * 131).collect();
        let f = encode_frame_u16(&s);
        let word =
            |k: usize| u32::from_le_bytes([f[4 * k], f[4 * k + 1], f[4 * k + 2], f[4 * k + 3]]);
        assert_eq!(word(0), 2);
        assert_eq!(word(1), 64);
        let o2 = word(2) as usize;
        let hi = unpack(&f[64..o2], s.len());
        let lo = unpack(&f[o2..], s.len());
        let back: Vec<u16> = hi
            .iter()
            .zip(&lo)
            .map(|(&h, &l)| u16::from_be_bytes([h, l]))
            .collect();
        assert_eq!(back, s);
    }
}
