//! The pcap container (libpcap's file format): a 24-byte file header, then
//! records of a 16-byte header (time, captured and original length) and the
//! captured bytes, in the byte order and time resolution the header's magic
//! number says.

use super::input::Input;
use super::record::{bytes, record_header, u32_at, Located, ReaderLimits};
use super::{CaptureError, LinkType};
use crate::Timestamp;
use pcap_file::pcap::{PcapParser, PcapTsResolution};
use pcap_file::Endianness;

const PCAP_FILE_HEADER: usize = 24;
pub(super) const PCAP_RECORD_HEADER: usize = 16;
/// libpcap's MAXIMUM_SNAPLEN: captured lengths up to this are plausible even
/// when the file header's snaplen is smaller (or zero, or nonsense).
const PLAUSIBLE_CAPLEN: u32 = 262_144;

/// A pcap file being read: what its file header says about every record.
pub(super) struct PcapFile {
    parser: PcapParser,
    big_endian: bool,
    nanos: bool,
    link_type: LinkType,
    snaplen: u32,
}

impl PcapFile {
    pub(super) fn start(input: &mut Input) -> Result<PcapFile, CaptureError> {
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

    pub(super) fn next(
        &mut self,
        input: &mut Input,
        limits: &ReaderLimits,
    ) -> Result<Option<Located>, CaptureError> {
        let offset = input.offset();
        if !record_header(input, PCAP_RECORD_HEADER, "pcap record header")? {
            return Ok(None);
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
