//! Reading pcap and pcapng captures one record at a time.
//!
//! The container formats are parsed with the slice parsers of `pcap-file`
//! (3.0: the 2.0 line rejected pcap records longer than the snaplen and
//! mis-decoded pcapng `if_tsresol`/`if_tsoffset`). Framing is checked here
//! first, so that every damaged file gets a byte offset and a reason a person
//! can act on, and so that a stream never buffers a length it read from the
//! file before that length is known to be sane.
//!
//! pcapng packet blocks (enhanced, simple, obsolete) are decoded here rather
//! than by `pcap-file`'s typed blocks: those collect a block's options into a
//! `Vec` (an allocation per packet) and reject harmless oddities such as an
//! original length shorter than the captured one. Section headers and
//! interface descriptions, which change how later blocks are read, go through
//! `PcapNgParser::next_raw_block`, and timestamps through its state's
//! `decode_timestamp`.

use super::input::Input;
use super::{CaptureError, Frame, LinkType};
use crate::Timestamp;
use pcap_file::pcap::{PcapParser, PcapTsResolution};
use pcap_file::pcapng::blocks::interface_description::InterfaceTsResolution;
use pcap_file::pcapng::PcapNgParser;
use pcap_file::Endianness;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Which container format a capture is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// Bounds on what the reader will buffer for one record.
#[derive(Clone, Copy, Debug)]
pub struct ReaderLimits {
    /// Largest record (pcap record or pcapng block) accepted, in bytes.
    pub max_record_bytes: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits {
            max_record_bytes: 16 << 20,
        }
    }
}

const PCAP_FILE_HEADER: usize = 24;
const PCAP_RECORD_HEADER: usize = 16;
/// A pcapng block's type and leading length, plus its trailing length.
const BLOCK_OVERHEAD: usize = 12;
/// Type and leading length: where a block's body starts.
const BLOCK_BODY: usize = 8;
/// Interface id, timestamp, captured and original length of an enhanced or
/// obsolete packet block.
const PACKET_HEADER: usize = 20;
/// libpcap's MAXIMUM_SNAPLEN: captured lengths up to this are plausible even
/// when the file header's snaplen is smaller (or zero, or nonsense).
const PLAUSIBLE_CAPLEN: u32 = 262_144;

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;

/// Reads the frames of one pcap or pcapng capture, in file order.
///
/// Frames borrow the reader's bytes: the bytes it was given in memory, or the
/// buffer of a stream (files are streamed too). Nothing is allocated per frame.
pub struct CaptureReader {
    input: Input,
    limits: ReaderLimits,
    container: Container,
    /// Frames returned so far.
    frames: u64,
    /// Set at the end of the capture or at its first damage.
    done: bool,
}

enum Container {
    Pcap(PcapFile),
    PcapNg(PcapNgFile),
}

struct PcapFile {
    parser: PcapParser,
    big_endian: bool,
    nanos: bool,
    link_type: LinkType,
    snaplen: u32,
}

struct PcapNgFile {
    parser: PcapNgParser,
    /// Byte order of the current section.
    big_endian: bool,
    /// The current section's interfaces, in id order.
    interfaces: Vec<Interface>,
    /// Timestamp of the last frame, lent to simple packet blocks, which have none.
    last_ts: Timestamp,
}

/// What a packet block needs from its interface description, looked up once.
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    resolution: InterfaceTsResolution,
    offset_secs: i64,
}

/// Where the next frame lies in the input's buffer and what it is; found
/// before the frame borrows the buffer.
struct Located {
    offset: u64,
    data_start: usize,
    data_len: usize,
    ts: Timestamp,
    link_type: LinkType,
    orig_len: u32,
}

impl CaptureReader {
    /// Opens a capture file or, for `-`, standard input; both are streamed
    /// through a bounded buffer (see `input.rs` for why files are not mapped).
    pub fn open(path: &Path, limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        if path == Path::new("-") {
            return Self::from_read(Box::new(std::io::stdin().lock()), limits);
        }
        let file = File::open(path)
            .map_err(|e| CaptureError::new(0, format!("cannot open the capture: {e}")))?;
        let meta = file.metadata().map_err(|e| {
            CaptureError::new(0, format!("cannot read the capture's metadata: {e}"))
        })?;
        if meta.is_dir() {
            return Err(CaptureError::new(
                0,
                "this is a directory, not a capture file",
            ));
        }
        if !meta.is_file() {
            return Self::from_read(Box::new(file), limits);
        }
        if meta.len() == 0 {
            return Err(CaptureError::new(0, "empty file"));
        }
        Self::from_read(Box::new(file), limits)
    }

