//! Opening DICOM files robustly.
//!
//! Contract: [`open_header`] reads up to (not including) Pixel Data; [`open_full`] reads
//! everything. Both handle what real archives contain beside well-formed Part 10 files, as
//! pydicom does:
//!
//! - files **without a File Meta group** (no preamble, no `DICM`): the data set encoding
//!   (implicit VR little endian, explicit VR little or big endian) is detected from the first
//!   element and a File Meta group is synthesised;
//! - a preamble and `DICM` but an **odd File Meta group** (no Transfer Syntax UID, no group
//!   length, implicit VR): the group is read leniently and the data set encoding detected;
//! - a data set encoded **differently from what the meta group declares** (implicit VR where
//!   the Transfer Syntax says explicit): the detected encoding is used to parse, the declared
//!   Transfer Syntax is kept for the pixel codec;
//! - **standard attributes stored with VR UN** in an explicit VR file: re-read with their
//!   dictionary VR (PS3.5 §6.2.2: a UN value is encoded as implicit VR little endian).
//!
//! Anything else gives an [`Error`] naming the file.

use std::io::Read;
use std::path::Path;

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataDictionary, DataElement, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

use crate::{Error, Result};

/// Explicit VR Big Endian, retired from the standard but still found in archives.
pub(crate) const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// An opened DICOM file (File Meta group synthesised when the file had none).
pub type DicomFile = dicom_object::DefaultDicomObject;

/// Open a file's header: every attribute before Pixel Data.
pub fn open_header(path: &Path) -> Result<DicomFile> {
    open_impl(path, Some(tags::PIXEL_DATA))
}

/// Open a whole file, pixel data included.
pub fn open_full(path: &Path) -> Result<DicomFile> {
    open_impl(path, None)
}

/// A file whose pixel data can be read straight from disk: the header (every attribute before
/// Pixel Data), the open file, and the byte range of the Pixel Data value.
pub(crate) struct NativeFile {
    /// Attributes before Pixel Data.
    pub(crate) header: DicomFile,
    /// The file, to read the pixel bytes from.
    pub(crate) file: std::fs::File,
    /// Offset of the first pixel byte.
    pub(crate) start: u64,
    /// Length of the Pixel Data value in bytes.
    pub(crate) len: u64,
    /// Position of `file` (just after the prefix when opened).
    pub(crate) pos: u64,
}

/// Open a file for the native fast path of the loader, or `None` when it is not a plain one:
/// larger than the header prefix, native little-endian data set and transfer syntax (as
/// declared and as detected), defined-length Pixel Data that ends the file. `prefix` is a
/// reusable buffer. Anything unusual (and every error) is left to [`open_full`], which
/// handles and reports it.
pub(crate) fn open_native(path: &Path, prefix: &mut Vec<u8>) -> Option<NativeFile> {
    let mut file = std::fs::File::open(path).ok()?;
    let file_len = file.metadata().ok()?.len();
    if file_len <= PREFIX {
        return None;
    }
    prefix.clear();
    (&mut file).take(PREFIX).read_to_end(prefix).ok()?;
    let (_, _, encoding) = locate_dataset(prefix);
    if !matches!(
        encoding,
        Some(Encoding::ImplicitLittle | Encoding::ExplicitLittle)
    ) || encoding_mismatch(prefix)
    {
        return None;
    }
    let Check::PixelData { start, end } = check_lengths(prefix, file_len, false) else {
        return None;
    };
    if end != file_len {
        return None;
    }
    let mut header = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .from_reader(prefix.as_slice())
        .ok()?;
    if !matches!(
        header.meta().transfer_syntax(),
        uids::IMPLICIT_VR_LITTLE_ENDIAN | uids::EXPLICIT_VR_LITTLE_ENDIAN
    ) {
        return None;
    }
    reread_un_elements(false, &mut header);
    Some(NativeFile {
        header,
        file,
        start,
        len: end - start,
        pos: prefix.len() as u64,
    })
}

/// Bytes read first to check the element lengths (and, for a header, to parse it); most
/// headers are far smaller, larger ones make the whole file be read.
const PREFIX: u64 = 64 * 1024;

