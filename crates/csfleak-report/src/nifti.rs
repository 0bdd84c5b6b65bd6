//! NIfTI-1 writer for [`Volume`], [`Mask`] and [`PlanarImage`].
//!
//! This is the **one place** where patient LPS becomes NIfTI RAS:
//! `sform = ras_from_lps · world_from_voxel` ([`ras_affine`]). Voxel `(i, j, k)` of the volume is
//! NIfTI voxel `(i, j, k)`: the data are written `i` fastest, then `j`, then `k`, which is the
//! storage order of [`Volume`] (`[k, j, i]`), so no transposition or copy is needed.
//!
//! Header choices (documented for readers of the files):
//! * `sform_code = qform_code = 1` (scanner anatomical), `xyzt_units` = millimetres.
//! * The qform is the quaternion of the nearest rotation to the sform's direction matrix, with
//!   `qfac = -1` (stored in `pixdim[0]`) for a left-handed voxel frame. For a sheared grid (CT
//!   gantry tilt) the qform cannot represent the shear; the sform is exact and is what readers
//!   should use (nibabel, FSL and ITK prefer the sform when its code is set).
//! * Data type ([`DataTypeChoice::Auto`]): `int16` when every voxel is an integer in
//!   `-32768..=32767` (CT in HU, most MR and NM data, half the size of `float32`), else
//!   `float32`. `scl_slope = 1`, `scl_inter = 0` always: the stored numbers are the values.
//!   Masks are `uint8` 0/1.
//! * Planar frames ([`write_planar`]) are 4D `[cols, rows, 1, frames]`: a time/view series of
//!   2D images, which viewers show as 2D + frames. `pixdim` carries the pixel spacing; planar
//!   images have no patient position, so `sform_code = qform_code = 0` (unknown) and readers
//!   fall back to the pixel spacing. Timing lives in the JSON sidecar.
//!
//! The header and data are written by this module (not by the `nifti` crate's writer, which
//! needs a whole converted array in memory and forces `scl_slope`): the data are converted and
//! streamed slice by slice, so writing an `int16` file needs no second copy of the volume.

use std::io::Write;
use std::path::{Path, PathBuf};

use csfleak_volume::{Geometry, Mask, PlanarImage, Volume, ras_from_lps};
use flate2::write::GzEncoder;
use flate2::{Compress, Compression, Crc, FlushCompress};
use glam::{DAffine3, DMat3, DQuat, DVec3};
use serde::Serialize;

use crate::atomic::{AtomicFile, write_atomically};
use crate::{Error, Result};

/// How voxel values are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DataTypeChoice {
    /// `int16` when every value is an integer that fits, else `float32`.
    #[default]
    Auto,
    /// Always `float32`.
    Float32,
}

/// Options of the NIfTI writer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NiftiOptions {
    /// Gzip the file; `None` decides from the file name (`.gz`).
    pub compress: Option<bool>,
    /// Stored data type.
    pub data_type: DataTypeChoice,
    /// Gzip level 0-9; `None` is 1 (fast; higher levels cost 3-5x the time for ~10% size).
    pub gzip_level: Option<u32>,
}

impl NiftiOptions {
    /// Force compression on or off (instead of deciding from the file name).
    pub fn with_compress(mut self, compress: bool) -> Self {
        self.compress = Some(compress);
        self
    }
    /// Choose the stored data type.
    pub fn with_data_type(mut self, data_type: DataTypeChoice) -> Self {
        self.data_type = data_type;
        self
    }
    /// Gzip level (clamped to 0-9).
    pub fn with_gzip_level(mut self, level: u32) -> Self {
        self.gzip_level = Some(level.min(9));
        self
    }
}

/// The NIfTI data type actually written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StoredType {
    /// `DT_UINT8` (2).
    Uint8,
    /// `DT_INT16` (4).
    Int16,
    /// `DT_FLOAT32` (16).
    Float32,
}

impl StoredType {
    /// The NIfTI `datatype` code.
    pub fn code(self) -> i16 {
        match self {
            StoredType::Uint8 => 2,
            StoredType::Int16 => 4,
            StoredType::Float32 => 16,
        }
    }
    /// Bits per voxel.
    pub fn bitpix(self) -> i16 {
        match self {
            StoredType::Uint8 => 8,
            StoredType::Int16 => 16,
            StoredType::Float32 => 32,
        }
    }
}

/// What was written: for logs and sidecars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrittenNifti {
    /// The file.
    pub path: PathBuf,
    /// Stored data type.
    pub data_type: StoredType,
    /// `dim[1..]` as written (`[ni, nj, nk]`, or `[cols, rows, 1, frames]` for planar images).
    pub dims: Vec<usize>,
    /// Whether the file is gzipped.
    pub compressed: bool,
    /// The sform rows (RAS mm from voxel), `None` for planar images (no patient position).
    pub sform_ras: Option<[[f64; 4]; 3]>,
}

/// The NIfTI voxel-to-RAS affine of a grid: `ras_from_lps · world_from_voxel`.
pub fn ras_affine(geometry: &Geometry) -> DAffine3 {
    ras_from_lps() * geometry.world_from_voxel
}

/// The affine as three `srow` rows.
pub fn affine_rows(a: &DAffine3) -> [[f64; 4]; 3] {
    let m = a.matrix3;
    let t = a.translation;
    [
        [m.x_axis.x, m.y_axis.x, m.z_axis.x, t.x],
        [m.x_axis.y, m.y_axis.y, m.z_axis.y, t.y],
        [m.x_axis.z, m.y_axis.z, m.z_axis.z, t.z],
    ]
}