    /// Reads a capture from any byte stream with bounded buffering: at most
    /// `max(256 KiB, limits.max_record_bytes + 16)` bytes are held, and a
    /// record declaring more is an error before anything is buffered for it.
    pub fn from_read(
        read: Box<dyn Read>,
        limits: ReaderLimits,
    ) -> Result<CaptureReader, CaptureError> {
        let max_buffer = limits.max_record_bytes.saturating_add(PCAP_RECORD_HEADER);
        Self::start(Input::stream(read, max_buffer), limits)
    }

    /// Reads a capture held in memory (tests, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>, limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        Self::start(Input::owned(bytes), limits)
    }

    /// Reads the file header (pcap) or first section header block (pcapng).
    fn start(mut input: Input, limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        if !input.ensure(4)? {
            let have = input.window().len();
            return Err(if have == 0 {
                CaptureError::new(0, "empty file")
            } else {
                CaptureError::new(
                    0,
                    format!(
                        "the file is only {} long, too short to be a capture",
                        bytes(have)
                    ),
                )
            });
        }
        let magic = u32_at(input.window(), 0, true);
        let container = match magic {
            0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 => {
                Container::Pcap(PcapFile::start(&mut input)?)
            }
            SECTION_HEADER => Container::PcapNg(PcapNgFile::start(&mut input, &limits)?),
            _ => return Err(CaptureError::new(0, not_a_capture(magic, input.window()))),
        };
        Ok(CaptureReader {
            input,
            limits,
            container,
            frames: 0,
            done: false,
        })
    }

    pub fn format(&self) -> CaptureFormat {
        match self.container {
            Container::Pcap(_) => CaptureFormat::Pcap,
            Container::PcapNg(_) => CaptureFormat::PcapNg,
        }
    }

    /// The next frame; `Ok(None)` at a clean end of file; `Err` once at the first
    /// damage (later calls return `Ok(None)`).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let located = match &mut self.container {
            Container::Pcap(pcap) => pcap.next(&mut self.input, &self.limits),
            Container::PcapNg(ng) => ng.next(&mut self.input, &self.limits),
        };
        let found = match located {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let end = found.data_start.saturating_add(found.data_len);
        let Some(data) = self.input.buffer().get(found.data_start..end) else {
            self.done = true;
            return Err(CaptureError::new(
                found.offset,
                "internal error: a frame's bytes are not where the reader left them",
            ));
        };
        self.frames = self.frames.saturating_add(1);
        Ok(Some(Frame {
            number: self.frames,
            offset: found.offset,
            ts: found.ts,
            link_type: found.link_type,
            data,
            orig_len: found.orig_len,
        }))
    }

    /// Bytes consumed so far (the offset of the next record).
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Bytes a stream's buffer holds (0 for a file or bytes in memory).
    #[cfg(test)]
    fn stream_buffer_capacity(&self) -> usize {
        self.input.buffer_capacity()
    }
}

impl PcapFile {
    fn start(input: &mut Input) -> Result<PcapFile, CaptureError> {
        if !input.ensure(PCAP_FILE_HEADER)? {
            let have = input.window().len();
            return Err(CaptureError::new(
                0,
                format!(
                    "the file ends {} into the {PCAP_FILE_HEADER}-byte pcap file header",
                    bytes(have)
                ),
            ));
        }
        let (_, parser) = PcapParser::new(input.window())
            .map_err(|e| CaptureError::new(0, format!("bad pcap file header: {e}")))?;
        let header = parser.header();
        let file = PcapFile {
            big_endian: header.endianness == Endianness::Big,
            nanos: header.ts_resolution == PcapTsResolution::NanoSecond,
            // The upper bits may carry FCS information (LT_FCS_DATAWITHFCS).
            link_type: LinkType(u32::from(header.datalink) & 0xFFFF),
            snaplen: header.snaplen,
            parser,
        };
        input.advance(PCAP_FILE_HEADER);
        Ok(file)
    }

