//! Timestamps in the JSON output are seconds since the epoch as a float
//! (SPEC §5); `Timestamp` itself stays an integer of nanoseconds.

use crate::Timestamp;
use serde::Serializer;

pub(crate) fn secs<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(t.as_secs_f64())
}

pub(crate) fn opt_secs<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&t.as_secs_f64()),
        None => s.serialize_none(),
    }
}