/// The qform parameters of an affine (NIfTI-1 "method 2").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Qform {
    /// Quaternion `(b, c, d)`; `a = sqrt(1 - b² - c² - d²) >= 0`.
    pub quatern: [f64; 3],
    /// `qoffset_x/y/z`: RAS position of voxel (0, 0, 0) in mm.
    pub offset: [f64; 3],
    /// `+1` for a right-handed voxel frame, `-1` for a left-handed one (`pixdim[0]`).
    pub qfac: f64,
    /// Voxel sizes `pixdim[1..=3]` in mm.
    pub pixdim: [f64; 3],
}

impl Qform {
    /// The qform of an affine: column lengths as voxel sizes, the nearest rotation (polar
    /// decomposition) of the normalised columns, `qfac = -1` when that frame is left-handed.
    pub fn from_affine(a: &DAffine3) -> Self {
        let m = a.matrix3;
        let cols = [m.x_axis, m.y_axis, m.z_axis];
        let mut pixdim = [1.0; 3];
        let mut unit = [DVec3::X, DVec3::Y, DVec3::Z];
        for (n, c) in cols.iter().enumerate() {
            let len = c.length();
            if len > 0.0 && len.is_finite() {
                pixdim[n] = len;
                unit[n] = *c / len;
            }
        }
        let mut r = DMat3::from_cols(unit[0], unit[1], unit[2]);
        let qfac = if r.determinant() < 0.0 {
            r.z_axis = -r.z_axis;
            -1.0
        } else {
            1.0
        };
        let r = nearest_rotation(r);
        let mut q = DQuat::from_mat3(&r).normalize();
        if q.w < 0.0 {
            q = -q;
        }
        Self {
            quatern: [q.x, q.y, q.z],
            offset: a.translation.to_array(),
            qfac,
            pixdim,
        }
    }

    /// The affine this qform describes (as a NIfTI reader computes it).
    pub fn to_affine(&self) -> DAffine3 {
        let [b, c, d] = self.quatern;
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let r = DMat3::from_quat(DQuat::from_xyzw(b, c, d, a));
        let [px, py, pz] = self.pixdim;
        let m = DMat3::from_cols(r.x_axis * px, r.y_axis * py, r.z_axis * (pz * self.qfac));
        DAffine3::from_mat3_translation(m, self.offset.into())
    }
}

/// The rotation nearest to an almost-orthonormal matrix with positive determinant (polar
/// decomposition by Newton iteration `Q <- (Q + Q^-T) / 2`), so that a sheared grid still gets
/// a valid quaternion.
fn nearest_rotation(m: DMat3) -> DMat3 {
    let mut q = m;
    for _ in 0..30 {
        let det = q.determinant();
        if !det.is_finite() || det.abs() < 1e-12 {
            return DMat3::IDENTITY;
        }
        let next = (q + q.inverse().transpose()) * 0.5;
        let diff = (next - q).abs();
        q = next;
        if diff
            .x_axis
            .max_element()
            .max(diff.y_axis.max_element())
            .max(diff.z_axis.max_element())
            < 1e-14
        {
            break;
        }
    }
    q
}

/// Everything the header needs besides what is fixed.
struct HeaderSpec {
    dims: Vec<usize>,
    pixdim: [f64; 7],
    qfac: f64,
    stored: StoredType,
    sform: Option<DAffine3>,
    qform: Option<Qform>,
}

const HEADER_LEN: usize = 348;
/// Header plus the 4-byte extension flag (no extensions).
const VOX_OFFSET: usize = 352;
const NIFTI_UNITS_MM: u8 = 2;
const XFORM_SCANNER_ANAT: i16 = 1;

fn put_i16(b: &mut [u8], at: usize, v: i16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
#[allow(
    clippy::cast_possible_truncation,
    reason = "NIfTI-1 header fields are float32 by definition"
)]
fn put_f32(b: &mut [u8], at: usize, v: f64) {
    b[at..at + 4].copy_from_slice(&(v as f32).to_le_bytes());
}

/// The 352 bytes before the data (little-endian NIfTI-1 single file, magic `n+1`).
fn header_bytes(spec: &HeaderSpec, path: &Path) -> Result<[u8; VOX_OFFSET]> {
    if spec.dims.is_empty() || spec.dims.len() > 7 {
        return Err(Error::InvalidInput {
            path: path.to_path_buf(),
            detail: format!("{} dimensions (NIfTI-1 holds 1 to 7)", spec.dims.len()),
        });
    }
    let mut b = [0_u8; VOX_OFFSET];
    put_i32(&mut b, 0, i32::try_from(HEADER_LEN).unwrap_or(348));
    b[38] = b'r'; // "regular", as other writers set it
    let ndim = i16::try_from(spec.dims.len()).unwrap_or(7);
    put_i16(&mut b, 40, ndim);
    for (n, &d) in spec.dims.iter().enumerate() {
        let d = i16::try_from(d)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| Error::InvalidInput {
                path: path.to_path_buf(),
                detail: format!("dimension {} is {d}; NIfTI-1 holds 1 to 32767", n + 1),
            })?;
        put_i16(&mut b, 42 + 2 * n, d);
    }
    for n in spec.dims.len()..7 {
        put_i16(&mut b, 42 + 2 * n, 1);
    }
    put_i16(&mut b, 70, spec.stored.code());
    put_i16(&mut b, 72, spec.stored.bitpix());
    put_f32(&mut b, 76, spec.qfac);
    for (n, &p) in spec.pixdim.iter().enumerate() {
        put_f32(&mut b, 80 + 4 * n, p);
    }
    put_f32(&mut b, 108, VOX_OFFSET as f64);
    put_f32(&mut b, 112, 1.0); // scl_slope: stored values are the values
    put_f32(&mut b, 116, 0.0);
    b[123] = NIFTI_UNITS_MM;
    let descrip = concat!("csfleak ", env!("CARGO_PKG_VERSION")).as_bytes();
    let len = descrip.len().min(79);
    b[148..148 + len].copy_from_slice(&descrip[..len]);
    if let Some(q) = &spec.qform {
        put_i16(&mut b, 252, XFORM_SCANNER_ANAT);
        for (n, v) in q.quatern.iter().chain(&q.offset).enumerate() {
            put_f32(&mut b, 256 + 4 * n, *v);
        }
    }
    if let Some(s) = &spec.sform {
        put_i16(&mut b, 254, XFORM_SCANNER_ANAT);
        for (r, row) in affine_rows(s).iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                put_f32(&mut b, 280 + 16 * r + 4 * c, *v);
            }
        }
    }
    b[344..348].copy_from_slice(b"n+1\0");
    // bytes 348..352: extension flag 0 = no extensions
    Ok(b)
}