fn open_impl(path: &Path, until: Option<Tag>) -> Result<DicomFile> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_len = std::fs::metadata(path).map_err(io)?.len();
    let header_only = until.is_some();
    let mut bytes = if file_len > PREFIX {
        let mut buf = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(PREFIX)
            .read_to_end(&mut buf)
            .map_err(io)?;
        buf
    } else {
        std::fs::read(path).map_err(io)?
    };
    // dicom-rs allocates every value at its declared length before reading it: refuse lengths
    // the file cannot hold, so a corrupt header never costs more memory than the file's size
    let mut check = check_lengths(&bytes, file_len, header_only);
    if check == Check::NeedMore
        || matches!(check, Check::PixelData { end, .. } if end < file_len && !header_only)
    {
        // an element crosses the prefix, or something follows the pixel data: check it all
        bytes = std::fs::read(path).map_err(io)?;
        check = check_lengths(&bytes, file_len, header_only);
    }
    if let Check::Bad(detail) = check {
        return Err(Error::Invalid {
            what: "element length",
            detail,
            path: path.to_path_buf(),
        });
    }
    // a checked header is parsed from the prefix: the walk reached Pixel Data inside it
    let in_memory = u64::try_from(bytes.len()).is_ok_and(|n| n >= file_len)
        || (header_only && check == Check::Ok);
    let mut options = OpenFileOptions::new();
    if let Some(tag) = until {
        options = options.read_until(tag);
    }
    // A data set encoded otherwise than its meta declares goes straight to the fallback: parsed
    // with the declared encoding, its bytes would be misread as (huge) value lengths.
    let parsed = if encoding_mismatch(&bytes) {
        None
    } else if in_memory {
        // a large file is read by the parser straight into its values, without a copy in memory
        Some(options.from_reader(bytes.as_slice()))
    } else {
        Some(options.open_file(path))
    };
    let mut file = match parsed {
        Some(Ok(file)) => file,
        other => {
            let first = other.and_then(Result::err);
            // nothing that looks like a data set: not DICOM, and not worth reading in full
            if locate_dataset(&bytes).2.is_none() {
                return Err(Error::Read {
                    path: path.to_path_buf(),
                    source: boxed_or(first, "no data set found"),
                });
            }
            if u64::try_from(bytes.len()).is_ok_and(|n| n < file_len) {
                bytes = std::fs::read(path).map_err(io)?;
            }
            fallback(path, &bytes, until, first)?
        }
    };
    reread_un_elements(
        file.meta().transfer_syntax() == EXPLICIT_VR_BIG_ENDIAN,
        &mut file,
    );
    Ok(file)
}

/// The parser's error, or a plain message when the parser was not tried.
fn boxed_or(
    first: Option<dicom_object::ReadError>,
    message: &'static str,
) -> Box<dyn std::error::Error + Send + Sync> {
    match first {
        Some(e) => Box::new(e),
        None => message.into(),
    }
}

/// Whether the data set's first element is encoded otherwise than the declared transfer syntax
/// says (e.g. implicit VR behind a meta group that declares explicit VR).
fn encoding_mismatch(bytes: &[u8]) -> bool {
    let (meta, ds_start, _) = locate_dataset(bytes);
    let declared = meta
        .transfer_syntax
        .as_deref()
        .map(|s| s.trim_end_matches(['\0', ' ']))
        .and_then(Encoding::of_ts);
    let detected = bytes.get(ds_start..).and_then(detect_encoding);
    matches!((declared, detected), (Some(d), Some(e)) if d != e)
}

/// Outcome of [`check_lengths`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    Ok,
    /// The bytes given end before the walk could finish; read the whole file.
    NeedMore,
    /// Not checked (deflated data set, undetectable encoding, unknown VR): left to the parser.
    Unchecked,
    /// A prefix was checked up to defined-length Pixel Data, whose value spans these offsets.
    PixelData {
        /// First byte of the value.
        start: u64,
        /// One past its last byte.
        end: u64,
    },
    Bad(String),
}

/// Where the data set starts and how it is encoded: after a preamble and/or `DICM` and a
/// File Meta group when present; the encoding as declared, else as detected.
fn locate_dataset(bytes: &[u8]) -> (LenientMeta, usize, Option<Encoding>) {
    let mut pos = 0;
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        pos = 132;
    } else if bytes.starts_with(b"DICM") {
        pos = 4;
    }
    let (meta, ds_start) = read_meta_lenient(bytes, pos);
    let declared = meta
        .transfer_syntax
        .as_deref()
        .map(|s| s.trim_end_matches(['\0', ' ']))
        .filter(|s| !s.is_empty());
    let detected = bytes.get(ds_start..).and_then(detect_encoding);
    let encoding = match declared {
        Some(ts) => Encoding::of_ts(ts).and(detected.or(Encoding::of_ts(ts))),
        None => detected,
    };
    (meta, ds_start, encoding)
}

