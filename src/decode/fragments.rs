//! PLACEHOLDER: IPv4 fragment reassembly, implemented by the decode helper.

/// Bounds on IPv4 fragment reassembly.
#[derive(Clone, Copy, Debug)]
pub struct FragmentLimits {
    /// Datagrams being reassembled at once; the oldest is dropped past it.
    pub max_datagrams: usize,
    /// Bytes buffered across all datagrams being reassembled.
    pub max_bytes: usize,
    /// A datagram whose fragments do not all arrive within this many
    /// nanoseconds of capture time is dropped.
    pub timeout_ns: i64,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits {
            max_datagrams: 1024,
            max_bytes: 4 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct FragmentTable {}

impl FragmentTable {
    pub(crate) fn new(_limits: FragmentLimits) -> Self {
        FragmentTable {}
    }
}