/// Whether every value is an integer that `int16` holds exactly.
fn fits_i16(values: &[f32]) -> bool {
    values.iter().all(|&x| {
        let v = nearest_int_small(x);
        i16_exact(v, x)
    })
}

/// Elements converted per chunk while streaming (256 KiB of output at most).
const CHUNK: usize = 64 * 1024;

/// `x` rounded to the nearest integer, exact for `|x| < 2^22`, by the float "magic number"
/// trick (adding 1.5 * 2^23 leaves the integer in the low mantissa bits). Unlike `as`
/// conversions (saturating, NaN-checking) this vectorises on baseline x86-64, which makes
/// int16 encoding about 3.5 times faster. For larger, infinite or NaN `x` the result is some
/// value that [`i16_exact`] rejects.
#[allow(
    clippy::cast_possible_wrap,
    reason = "reinterpreting the bits is the point of the trick"
)]
fn nearest_int_small(x: f32) -> i32 {
    ((x + 12_582_912.0).to_bits() as i32).wrapping_sub(0x4B40_0000)
}

/// Whether `v` (from [`nearest_int_small`]) is in the int16 range and equal to `x`.
#[allow(
    clippy::cast_precision_loss,
    reason = "v is compared only when in the int16 range, where f32 is exact"
)]
fn i16_exact(v: i32, x: f32) -> bool {
    (-32768..=32767).contains(&v) && v as f32 == x
}

/// The low 16 bits of `v` (the value itself once [`i16_exact`] holds).
#[allow(
    clippy::cast_possible_truncation,
    reason = "only meaningful after i16_exact checked the range"
)]
fn low_i16(v: i32) -> i16 {
    v as i16
}

/// Encode `values` as little-endian `stored` bytes into `buf` (resized to fit). Returns false,
/// with `buf` unspecified, when `stored` is int16 and a value does not round-trip.
fn encode(values: &[f32], stored: StoredType, buf: &mut Vec<u8>) -> bool {
    match stored {
        StoredType::Float32 => {
            buf.resize(values.len() * 4, 0);
            for (dst, &x) in buf.chunks_exact_mut(4).zip(values) {
                dst.copy_from_slice(&x.to_le_bytes());
            }
            true
        }
        StoredType::Int16 => {
            buf.resize(values.len() * 2, 0);
            let mut exact = true;
            for (dst, &x) in buf.chunks_exact_mut(2).zip(values) {
                let v = nearest_int_small(x);
                exact &= i16_exact(v, x);
                dst.copy_from_slice(&low_i16(v).to_le_bytes());
            }
            exact
        }
        StoredType::Uint8 => {
            buf.resize(values.len(), 0);
            for (dst, &x) in buf.iter_mut().zip(values) {
                *dst = u8::from(x != 0.0);
            }
            true
        }
    }
}

/// Stream `values` as little-endian `stored` data.
fn write_values<W: Write + ?Sized>(
    w: &mut W,
    values: &[f32],
    stored: StoredType,
) -> std::io::Result<()> {
    write_values_buffered(w, values, stored, &mut Vec::new()).map(|_| ())
}

/// [`write_values`] with a reusable conversion buffer. Returns `Ok(false)` (having written the
/// chunks before it) at the first chunk with a value int16 cannot hold.
fn write_values_buffered<W: Write + ?Sized>(
    w: &mut W,
    values: &[f32],
    stored: StoredType,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    for chunk in values.chunks(CHUNK) {
        if !encode(chunk, stored, buf) {
            return Ok(false);
        }
        w.write_all(buf)?;
    }
    Ok(true)
}

fn wants_gzip(path: &Path, opts: &NiftiOptions) -> bool {
    opts.compress.unwrap_or_else(|| {
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    })
}

/// Write header then data (gzipped or not) atomically.
fn write_file(
    path: &Path,
    opts: &NiftiOptions,
    header: &[u8; VOX_OFFSET],
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<bool> {
    let gzip = wants_gzip(path, opts);
    let level = opts.gzip_level.unwrap_or(1).min(9);
    write_atomically(path, |w| {
        if gzip {
            let mut gz = GzEncoder::new(w, Compression::new(level));
            gz.write_all(header)?;
            body(&mut gz)?;
            gz.finish()?;
        } else {
            w.write_all(header)?;
            body(w)?;
        }
        Ok(())
    })?;
    Ok(gzip)
}

/// Header spec of a 3D grid with its sform and qform.
fn grid_spec(geometry: &Geometry, stored: StoredType) -> HeaderSpec {
    let sform = ras_affine(geometry);
    let q = Qform::from_affine(&sform);
    HeaderSpec {
        dims: geometry.dims.to_vec(),
        pixdim: [q.pixdim[0], q.pixdim[1], q.pixdim[2], 1.0, 1.0, 1.0, 1.0],
        qfac: q.qfac,
        stored,
        sform: Some(sform),
        qform: Some(q),
    }
}

fn contiguous<'a>(
    values: Option<&'a [f32]>,
    owned: &'a mut Vec<f32>,
    iter: impl Iterator<Item = f32>,
) -> &'a [f32] {
    if let Some(s) = values {
        s
    } else {
        owned.extend(iter);
        owned
    }
}