/// Walk the element headers (into sequences and items, over values) and check that no
/// declared length exceeds what is left of the file. With `header_only`, stop at Pixel Data;
/// on a prefix of the file, stop after checking defined-length Pixel Data.
fn check_lengths(bytes: &[u8], file_len: u64, header_only: bool) -> Check {
    let (_, mut pos, encoding) = locate_dataset(bytes);
    // deflated or undetectable data sets are left to the parser
    let Some(encoding) = encoding else {
        return Check::Unchecked;
    };
    let is_prefix = u64::try_from(bytes.len()).is_ok_and(|n| n < file_len);
    let big = encoding == Encoding::ExplicitBig;
    let explicit = encoding != Encoding::ImplicitLittle;
    let read16 = |at: usize| -> Option<u16> {
        let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let read32 = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let mut in_pixel_sequence = false;
    loop {
        let (Some(group), Some(element)) = (read16(pos), read16(pos + 2)) else {
            return if is_prefix {
                Check::NeedMore
            } else {
                Check::Ok
            };
        };
        if pos + 8 > bytes.len() {
            return if is_prefix {
                Check::NeedMore
            } else {
                Check::Ok
            };
        }
        let remaining_after = |header: usize| file_len.saturating_sub((pos + header) as u64);
        if group == 0xFFFE {
            let Some(len) = read32(pos + 4) else {
                return Check::Ok;
            };
            match element {
                0xE000 if in_pixel_sequence && len != u32::MAX => {
                    if u64::from(len) > remaining_after(8) {
                        return Check::Bad(format!(
                            "pixel data fragment declares {len} bytes, {} remain",
                            remaining_after(8)
                        ));
                    }
                    pos += 8 + len as usize;
                }
                0xE0DD => {
                    in_pixel_sequence = false;
                    pos += 8;
                }
                _ => pos += 8,
            }
            continue;
        }
        let tag = Tag(group, element);
        if header_only && tag >= tags::PIXEL_DATA && group != 0xFFFE {
            return Check::Ok;
        }
        let vr = if explicit {
            explicit_vr_at(bytes, pos + 4)
        } else {
            None
        };
        let (header, len) = match vr {
            Some(vr) if has_long_length(vr) => (12, read32(pos + 8)),
            Some(_) => (8, read16(pos + 6).map(u32::from)),
            // an unknown VR in an explicit data set: the parser reads it as UN (a reserved
            // field, then a 4-byte length), so check that length as it will be read. This is
            // also how the implicit-VR content of an undefined-length UN element is misread.
            None if explicit => (12, read32(pos + 8)),
            None => (8, read32(pos + 4)),
        };
        let Some(len) = len else {
            return if is_prefix {
                Check::NeedMore
            } else {
                Check::Ok
            };
        };
        if len == u32::MAX {
            // undefined length: a sequence, or encapsulated pixel data
            if tag == tags::PIXEL_DATA {
                in_pixel_sequence = true;
            }
            pos += header;
            continue;
        }
        if u64::from(len) > remaining_after(header) {
            return Check::Bad(format!(
                "element ({group:04X},{element:04X}) declares {len} bytes, {} remain in the file",
                remaining_after(header)
            ));
        }
        if tag == tags::PIXEL_DATA && is_prefix {
            let start = (pos + header) as u64;
            return Check::PixelData {
                start,
                end: start + u64::from(len),
            };
        }
        let is_sequence = match vr {
            Some(vr) => vr == VR::SQ,
            None => {
                group != 0x7FE0
                    && bytes.get(pos + 8..pos + 12) == Some(&[0xFE, 0xFF, 0x00, 0xE0][..])
                    && StandardDataDictionary.by_tag(tag).is_some_and(|e| {
                        matches!(
                            dicom_core::dictionary::DataDictionaryEntry::vr(e),
                            dicom_core::dictionary::VirtualVr::Exact(VR::SQ)
                        )
                    })
            }
        };
        pos += if is_sequence {
            header
        } else {
            header + len as usize
        };
    }
}

/// How a data set is encoded, as far as parsing it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    ImplicitLittle,
    ExplicitLittle,
    ExplicitBig,
}

impl Encoding {
    fn of_ts(uid: &str) -> Option<Self> {
        match uid {
            uids::IMPLICIT_VR_LITTLE_ENDIAN => Some(Self::ImplicitLittle),
            EXPLICIT_VR_BIG_ENDIAN => Some(Self::ExplicitBig),
            // deflated data sets cannot be inspected byte-wise; trust the declaration
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => None,
            _ => Some(Self::ExplicitLittle),
        }
    }