    fn next(
        &mut self,
        input: &mut Input,
        limits: &ReaderLimits,
    ) -> Result<Option<Located>, CaptureError> {
        let offset = input.offset();
        if !input.ensure(PCAP_RECORD_HEADER)? {
            let have = input.window().len();
            if have == 0 {
                return Ok(None);
            }
            return Err(CaptureError::new(
                offset,
                format!(
                    "the file ends {} into a {PCAP_RECORD_HEADER}-byte pcap record header: \
                     it is cut short or has trailing garbage",
                    bytes(have)
                ),
            ));
        }
        let incl_len = u32_at(input.window(), 8, self.big_endian);
        let max = limits.max_record_bytes;
        let over_limit = usize::try_from(incl_len).map_or(true, |n| n > max);
        if input.is_stream() && over_limit {
            return Err(CaptureError::new(
                offset,
                format!(
                    "pcap record declares {incl_len} captured bytes, more than the {max}-byte limit \
                     for one record when reading a stream: its length field is probably damaged \
                     (if not, read the capture from a file rather than a pipe)"
                ),
            ));
        }
        if over_limit && incl_len > self.snaplen.max(PLAUSIBLE_CAPLEN) {
            return Err(CaptureError::new(
                offset,
                format!(
                    "pcap record declares {incl_len} captured bytes, more than the file's snaplen \
                     ({}) and the {max}-byte record limit: its length field is damaged",
                    self.snaplen
                ),
            ));
        }
        let record_len = usize::try_from(incl_len)
            .ok()
            .and_then(|n| n.checked_add(PCAP_RECORD_HEADER))
            .unwrap_or(usize::MAX);
        if !input.ensure(record_len)? {
            let have = input.window().len().saturating_sub(PCAP_RECORD_HEADER);
            return Err(CaptureError::new(
                offset,
                format!(
                    "pcap record declares {incl_len} captured bytes but the file ends after {have}: \
                     it is cut short"
                ),
            ));
        }
        let (_, raw) = self.parser.next_raw_packet(input.window()).map_err(|e| {
            CaptureError::new(offset, format!("internal error reading a pcap record: {e}"))
        })?;
        let frac_nanos = if self.nanos {
            i64::from(raw.ts_frac)
        } else {
            i64::from(raw.ts_frac).saturating_mul(1000)
        };
        let found = Located {
            offset,
            data_start: input.pos().saturating_add(PCAP_RECORD_HEADER),
            data_len: raw.data.len(),
            ts: Timestamp::from_secs_nanos(i64::from(raw.ts_sec), frac_nanos),
            link_type: self.link_type,
            orig_len: raw.orig_len,
        };
        input.advance(record_len);
        Ok(Some(found))
    }
}

impl PcapNgFile {
    fn start(input: &mut Input, limits: &ReaderLimits) -> Result<PcapNgFile, CaptureError> {
        let Some((_, len)) = frame_block(input, false, limits)? else {
            return Err(CaptureError::new(0, "empty file"));
        };
        let block = input.window().get(..len).unwrap_or_default();
        let (_, parser) = PcapNgParser::new(block).map_err(|e| {
            CaptureError::new(
                0,
                format!("section header block is malformed: {}", error_chain(&e)),
            )
        })?;
        let big_endian = parser.state().endianness() == Endianness::Big;
        input.advance(len);
        Ok(PcapNgFile {
            parser,
            big_endian,
            interfaces: Vec::new(),
            last_ts: Timestamp::ZERO,
        })
    }

    fn next(
        &mut self,
        input: &mut Input,
        limits: &ReaderLimits,
    ) -> Result<Option<Located>, CaptureError> {
        loop {
            let Some((block_type, len)) = frame_block(input, self.big_endian, limits)? else {
                return Ok(None);
            };
            let offset = input.offset();
            let found = match block_type {
                SECTION_HEADER | INTERFACE_DESCRIPTION => {
                    self.update_state(input, offset, block_type, len)?;
                    None
                }
                ENHANCED_PACKET | OBSOLETE_PACKET => {
                    Some(self.packet(input, offset, block_type, len)?)
                }
                SIMPLE_PACKET => Some(self.simple_packet(input, offset, len)?),
                // Statistics, name resolution, journal, custom and unknown
                // blocks carry nothing connlint uses.
                _ => None,
            };
            input.advance(len);
            if let Some(found) = found {
                self.last_ts = found.ts;
                return Ok(Some(found));
            }
        }
    }