/// The stored type for `values`: int16 under `Auto` when every value is an integer that fits,
/// else float32.
fn stored_type(choice: DataTypeChoice, values: &[f32]) -> StoredType {
    match choice {
        DataTypeChoice::Auto if fits_i16(values) => StoredType::Int16,
        _ => StoredType::Float32,
    }
}

/// Write a volume. The sform and qform map voxel `(i, j, k)` to RAS mm; see the module docs for
/// the data type choice.
pub fn write_volume(path: &Path, volume: &Volume, opts: &NiftiOptions) -> Result<WrittenNifti> {
    let mut owned = Vec::new();
    // A volume built from a permuted array is not in standard order; copy it once then.
    let values = contiguous(
        volume.data().as_slice(),
        &mut owned,
        volume.data().iter().copied(),
    );
    let stored = stored_type(opts.data_type, values);
    let spec = grid_spec(volume.geometry(), stored);
    let header = header_bytes(&spec, path)?;
    let compressed = write_file(path, opts, &header, |w| write_values(w, values, stored))?;
    Ok(WrittenNifti {
        path: path.to_path_buf(),
        data_type: stored,
        dims: spec.dims,
        compressed,
        sform_ras: spec.sform.as_ref().map(affine_rows),
    })
}

/// Write a mask as `uint8` 0/1 on its grid.
pub fn write_mask(path: &Path, mask: &Mask, opts: &NiftiOptions) -> Result<WrittenNifti> {
    let spec = grid_spec(mask.geometry(), StoredType::Uint8);
    let header = header_bytes(&spec, path)?;
    let data = mask.data();
    let compressed = write_file(path, opts, &header, |w| {
        let mut buf: Vec<u8> = Vec::new();
        for lane in data.outer_iter() {
            buf.clear();
            buf.extend(lane.iter().map(|&on| u8::from(on)));
            w.write_all(&buf)?;
        }
        Ok(())
    })?;
    Ok(WrittenNifti {
        path: path.to_path_buf(),
        data_type: StoredType::Uint8,
        dims: spec.dims,
        compressed,
        sform_ras: spec.sform.as_ref().map(affine_rows),
    })
}