    fn native_ts(self) -> &'static str {
        match self {
            Self::ImplicitLittle => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            Self::ExplicitLittle => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            Self::ExplicitBig => EXPLICIT_VR_BIG_ENDIAN,
        }
    }
}

/// What a lenient read of the File Meta group found.
#[derive(Debug, Default)]
struct LenientMeta {
    transfer_syntax: Option<String>,
    sop_class: Option<String>,
    sop_instance: Option<String>,
}

/// Second attempt for files the standard reader refuses: read the bytes, find the data set,
/// detect its encoding and re-read it behind a synthesised File Meta group.
fn fallback(
    path: &Path,
    bytes: &[u8],
    until: Option<Tag>,
    first: Option<dicom_object::ReadError>,
) -> Result<DicomFile> {
    let read_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let (meta, ds_start, _) = locate_dataset(bytes);
    let dataset = &bytes[ds_start..];
    let declared = meta
        .transfer_syntax
        .as_deref()
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .filter(|s| !s.is_empty());
    let detected = detect_encoding(dataset);
    // Parse with the encoding actually found; keep the declared syntax for the pixel codec.
    let (parse_ts, keep_ts) = match (&declared, detected) {
        (Some(ts), Some(enc)) if Encoding::of_ts(ts).is_none_or(|d| d == enc) => (ts.clone(), None),
        (Some(ts), Some(enc)) => (enc.native_ts().to_owned(), Some(ts.clone())),
        (Some(ts), None) => (ts.clone(), None),
        (None, Some(enc)) => (enc.native_ts().to_owned(), None),
        (None, None) => return Err(read_error(boxed_or(first, "no data set found"))),
    };
    let mut builder = FileMetaTableBuilder::new().transfer_syntax(parse_ts.as_str());
    if let Some(c) = &meta.sop_class {
        builder = builder.media_storage_sop_class_uid(c.trim_end_matches(['\0', ' ']));
    }
    if let Some(i) = &meta.sop_instance {
        builder = builder.media_storage_sop_instance_uid(i.trim_end_matches(['\0', ' ']));
    }
    let table = builder.build().map_err(|e| read_error(Box::new(e)))?;
    let mut head = b"DICM".to_vec();
    table
        .write(&mut head)
        .map_err(|e| read_error(Box::new(e)))?;
    let mut options = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
    if let Some(tag) = until {
        options = options.read_until(tag);
    }
    let mut file = options
        .from_reader(head.as_slice().chain(dataset))
        .map_err(|second| {
            tracing::debug!("fallback read of {} failed too: {second}", path.display());
            match first {
                Some(first) => read_error(Box::new(first)),
                None => read_error(Box::new(second)),
            }
        })?;
    if file.is_empty_dataset() {
        return Err(Error::Invalid {
            what: "DICOM file",
            detail: "no data elements found".into(),
            path: path.to_path_buf(),
        });
    }
    if let Some(ts) = keep_ts {
        file.update_meta(|m| m.transfer_syntax = ts);
    }
    Ok(file)
}

trait EmptyCheck {
    fn is_empty_dataset(&self) -> bool;
}