    /// Passes a section header or interface description to the parser, whose
    /// state then reads later blocks (byte order, timestamp resolution).
    fn update_state(
        &mut self,
        input: &Input,
        offset: u64,
        block_type: u32,
        len: usize,
    ) -> Result<(), CaptureError> {
        let block = input.window().get(..len).unwrap_or_default();
        self.parser.next_raw_block(block).map_err(|e| {
            CaptureError::new(
                offset,
                format!(
                    "{} is malformed: {}",
                    block_name(block_type),
                    error_chain(&e)
                ),
            )
        })?;
        let state = self.parser.state();
        if block_type == SECTION_HEADER {
            self.big_endian = state.endianness() == Endianness::Big;
            self.interfaces.clear();
        } else if let Some(idb) = state.interfaces().last() {
            self.interfaces.push(Interface {
                link_type: LinkType(u32::from(idb.linktype)),
                snaplen: idb.snaplen,
                resolution: idb.ts_resolution(),
                offset_secs: idb.ts_offset(),
            });
        }
        Ok(())
    }

    /// An enhanced packet block, or the obsolete packet block it replaced
    /// (whose interface id is 16 bits, followed by a drop count).
    fn packet(
        &self,
        input: &Input,
        offset: u64,
        block_type: u32,
        len: usize,
    ) -> Result<Located, CaptureError> {
        let name = block_name(block_type);
        let body = block_body(input.window(), len);
        if body.len() < PACKET_HEADER {
            return Err(CaptureError::new(
                offset,
                format!("{name} is {len} bytes long, too short for its packet header: the file is damaged"),
            ));
        }
        let be = self.big_endian;
        let interface_id = if block_type == ENHANCED_PACKET {
            u32_at(body, 0, be)
        } else {
            u32::from(u16_at(body, 0, be))
        };
        let (ts_high, ts_low) = (u32_at(body, 4, be), u32_at(body, 8, be));
        let caplen = u32_at(body, 12, be);
        let orig_len = u32_at(body, 16, be);
        let room = body.len().saturating_sub(PACKET_HEADER);
        let data_len = usize::try_from(caplen).unwrap_or(usize::MAX);
        if data_len > room {
            return Err(CaptureError::new(
                offset,
                format!("{name} declares {caplen} captured bytes but holds only {room}: the file is damaged"),
            ));
        }
        let Some(interface) = self
            .interfaces
            .get(usize::try_from(interface_id).unwrap_or(usize::MAX))
        else {
            return Err(CaptureError::new(
                offset,
                format!(
                    "{name} refers to interface {interface_id}, but its section describes only {} \
                     interface(s) before it: an interface description block is missing or the id \
                     is damaged",
                    self.interfaces.len()
                ),
            ));
        };
        Ok(Located {
            offset,
            data_start: input.pos().saturating_add(BLOCK_BODY + PACKET_HEADER),
            data_len,
            ts: self.timestamp(interface, interface_id, ts_high, ts_low),
            link_type: interface.link_type,
            orig_len,
        })
    }

    /// A simple packet block: interface 0, no timestamp (the previous frame's
    /// is used, keeping capture time monotonic for the stages after this
    /// one), captured length = original length cut to the snaplen and to the
    /// block.
    fn simple_packet(
        &self,
        input: &Input,
        offset: u64,
        len: usize,
    ) -> Result<Located, CaptureError> {
        let body = block_body(input.window(), len);
        if body.len() < 4 {
            return Err(CaptureError::new(
                offset,
                format!("simple packet block is {len} bytes long, too short for its header: the file is damaged"),
            ));
        }
        let Some(interface) = self.interfaces.first() else {
            return Err(CaptureError::new(
                offset,
                "simple packet block comes before any interface description block in its section: \
                 the file is damaged",
            ));
        };
        let orig_len = u32_at(body, 0, self.big_endian);
        let mut data_len = usize::try_from(orig_len)
            .unwrap_or(usize::MAX)
            .min(body.len().saturating_sub(4));
        if interface.snaplen != 0 {
            data_len = data_len.min(usize::try_from(interface.snaplen).unwrap_or(usize::MAX));
        }
        Ok(Located {
            offset,
            data_start: input.pos().saturating_add(BLOCK_BODY + 4),
            data_len,
            ts: self.last_ts,
            link_type: interface.link_type,
            orig_len,
        })
    }