/// Write planar frames as a 4D `[cols, rows, 1, frames]` file with the pixel spacing in
/// `pixdim` and no patient transform (see the module docs).
pub fn write_planar(path: &Path, image: &PlanarImage, opts: &NiftiOptions) -> Result<WrittenNifti> {
    let mut owned = Vec::new();
    let values = contiguous(
        image.frames().as_slice(),
        &mut owned,
        image.frames().iter().copied(),
    );
    let stored = stored_type(opts.data_type, values);
    let [dr, dc] = image.pixel_spacing_mm.unwrap_or([1.0, 1.0]);
    let spec = HeaderSpec {
        dims: vec![image.cols(), image.rows(), 1, image.n_frames()],
        pixdim: [dc, dr, 1.0, 1.0, 1.0, 1.0, 1.0],
        qfac: 1.0,
        stored,
        sform: None,
        qform: None,
    };
    let header = header_bytes(&spec, path)?;
    let compressed = write_file(path, opts, &header, |w| write_values(w, values, stored))?;
    Ok(WrittenNifti {
        path: path.to_path_buf(),
        data_type: stored,
        dims: spec.dims,
        compressed,
        sform_ras: None,
    })
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

/// Encoded slabs at least this large bypass the write buffer of a [`NiftiStream`].
const DIRECT_WRITE: usize = 128 * 1024;

/// The fixed gzip member header: deflate, no name, no time, unknown OS (RFC 1952).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Raw-deflate `data` as a byte-aligned, non-final piece of a deflate stream (sync flush), with
/// a fresh compressor: pieces made on different threads concatenate into one valid stream, as
/// pigz does (each piece only loses the previous piece as dictionary).
fn deflate_piece(data: &[u8], level: u32, flush: FlushCompress) -> std::io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out: Vec<u8> = Vec::new();
    out.reserve(data.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(c.total_in())
            .unwrap_or(data.len())
            .min(data.len());
        c.compress_vec(&data[consumed..], &mut out, flush)
            .map_err(std::io::Error::other)?;
        let done = c.total_in() >= data.len() as u64;
        // zlib semantics: the flush is complete when output space is left over.
        if done && out.len() < out.capacity() {
            return Ok(out);
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// Voxels encoded for one stream ([`SlabEncoder::encode`]): converted to its data type and,
/// for a gzip stream, deflated.
#[derive(Debug)]
pub struct EncodedVoxels {
    bytes: Vec<u8>,
    stored: StoredType,
    n: usize,
    /// CRC-32 and length of the uncompressed bytes, for a gzip stream.
    crc: Option<Crc>,
}

impl EncodedVoxels {
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.n
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// The byte buffer, to hand back to [`SlabEncoder::encode_into`] once written.
    pub fn into_buffer(self) -> Vec<u8> {
        self.bytes
    }
}

/// Encodes slabs for a [`NiftiStream`] on any thread (`Copy`, `Send`): conversion to the data
/// type and, for `.nii.gz`, deflate compression, so both run in parallel with decoding and the
/// stream only appends bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlabEncoder {
    stored: StoredType,
    gzip_level: Option<u32>,
}

impl SlabEncoder {
    /// Encode voxels in storage order; `None` when the data type is int16 and a value does not
    /// fit (then restart the series as float32).
    pub fn encode(&self, values: &[f32]) -> Option<EncodedVoxels> {
        self.encode_into(values, Vec::new())
    }

    /// [`SlabEncoder::encode`] reusing `buffer` (e.g. from [`EncodedVoxels::into_buffer`] of
    /// a slab already written): a streaming writer that recycles its buffers saves an
    /// allocation, its zeroing and its page faults per slab.
    pub fn encode_into(&self, values: &[f32], buffer: Vec<u8>) -> Option<EncodedVoxels> {
        let mut raw = buffer;
        if !encode(values, self.stored, &mut raw) {
            return None;
        }
        let (bytes, crc) = match self.gzip_level {
            None => (raw, None),
            Some(level) => {
                let mut crc = Crc::new();
                crc.update(&raw);
                // Compressing from memory to memory cannot fail short of allocation failure.
                let bytes = deflate_piece(&raw, level, FlushCompress::Sync).ok()?;
                (bytes, Some(crc))
            }
        };
        Some(EncodedVoxels {
            bytes,
            stored: self.stored,
            n: values.len(),
            crc,
        })
    }
}

/// A NIfTI file of a 3D grid written slab by slab, so that a large series never has to be in
/// memory at once: [`NiftiStream::create`] writes the header, [`NiftiStream::write`] (or
/// [`NiftiStream::write_encoded`] with slabs from [`NiftiStream::encoder`]) appends voxels in
/// storage order (`i` fastest, then `j`, then `k`), [`NiftiStream::finish`] checks the count and
/// renames the file into place. Dropped without `finish`, nothing is left behind.
///
/// A `.nii.gz` stream is one gzip member whose deflate stream is made of independently
/// compressed pieces (one per slab, sync-flushed), so compression can run on worker threads;
/// any gzip reader reads it (checked with the `nifti` crate, Python's gzip and nibabel).
///
/// The data type is chosen up front. With [`StoredType::Int16`], a value that is not an integer
/// in `-32768..=32767` makes `write` return [`Error::Unrepresentable`]; the caller then starts
/// again with [`StoredType::Float32`] (the partial file is discarded).
pub struct NiftiStream {
    file: AtomicFile,
    path: PathBuf,
    encoder: SlabEncoder,
    crc: Option<Crc>,
    dims: Vec<usize>,
    sform: DAffine3,
    expected: usize,
    written: usize,
}

impl std::fmt::Debug for NiftiStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NiftiStream")
            .field("path", &self.path)
            .field("encoder", &self.encoder)
            .field("written", &self.written)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl NiftiStream {
    /// Start a file for a grid (header with sform and qform as [`write_volume`] writes them).
    pub fn create(
        path: &Path,
        geometry: &Geometry,
        stored: StoredType,
        opts: &NiftiOptions,
    ) -> Result<Self> {
        let spec = grid_spec(geometry, stored);
        let header = header_bytes(&spec, path)?;
        let mut file = AtomicFile::create(path)?;
        let gzip_level = wants_gzip(path, opts).then(|| opts.gzip_level.unwrap_or(1).min(9));
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let crc = match gzip_level {
            None => {
                file.write_all(&header).map_err(io_err)?;
                None
            }
            Some(level) => {
                file.write_all(&GZIP_HEADER).map_err(io_err)?;
                let piece = deflate_piece(&header, level, FlushCompress::Sync).map_err(io_err)?;
                file.write_all(&piece).map_err(io_err)?;
                let mut crc = Crc::new();
                crc.update(&header);
                Some(crc)
            }
        };
        Ok(Self {
            file,
            path: path.to_path_buf(),
            encoder: SlabEncoder { stored, gzip_level },
            crc,
            expected: geometry.len(),
            dims: spec.dims,
            sform: spec.sform.unwrap_or(DAffine3::IDENTITY),
            written: 0,
        })
    }

    /// The stored data type.
    pub fn stored(&self) -> StoredType {
        self.encoder.stored
    }

    /// The encoder for slabs of this stream, to run on worker threads.
    pub fn encoder(&self) -> SlabEncoder {
        self.encoder
    }

    /// Append voxels in storage order (encoded on this thread).
    pub fn write(&mut self, values: &[f32]) -> Result<()> {
        let encoded = self
            .encoder
            .encode(values)
            .ok_or_else(|| Error::Unrepresentable {
                path: self.path.clone(),
                stored: "int16",
            })?;
        self.write_encoded(&encoded)
    }

    /// Append voxels encoded by this stream's [`NiftiStream::encoder`].
    pub fn write_encoded(&mut self, voxels: &EncodedVoxels) -> Result<()> {
        if voxels.stored != self.encoder.stored
            || voxels.crc.is_some() != self.crc.is_some()
            || self.written + voxels.n > self.expected
        {
            return Err(Error::InvalidInput {
                path: self.path.clone(),
                detail: format!(
                    "{} {:?} voxels (gzip: {}) appended to a {:?} stream (gzip: {}) at {} of {}",
                    voxels.n,
                    voxels.stored,
                    voxels.crc.is_some(),
                    self.encoder.stored,
                    self.crc.is_some(),
                    self.written,
                    self.expected
                ),
            });
        }
        let w = self.file.writer();
        // A large slab goes straight to the file (after what is buffered) instead of being
        // copied through the buffer first; small ones are gathered.
        let result = if voxels.bytes.len() >= DIRECT_WRITE {
            w.flush()
                .and_then(|()| w.get_mut().write_all(&voxels.bytes))
        } else {
            w.write_all(&voxels.bytes)
        };
        result.map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        if let (Some(total), Some(part)) = (&mut self.crc, &voxels.crc) {
            total.combine(part);
        }
        self.written += voxels.n;
        Ok(())
    }

    /// Check that the whole grid was written, end the gzip member and rename into place.
    pub fn finish(mut self) -> Result<WrittenNifti> {
        if self.written != self.expected {
            return Err(Error::InvalidInput {
                path: self.path.clone(),
                detail: format!(
                    "{} voxels written, the grid has {}",
                    self.written, self.expected
                ),
            });
        }
        let io_err = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let compressed = self.crc.is_some();
        if let (Some(crc), Some(level)) = (&self.crc, self.encoder.gzip_level) {
            // An empty final block ends the deflate stream; then CRC-32 and ISIZE (RFC 1952).
            let last = deflate_piece(&[], level, FlushCompress::Finish).map_err(io_err)?;
            let mut trailer = last;
            trailer.extend_from_slice(&crc.sum().to_le_bytes());
            trailer.extend_from_slice(&crc.amount().to_le_bytes());
            self.file.write_all(&trailer).map_err(io_err)?;
        }
        let Self {
            file,
            path,
            encoder,
            dims,
            sform,
            ..
        } = self;
        debug_assert_eq!(file.dest(), path.as_path());
        file.commit()?;
        Ok(WrittenNifti {
            path,
            data_type: encoder.stored,
            dims,
            compressed,
            sform_ras: Some(affine_rows(&sform)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use csfleak_volume::{PointLps, VecLps, VoxelIdx, orientation_normal};
    use nifti::{IntoNdArray, NiftiObject, ReaderOptions};

    fn oblique_non_square() -> Geometry {
        let a = 25.0_f64.to_radians();
        let b = 10.0_f64.to_radians();
        // Row direction tilted in the axial plane, column direction tilted out of it.
        let row = DVec3::new(a.cos(), a.sin(), 0.0);
        let col0 = DVec3::new(0.0, b.sin(), -b.cos());
        let col = (col0 - row * row.dot(col0)).normalize_or_zero();
        let iop = [row.x, row.y, row.z, col.x, col.y, col.z];
        let n = orientation_normal(iop).unwrap();
        Geometry::from_dicom(
            [7, 5, 4],
            PointLps([-31.5, 12.25, 80.0]),
            iop,
            [0.9, 0.6], // row spacing (j) 0.9, column spacing (i) 0.6
            VecLps::from_dvec3(n * 2.5),
        )
        .unwrap()
    }

    fn ramp(g: Geometry, scale: f32) -> Volume {
        let n = g.len();
        let v: Vec<f32> = (0..n)
            .map(|x| f32::from(u16::try_from(x).unwrap()) * scale - 100.0)
            .collect();
        Volume::from_vec(g, v).unwrap()
    }

    /// Voxel centre in RAS from a header's sform.
    fn sform_point(h: &nifti::NiftiHeader, ijk: [f64; 3]) -> [f64; 3] {
        let rows = [h.srow_x, h.srow_y, h.srow_z];
        rows.map(|r| {
            f64::from(r[0]) * ijk[0]
                + f64::from(r[1]) * ijk[1]
                + f64::from(r[2]) * ijk[2]
                + f64::from(r[3])
        })
    }

    fn qform_of(h: &nifti::NiftiHeader) -> Qform {
        Qform {
            quatern: [h.quatern_b, h.quatern_c, h.quatern_d].map(f64::from),
            offset: [h.quatern_x, h.quatern_y, h.quatern_z].map(f64::from),
            qfac: if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 },
            pixdim: [h.pixdim[1], h.pixdim[2], h.pixdim[3]].map(f64::from),
        }
    }

    fn round_trip(name: &str, vol: &Volume, expect: StoredType) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let w = write_volume(&path, vol, &NiftiOptions::default()).unwrap();
        assert_eq!(w.data_type, expect);
        assert_eq!(
            w.compressed,
            std::path::Path::new(name)
                .extension()
                .is_some_and(|e| e == "gz")
        );
        let obj = ReaderOptions::new().read_file(&path).unwrap();
        let h = obj.header().clone();
        let [ni, nj, nk] = vol.dims();
        let dims: Vec<usize> = h.dim[..4].iter().map(|&d| usize::from(d)).collect();
        assert_eq!(dims, [3, ni, nj, nk]);
        assert_eq!((h.sform_code, h.qform_code), (1, 1));
        assert_eq!(h.datatype, expect.code());
        assert_eq!(h.scl_slope, 1.0);
        assert_eq!(h.xyzt_units, 2);
        let g = vol.geometry();
        // Voxel centres: sform (and the qform) give the LPS position with x, y negated.
        for ijk in [
            [0, 0, 0],
            [ni - 1, 0, 0],
            [0, nj - 1, 0],
            [ni - 1, nj - 1, nk - 1],
            [2, 3, 1],
        ] {
            let lps = g.voxel_center(VoxelIdx::new(ijk[0], ijk[1], ijk[2])).0;
            let f = ijk.map(|x| x as f64);
            let s = sform_point(&h, f);
            let q = qform_of(&h)
                .to_affine()
                .transform_point3(DVec3::from_array(f));
            for (axis, sign) in [-1.0, -1.0, 1.0].into_iter().enumerate() {
                assert_abs_diff_eq!(s[axis], sign * lps[axis], epsilon = 1e-3);
                assert_abs_diff_eq!(q[axis], sign * lps[axis], epsilon = 1e-3);
            }
        }
        let data = obj.into_volume().into_ndarray::<f32>().unwrap();
        assert_eq!(data.shape(), &[ni, nj, nk]);
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    let want = vol.get(VoxelIdx::new(i, j, k)).unwrap();
                    assert_eq!(data[[i, j, k]], want, "voxel ({i}, {j}, {k})");
                }
            }
        }
        // Only the final file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn oblique_non_square_int16_gz_round_trip() {
        round_trip(
            "obl.nii.gz",
            &ramp(oblique_non_square(), 3.0),
            StoredType::Int16,
        );
    }

    #[test]
    fn fractional_values_are_float32_uncompressed() {
        round_trip(
            "frac.nii",
            &ramp(oblique_non_square(), 0.37),
            StoredType::Float32,
        );
    }

    #[test]
    fn out_of_range_integers_are_float32() {
        let mut v = ramp(oblique_non_square(), 1.0);
        v.set(VoxelIdx::new(1, 1, 1), 40_000.0);
        round_trip("big.nii.gz", &v, StoredType::Float32);
    }

    #[test]
    fn sagittal_left_handed_frame_has_negative_qfac() {
        // Sagittal: i anterior->posterior, j superior->inferior, slices left->right... as scanners
        // often order them; check qfac against the determinant.
        let iop = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
        let n = orientation_normal(iop).unwrap();
        let g = Geometry::from_dicom(
            [6, 5, 3],
            PointLps([-40.0, -90.0, 60.0]),
            iop,
            [1.1, 0.8],
            VecLps::from_dvec3(n * 4.0),
        )
        .unwrap();
        let ras = ras_affine(&g);
        let q = Qform::from_affine(&ras);
        assert_eq!(
            q.qfac,
            if ras.matrix3.determinant() < 0.0 {
                -1.0
            } else {
                1.0
            }
        );
        round_trip("sag.nii.gz", &ramp(g, 1.0), StoredType::Int16);
        // Reversed slice direction flips handedness.
        let g2 = Geometry::from_dicom(
            [6, 5, 3],
            PointLps([-40.0, -90.0, 60.0]),
            iop,
            [1.1, 0.8],
            VecLps::from_dvec3(n * -4.0),
        )
        .unwrap();
        assert_eq!(Qform::from_affine(&ras_affine(&g2)).qfac, -q.qfac);
    }

    #[test]
    fn qform_matches_sform_for_rotations() {
        for (ax, ay, az) in [(0.0, 0.0, 0.0), (0.3, -1.2, 2.0), (3.1, 0.2, -0.7)] {
            let r = DMat3::from_euler(glam::EulerRot::XYZ, ax, ay, az);
            let m = DMat3::from_cols(r.x_axis * 0.5, r.y_axis * 0.75, r.z_axis * -3.0);
            let a = DAffine3::from_mat3_translation(m, DVec3::new(1.0, -2.0, 3.0));
            let back = Qform::from_affine(&a).to_affine();
            assert!(back.abs_diff_eq(a, 1e-9), "{a:?} vs {back:?}");
        }
    }

    #[test]
    fn mask_is_uint8() {
        let g = oblique_non_square();
        let mut m = Mask::empty(g).unwrap();
        m.set(VoxelIdx::new(6, 4, 3), true);
        m.set(VoxelIdx::new(1, 0, 2), true);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.nii.gz");
        let w = write_mask(&path, &m, &NiftiOptions::default()).unwrap();
        assert_eq!(w.data_type, StoredType::Uint8);
        let obj = ReaderOptions::new().read_file(&path).unwrap();
        assert_eq!(obj.header().datatype, 2);
        let data = obj.into_volume().into_ndarray::<u8>().unwrap();
        assert_eq!(data[[6, 4, 3]], 1);
        assert_eq!(data[[1, 0, 2]], 1);
        assert_eq!(data.iter().map(|&x| u32::from(x)).sum::<u32>(), 2);
    }

    #[test]
    fn planar_frames_are_cols_rows_1_frames() {
        let px: Vec<f32> = (0..2 * 3 * 5_u16).map(f32::from).collect();
        let p = PlanarImage::from_vec(2, 3, 5, px, Some([4.8, 2.4])).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nm.nii.gz");
        let w = write_planar(&path, &p, &NiftiOptions::default()).unwrap();
        assert_eq!(w.dims, vec![5, 3, 1, 2]);
        let obj = ReaderOptions::new().read_file(&path).unwrap();
        let h = obj.header().clone();
        assert_eq!(&h.dim[..5], &[4, 5, 3, 1, 2]);
        assert_eq!((h.pixdim[1], h.pixdim[2]), (2.4, 4.8));
        assert_eq!((h.sform_code, h.qform_code), (0, 0));
        let data = obj.into_volume().into_ndarray::<f32>().unwrap();
        // frame 1, row 2, col 4
        assert_eq!(data[[4, 2, 0, 1]], p.frame(1).unwrap()[[2, 4]]);
        assert_eq!(data[[0, 1, 0, 0]], 5.0);
    }

    #[test]
    fn compression_can_be_forced_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.nii.gz");
        let v = ramp(oblique_non_square(), 1.0);
        let w = write_volume(&path, &v, &NiftiOptions::default().with_compress(false)).unwrap();
        assert!(!w.compressed);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[344..348], b"n+1\0");
        assert_eq!(bytes.len(), VOX_OFFSET + v.geometry().len() * 2);
    }

    #[test]
    fn oversized_dims_are_an_error() {
        let g = Geometry::from_dicom(
            [40_000, 1, 1],
            PointLps([0.0; 3]),
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [1.0, 1.0],
            VecLps([0.0, 0.0, 1.0]),
        )
        .unwrap();
        let v = Volume::zeros(g).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.nii");
        let e = write_volume(&path, &v, &NiftiOptions::default()).unwrap_err();
        assert!(e.to_string().contains("32767"), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn stream_writes_the_same_bytes_as_write_volume() {
        let v = ramp(oblique_non_square(), 2.0);
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.nii", "a.nii.gz"] {
            let whole = dir.path().join(format!("whole-{name}"));
            let streamed = dir.path().join(format!("stream-{name}"));
            write_volume(&whole, &v, &NiftiOptions::default()).unwrap();
            let mut s = NiftiStream::create(
                &streamed,
                v.geometry(),
                StoredType::Int16,
                &NiftiOptions::default(),
            )
            .unwrap();
            // Uneven slabs: 3 values, then a slice and a half, then the rest.
            let all = v.data().as_slice().unwrap();
            let slice = 7 * 5;
            s.write(&all[..3]).unwrap();
            s.write(&all[3..3 + slice + slice / 2]).unwrap();
            s.write(&all[3 + slice + slice / 2..]).unwrap();
            let w = s.finish().unwrap();
            assert_eq!(w.data_type, StoredType::Int16);
            assert_eq!(w.compressed, name.ends_with("gz"));
            let read = |p: &Path| {
                ReaderOptions::new()
                    .read_file(p)
                    .unwrap()
                    .into_volume()
                    .into_ndarray::<f32>()
                    .unwrap()
            };
            assert_eq!(read(&whole), read(&streamed));
            if !w.compressed {
                assert_eq!(
                    std::fs::read(&whole).unwrap(),
                    std::fs::read(&streamed).unwrap()
                );
            }
        }
    }

    #[test]
    fn stream_refuses_what_int16_cannot_hold_and_leaves_nothing() {
        let v = ramp(oblique_non_square(), 0.5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.nii.gz");
        let mut s = NiftiStream::create(
            &path,
            v.geometry(),
            StoredType::Int16,
            &NiftiOptions::default(),
        )
        .unwrap();
        let e = s.write(v.data().as_slice().unwrap()).unwrap_err();
        assert!(matches!(e, Error::Unrepresentable { .. }), "{e}");
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Too few voxels: finish fails and removes the partial file.
        let mut s = NiftiStream::create(
            &path,
            v.geometry(),
            StoredType::Float32,
            &NiftiOptions::default(),
        )
        .unwrap();
        s.write(&[1.0, 2.0]).unwrap();
        assert!(s.finish().is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Too many: refused at once.
        let mut s = NiftiStream::create(
            &path,
            v.geometry(),
            StoredType::Float32,
            &NiftiOptions::default(),
        )
        .unwrap();
        assert!(s.write(&vec![0.0; v.geometry().len() + 1]).is_err());
    }

    #[test]
    fn int16_test_is_exact() {
        assert!(fits_i16(&[-32768.0, 32767.0, 0.0, -0.0, 12.0]));
        for bad in [
            32768.0,
            -32769.0,
            0.5,
            -0.5,
            32767.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1e9,
            4_194_304.0,
            -4_194_304.0,
            8_388_608.0,
            1e30,
        ] {
            assert!(!fits_i16(&[1.0, bad]), "{bad}");
        }
        let mut buf = Vec::new();
        assert!(encode(&[-2.0, 300.0], StoredType::Int16, &mut buf));
        assert_eq!(buf, [0xfe, 0xff, 0x2c, 0x01]);
        assert!(!encode(&[1.5], StoredType::Int16, &mut buf));
        // Every half-integer in a wide range: exact iff integral and in range.
        for n in -140_000_i32..140_000 {
            let x = n as f32 * 0.5;
            let want = x.fract() == 0.0 && (-32768.0..=32767.0).contains(&x);
            assert_eq!(fits_i16(&[x]), want, "{x}");
            if want {
                assert!(encode(&[x], StoredType::Int16, &mut buf));
                assert_eq!(f32::from(i16::from_le_bytes([buf[0], buf[1]])), x);
            }
        }
    }

    #[test]
    fn encoded_voxels_write_like_plain_ones() {
        let v = ramp(oblique_non_square(), 2.0);
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.nii");
        let b = dir.path().join("b.nii");
        write_volume(&a, &v, &NiftiOptions::default()).unwrap();
        let all = v.data().as_slice().unwrap();
        let mut s = NiftiStream::create(
            &b,
            v.geometry(),
            StoredType::Int16,
            &NiftiOptions::default(),
        )
        .unwrap();
        for part in all.chunks(11) {
            let e = s.encoder().encode(part).unwrap();
            assert_eq!(e.len(), part.len());
            s.write_encoded(&e).unwrap();
        }
        // A float32 slab does not go into an int16 stream.
        let f = SlabEncoder {
            stored: StoredType::Float32,
            gzip_level: None,
        }
        .encode(&[1.0])
        .unwrap();
        assert!(s.write_encoded(&f).is_err());
        assert!(s.encoder().encode(&[0.25]).is_none());
        s.finish().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }

    #[test]
    fn gzip_stream_of_parallel_pieces_reads_back_exactly() {
        use std::io::Read;
        let v = ramp(oblique_non_square(), 3.0);
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("p.nii");
        let gz = dir.path().join("g.nii.gz");
        write_volume(&plain, &v, &NiftiOptions::default()).unwrap();
        let mut s = NiftiStream::create(
            &gz,
            v.geometry(),
            StoredType::Int16,
            &NiftiOptions::default(),
        )
        .unwrap();
        let enc = s.encoder();
        let all = v.data().as_slice().unwrap();
        // Pieces encoded "elsewhere", appended in order; sizes that do not divide the data.
        let pieces: Vec<EncodedVoxels> = all.chunks(17).map(|c| enc.encode(c).unwrap()).collect();
        for p in &pieces {
            s.write_encoded(p).unwrap();
        }
        let w = s.finish().unwrap();
        assert!(w.compressed);
        // flate2 checks the CRC-32 and length of the member; the bytes equal the plain file.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, std::fs::read(&plain).unwrap());
        // One member only: nothing follows it.
        let raw = std::fs::read(&gz).unwrap();
        let mut d = flate2::bufread::GzDecoder::new(&raw[..]);
        let mut sink = Vec::new();
        d.read_to_end(&mut sink).unwrap();
        assert!(
            d.into_inner().is_empty(),
            "trailing bytes after the gzip member"
        );
        // A plain encoder's slab is refused by a gzip stream.
        let mut s2 = NiftiStream::create(
            &gz,
            v.geometry(),
            StoredType::Int16,
            &NiftiOptions::default(),
        )
        .unwrap();
        let plain_piece = SlabEncoder {
            stored: StoredType::Int16,
            gzip_level: None,
        }
        .encode(&all[..3])
        .unwrap();
        assert!(s2.write_encoded(&plain_piece).is_err());
    }
}