impl EmptyCheck for DicomFile {
    fn is_empty_dataset(&self) -> bool {
        self.iter().next().is_none()
    }
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// VRs with a 4-byte length field in explicit VR encodings (PS3.5 §7.1.2).
fn has_long_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

fn explicit_vr_at(b: &[u8], at: usize) -> Option<VR> {
    let chars: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    if chars.iter().all(u8::is_ascii_uppercase) {
        VR::from_binary(chars)
    } else {
        None
    }
}

/// Walk a group 0002 from `pos` (explicit or implicit VR little endian), collecting what is
/// needed; returns where the data set starts.
fn read_meta_lenient(bytes: &[u8], mut pos: usize) -> (LenientMeta, usize) {
    let mut meta = LenientMeta::default();
    while let (Some(group), Some(element)) = (u16_le(bytes, pos), u16_le(bytes, pos + 2)) {
        if group != 0x0002 {
            break;
        }
        let (header, len) = match explicit_vr_at(bytes, pos + 4) {
            Some(vr) if has_long_length(vr) => (12, u32_le(bytes, pos + 8)),
            Some(_) => (8, u16_le(bytes, pos + 6).map(u32::from)),
            None => (8, u32_le(bytes, pos + 4)),
        };
        let Some(len) = len.filter(|&l| l != u32::MAX) else {
            break;
        };
        let start = pos + header;
        let Some(value) = usize::try_from(len)
            .ok()
            .and_then(|l| bytes.get(start..start.checked_add(l)?))
        else {
            break;
        };
        let text = || String::from_utf8_lossy(value).into_owned();
        match element {
            0x0002 => meta.sop_class = Some(text()),
            0x0003 => meta.sop_instance = Some(text()),
            0x0010 => meta.transfer_syntax = Some(text()),
            _ => {}
        }
        pos = start + value.len();
    }
    (meta, pos)
}

/// The encoding of a data set, judged from its first element header, which must be in one of
/// the first groups (a data set starts with group 0008, rarely 0002-0006): random bytes (a
/// video, a PDF beside the images) are not taken for a data set.
fn detect_encoding(ds: &[u8]) -> Option<Encoding> {
    let head = ds.get(0..8)?;
    let group_le = u16::from_le_bytes([head[0], head[1]]);
    let group_be = u16::from_be_bytes([head[0], head[1]]);
    let plausible = |g: u16| (0x0002..=0x0010).contains(&g) && g % 2 == 0;
    let explicit = explicit_vr_at(head, 4).is_some();
    if explicit && plausible(group_be) {
        Some(Encoding::ExplicitBig)
    } else if explicit && plausible(group_le) {
        Some(Encoding::ExplicitLittle)
    } else if !explicit && plausible(group_le) {
        Some(Encoding::ImplicitLittle)
    } else {
        None
    }
}

/// Replace every standard attribute stored with VR UN (at any depth) by its re-read value.
fn reread_un_elements(big_endian: bool, file: &mut DicomFile) {
    // UN values are little endian by definition; a big endian file is left alone.
    if big_endian || !contains_un(file) {
        return;
    }
    let tags_to_fix: Vec<Tag> = file
        .iter()
        .filter(|e| needs_fix(e))
        .map(Header::tag)
        .collect();
    for tag in tags_to_fix {
        if let Some(elem) = file.take(tag) {
            file.put(fix_element(elem));
        }
    }
}

fn is_standard_un(elem: &InMemElement) -> bool {
    elem.vr() == VR::UN
        && elem.tag().group() % 2 == 0
        && StandardDataDictionary.by_tag(elem.tag()).is_some_and(|e| {
            !matches!(
                dicom_core::dictionary::DataDictionaryEntry::vr(e),
                dicom_core::dictionary::VirtualVr::Exact(VR::UN)
            )
        })
}

fn needs_fix(elem: &InMemElement) -> bool {
    if is_standard_un(elem) {
        return true;
    }
    match elem.value() {
        Value::Sequence(seq) => seq.items().iter().any(contains_un),
        _ => false,
    }
}

fn contains_un(obj: &InMemDicomObject) -> bool {
    obj.iter().any(needs_fix)
}

fn fix_element(elem: InMemElement) -> InMemElement {
    if is_standard_un(&elem) {
        return reread_un(elem);
    }
    let tag = elem.tag();
    let vr = elem.vr();
    match elem.into_value() {
        Value::Sequence(seq) => {
            let len = seq.length();
            let items: Vec<InMemDicomObject> = seq
                .into_items()
                .into_iter()
                .map(|mut item| {
                    let fix: Vec<Tag> = item
                        .iter()
                        .filter(|e| needs_fix(e))
                        .map(Header::tag)
                        .collect();
                    for t in fix {
                        if let Some(e) = item.take(t) {
                            item.put(fix_element(e));
                        }
                    }
                    item
                })
                .collect();
            DataElement::new(tag, vr, DataSetSequence::new(items, len))
        }
        other => DataElement::new(tag, vr, other),
    }
}

/// Re-read one UN element as its dictionary VR by parsing it as a one-element implicit VR
/// little endian data set; the element is returned unchanged if that fails.
fn reread_un(elem: InMemElement) -> InMemElement {
    let Value::Primitive(p) = elem.value() else {
        return elem;
    };
    let raw = p.to_bytes();
    let Ok(len) = u32::try_from(raw.len()) else {
        return elem;
    };
    let tag = elem.tag();
    let mut buf = Vec::new();
    if buf.try_reserve_exact(raw.len() + 8).is_err() {
        return elem;
    }
    buf.extend_from_slice(&tag.group().to_le_bytes());
    buf.extend_from_slice(&tag.element().to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&raw);
    match InMemDicomObject::read_dataset_with_ts(
        buf.as_slice(),
        &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
    ) {
        Ok(mut obj) => match obj.take(tag) {
            Some(new) if new.vr() != VR::UN => new,
            _ => elem,
        },
        Err(_) => elem,
    }
}