    /// Capture time of a packet on `interface`: its `if_tsresol` ticks plus
    /// its `if_tsoffset` seconds.
    fn timestamp(
        &self,
        interface: &Interface,
        interface_id: u32,
        high: u32,
        low: u32,
    ) -> Timestamp {
        match self
            .parser
            .state()
            .decode_timestamp(interface_id, high, low)
        {
            Ok(since_epoch) => Timestamp(i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)),
            // pcap-file refuses times before 1970 (a negative if_tsoffset);
            // connlint's timestamps are signed, so work them out here.
            Err(_) => {
                let ticks = (u64::from(high) << 32) | u64::from(low);
                let since_offset = interface.resolution.decode_timestamp(ticks).as_nanos();
                let nanos = i128::try_from(since_offset)
                    .unwrap_or(i128::MAX)
                    .saturating_add(
                        i128::from(interface.offset_secs).saturating_mul(1_000_000_000),
                    );
                Timestamp(nanos.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
            }
        }
    }
}

/// Checks the framing of the pcapng block at the start of the input's window
/// and makes the whole block available. Returns its type and total length, or
/// `None` at a clean end of file.
///
/// `big_endian` is the current section's byte order; a section header block
/// announces its own.
fn frame_block(
    input: &mut Input,
    big_endian: bool,
    limits: &ReaderLimits,
) -> Result<Option<(u32, usize)>, CaptureError> {
    let offset = input.offset();
    if !input.ensure(BLOCK_OVERHEAD)? {
        let have = input.window().len();
        if have == 0 {
            return Ok(None);
        }
        return Err(CaptureError::new(
            offset,
            format!(
                "the file ends {} into a {BLOCK_OVERHEAD}-byte pcapng block header: \
                 it is cut short or has trailing garbage",
                bytes(have)
            ),
        ));
    }
    let window = input.window();
    // The section header's type reads the same in both byte orders.
    let block_type = u32_at(window, 0, big_endian);
    let be = if block_type == SECTION_HEADER {
        match u32_at(window, 8, true) {
            0x1A2B_3C4D => true,
            0x4D3C_2B1A => false,
            magic => {
                return Err(CaptureError::new(
                    offset,
                    format!(
                    "section header block has byte-order magic 0x{magic:08x}, not 0x1a2b3c4d in \
                         either byte order: the file is damaged"
                ),
                ))
            }
        }
    } else {
        big_endian
    };
    let name = block_name(block_type);
    let total = u32_at(window, 4, be);
    // Built only for an error: this runs once per block.
    let declares = || format!("{name} declares a total length of {total} bytes");
    let len = usize::try_from(total).unwrap_or(usize::MAX);
    if len < BLOCK_OVERHEAD {
        return Err(CaptureError::new(
            offset,
            format!(
                "{}, less than the {BLOCK_OVERHEAD}-byte minimum: the file is damaged",
                declares()
            ),
        ));
    }
    if !total.is_multiple_of(4) {
        return Err(CaptureError::new(
            offset,
            format!("{}, not a multiple of 4: the file is damaged", declares()),
        ));
    }
    let max = limits.max_record_bytes;
    if input.is_stream() && len > max {
        return Err(CaptureError::new(
            offset,
            format!(
                "{}, more than the {max}-byte limit for one block when reading a stream: its \
                 length field is probably damaged (if not, read the capture from a file rather than \
                 a pipe)",
                declares()
            ),
        ));
    }
    if !input.ensure(len)? {
        let have = input.window().len();
        return Err(CaptureError::new(
            offset,
            format!(
                "{} but the file ends after {have}: it is cut short, or the length is damaged",
                declares()
            ),
        ));
    }
    let trailer = u32_at(input.window(), len.saturating_sub(4), be);
    if trailer != total {
        return Err(CaptureError::new(
            offset,
            format!(
                "{} at its start but {trailer} at its end: the file is damaged",
                declares()
            ),
        ));
    }
    Ok(Some((block_type, len)))
}

/// The body of the block of total length `len` at the window's start.
fn block_body(window: &[u8], len: usize) -> &[u8] {
    window
        .get(BLOCK_BODY..len.saturating_sub(4))
        .unwrap_or_default()
}

/// "1 byte", "5 bytes".
fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

