//! The pcapng container: a sequence of blocks, each framed by its type and
//! its total length (repeated at its end). Section header blocks set the
//! byte order, interface description blocks the link type, snaplen and
//! timestamp resolution of the packet blocks that refer to them.
//!
//! Packet blocks (enhanced, simple, obsolete) are decoded here rather than by
//! `pcap-file`'s typed blocks: those collect a block's options into a `Vec`
//! (an allocation per packet) and reject harmless oddities such as an
//! original length shorter than the captured one. Section headers and
//! interface descriptions, which change how later blocks are read, go through
//! `PcapNgParser::next_raw_block`, and timestamps through its state's
//! `decode_timestamp`.

use super::input::Input;
use super::record::{record_header, u16_at, u32_at, Located, ReaderLimits};
use super::{CaptureError, LinkType};
use crate::Timestamp;
use pcap_file::pcapng::blocks::interface_description::InterfaceTsResolution;
use pcap_file::pcapng::PcapNgParser;
use pcap_file::Endianness;

/// A pcapng block's type and leading length, plus its trailing length.
const BLOCK_OVERHEAD: usize = 12;
/// Type and leading length: where a block's body starts.
const BLOCK_BODY: usize = 8;
/// Interface id, timestamp, captured and original length of an enhanced or
/// obsolete packet block.
const PACKET_HEADER: usize = 20;

pub(super) const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
/// A Decryption Secrets Block (what `editcap --inject-secrets` writes).
const DECRYPTION_SECRETS: u32 = 0x0000_000A;
/// Its secrets type for a TLS key log (NSS format): "TLSK".
const TLS_KEY_LOG: u32 = 0x544C_534B;
/// Most key log bytes kept from a capture's Decryption Secrets Blocks; more
/// are counted, not kept.
pub const MAX_SECRETS_BYTES: usize = 16 << 20;

/// A pcapng file being read: the current section's byte order and interfaces.
pub(super) struct PcapNgFile {
    parser: PcapNgParser,
    /// Byte order of the current section.
    big_endian: bool,
    /// The current section's interfaces, in id order.
    interfaces: Vec<Interface>,
    /// Timestamp of the last frame, lent to simple packet blocks, which have none.
    last_ts: Timestamp,
    /// TLS key log text from Decryption Secrets Blocks not yet taken.
    pub(super) secrets: Vec<u8>,
    /// Secrets bytes past [`MAX_SECRETS_BYTES`], dropped.
    pub(super) secrets_dropped: u64,
}

/// What a packet block needs from its interface description, looked up once.
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    resolution: InterfaceTsResolution,
    offset_secs: i64,
}

impl PcapNgFile {
    pub(super) fn start(
        input: &mut Input,
        limits: &ReaderLimits,
    ) -> Result<PcapNgFile, CaptureError> {
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
            secrets: Vec::new(),
            secrets_dropped: 0,
        })
    }

    pub(super) fn next(
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
                DECRYPTION_SECRETS => {
                    self.secrets_block(block_body(input.window(), len));
                    None
                }
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

    /// A Decryption Secrets Block: secrets type, secrets length, the
    /// secrets (then options). Only TLS key logs are kept; a block whose
    /// length does not fit is skipped.
    fn secrets_block(&mut self, body: &[u8]) {
        let kind = u32_at(body, 0, self.big_endian);
        let declared = usize::try_from(u32_at(body, 4, self.big_endian)).unwrap_or(usize::MAX);
        let Some(data) = body.get(8..).and_then(|d| d.get(..declared)) else {
            return;
        };
        if kind != TLS_KEY_LOG {
            return;
        }
        if self.secrets.len().saturating_add(data.len()) > MAX_SECRETS_BYTES {
            self.secrets_dropped = self.secrets_dropped.saturating_add(data.len() as u64);
            return;
        }
        self.secrets.extend_from_slice(data);
        self.secrets.push(b'\n');
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
        // The common case, micro- or nanoseconds since 1970 with no
        // `if_tsoffset`, worked out here: pcap-file's general path makes a
        // `Duration` through a 128-bit division on every packet. The value
        // is the one that path gives (ticks times the unit, at most
        // `i64::MAX` nanoseconds).
        if interface.offset_secs == 0 {
            let unit_ns = match interface.resolution {
                InterfaceTsResolution::MICRO => Some(1_000),
                InterfaceTsResolution::NANO => Some(1),
                _ => None,
            };
            if let Some(unit_ns) = unit_ns {
                let ticks = (u64::from(high) << 32) | u64::from(low);
                let nanos = ticks
                    .checked_mul(unit_ns)
                    .and_then(|n| i64::try_from(n).ok());
                return Timestamp(nanos.unwrap_or(i64::MAX));
            }
        }
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
    if !record_header(input, BLOCK_OVERHEAD, "pcapng block header")? {
        return Ok(None);
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

fn block_name(block_type: u32) -> &'static str {
    match block_type {
        SECTION_HEADER => "section header block",
        INTERFACE_DESCRIPTION => "interface description block",
        OBSOLETE_PACKET => "packet block",
        SIMPLE_PACKET => "simple packet block",
        ENHANCED_PACKET => "enhanced packet block",
        4 => "name resolution block",
        DECRYPTION_SECRETS => "decryption secrets block",
        5 => "interface statistics block",
        _ => "pcapng block",
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
