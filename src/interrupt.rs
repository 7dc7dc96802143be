//! Stopping a live capture and keeping its report: `tcpdump -w - | connlint
//! check -` is ended with Ctrl-C.
//!
//! [`install`] (the CLI calls it) turns the first SIGINT or SIGTERM into a
//! request to stop: the analysis loop ([`requested`], read once a frame)
//! stops reading, the flow table finishes the connections still open as
//! open at the end of the capture, and the report of what was read is
//! printed with the findings' exit code. A second signal while that runs
//! quits at once (exit 130 for SIGINT, 143 for SIGTERM), as a shell user
//! expects of a second Ctrl-C.
//!
//! A read from a pipe or a terminal blocks until the writer sends more, so
//! a stop request alone would wait for it; [`Interruptible`] reads such a
//! stream on a thread of its own and ends it (as end of file) as soon as a
//! stop is requested. Regular files never block, and are read directly.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Set by the first SIGINT / SIGTERM (or by [`request`]).
fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Makes SIGINT and SIGTERM request a stop, and a second one quit at once.
pub fn install() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag::{register, register_conditional_shutdown};
    // The order matters (signal-hook's documentation): the shutdown action
    // is registered first, so that it sees the flag as it was before this
    // signal; only a signal that finds it already set exits.
    for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        register_conditional_shutdown(signal, code, Arc::clone(flag()))?;
        register(signal, Arc::clone(flag()))?;
    }
    Ok(())
}

/// Whether a stop was requested.
#[inline]
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// The stop flag itself, for a loop that asks once a frame: reading it is
/// one load, where [`requested`] first checks that the flag was made.
pub fn flag_ref() -> &'static AtomicBool {
    flag()
}

/// Requests a stop, as a signal does.
pub fn request() {
    flag().store(true, Ordering::Relaxed);
}

/// How long a blocked read waits before it looks at the stop flag again.
const POLL: Duration = Duration::from_millis(50);
/// Bytes read from the stream at a time, and chunks queued ahead of the
/// reader: at most 4 x 64 KiB in flight.
const CHUNK: usize = 64 << 10;
const QUEUED: usize = 4;

/// A stream read on a thread of its own, so that a stop request ends it at
/// once even while the writer is silent: reads then return end of file.
pub struct Interruptible {
    chunks: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    at: usize,
    ended: bool,
}

impl Interruptible {
    pub fn new(mut read: Box<dyn Read + Send>) -> Interruptible {
        let (tx, chunks) = sync_channel(QUEUED);
        std::thread::spawn(move || loop {
            let mut buf = vec![0; CHUNK];
            let sent = match read.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send(Ok(Vec::new()));
                    break;
                }
                Ok(n) => {
                    buf.truncate(n);
                    tx.send(Ok(buf))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            };
            if sent.is_err() {
                // The reader is gone (a stop, or the capture was done with).
                break;
            }
        });
        Interruptible {
            chunks,
            pending: Vec::new(),
            at: 0,
            ended: false,
        }
    }
}

impl Read for Interruptible {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(rest) = self.pending.get(self.at..).filter(|r| !r.is_empty()) {
                let n = rest.len().min(out.len());
                if let (Some(to), Some(from)) = (out.get_mut(..n), rest.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.at = self.at.saturating_add(n);
                return Ok(n);
            }
            if self.ended || requested() {
                return Ok(0);
            }
            match self.chunks.recv_timeout(POLL) {
                Ok(Ok(chunk)) if chunk.is_empty() => self.ended = true,
                Ok(Ok(chunk)) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_a_stream_through_whole() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = Interruptible::new(Box::new(io::Cursor::new(data.clone())));
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    }
}