fn block_name(block_type: u32) -> &'static str {
    match block_type {
        SECTION_HEADER => "section header block",
        INTERFACE_DESCRIPTION => "interface description block",
        OBSOLETE_PACKET => "packet block",
        SIMPLE_PACKET => "simple packet block",
        ENHANCED_PACKET => "enhanced packet block",
        4 => "name resolution block",
        5 => "interface statistics block",
        _ => "pcapng block",
    }
}

/// Why the first bytes are not a capture, and what to do about it.
fn not_a_capture(magic: u32, start: &[u8]) -> String {
    let compressed = if start.starts_with(&[0x1F, 0x8B]) {
        Some("gzip")
    } else if start.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some("zstd")
    } else if start.starts_with(b"BZh") {
        Some("bzip2")
    } else if start.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if start.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        Some("lz4")
    } else if start.starts_with(b"PK\x03\x04") {
        Some("zip")
    } else {
        None
    };
    match (compressed, magic) {
        (Some(kind), _) => format!(
            "not a pcap or pcapng file: magic 0x{magic:08x} is {kind}-compressed data; decompress it \
             first (or pipe the decompressed capture in as `-`)"
        ),
        (None, 0xA1B2_CD34 | 0x34CD_B2A1) => format!(
            "magic 0x{magic:08x} is the modified (Kuznetzov) pcap format, which connlint does not \
             read; convert it with `editcap -F pcap IN OUT`"
        ),
        (None, _) => format!(
            "not a pcap or pcapng file: magic 0x{magic:08x}; if it is compressed, decompress it first"
        ),
    }
}

/// An error and its sources, joined: `pcap-file`'s top-level messages
/// ("Invalid raw block format") say little without their causes.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let Some(word) = bytes
        .get(at..at.saturating_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
    else {
        return 0;
    };
    if big_endian {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    }
}

fn u16_at(bytes: &[u8], at: usize, big_endian: bool) -> u16 {
    let Some(half) = bytes
        .get(at..at.saturating_add(2))
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
    else {
        return 0;
    };
    if big_endian {
        u16::from_be_bytes(half)
    } else {
        u16::from_le_bytes(half)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::capture::input::STREAM_CHUNK;

    fn pcap_header() -> Vec<u8> {
        let mut out = Vec::new();
        for word in [
            0xA1B2_C3D4u32.to_le_bytes(),
            [2, 0, 4, 0],
            [0; 4],
            [0; 4],
            65535u32.to_le_bytes(),
            1u32.to_le_bytes(),
        ] {
            out.extend_from_slice(&word);
        }
        out
    }

    fn pcap_record(out: &mut Vec<u8>, sec: u32, caplen: u32, fill: u8) {
        for word in [sec, 0, caplen, caplen] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend(std::iter::repeat_n(fill, caplen as usize));
    }

    /// The stream buffer grows for a large record and no further than the
    /// limit allows; a record over the limit is refused before growing.
    #[test]
    fn stream_buffer_stays_within_its_bound() {
        let limits = ReaderLimits {
            max_record_bytes: 1 << 20,
        };
        let mut bytes = pcap_header();
        for (i, caplen) in [100u32, 300_000, 600_000, 1 << 20, 70]
            .into_iter()
            .enumerate()
        {
            pcap_record(&mut bytes, i as u32, caplen, i as u8);
        }
        let mut reader =
            CaptureReader::from_read(Box::new(std::io::Cursor::new(bytes.clone())), limits)
                .unwrap();
        assert_eq!(reader.stream_buffer_capacity(), STREAM_CHUNK);
        let mut peak = 0;
        while let Some(frame) = reader.next_frame().unwrap() {
            assert_eq!(frame.data.len(), frame.orig_len as usize);
            peak = peak.max(reader.stream_buffer_capacity());
        }
        assert!(peak >= (1 << 20) + 16);
        assert!(peak <= (1 << 20) + 16, "buffer grew to {peak}");

        // Over the limit by one byte: refused, and the buffer never grew.
        let mut bytes = pcap_header();
        pcap_record(&mut bytes, 0, (1 << 20) + 1, 1);
        let mut reader =
            CaptureReader::from_read(Box::new(std::io::Cursor::new(bytes)), limits).unwrap();
        let error = reader.next_frame().unwrap_err();
        assert_eq!(error.offset, 24);
        assert_eq!(reader.stream_buffer_capacity(), STREAM_CHUNK);
    }
}
