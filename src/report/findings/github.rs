//! `connlint check --format github`: GitHub Actions workflow commands that
//! annotate the run, one per group (or per finding with `--no-group`).

use super::group_text;
use crate::capture::CaptureError;
use crate::report::group::Group;
use crate::rules::Severity;
use crate::Timestamp;
use std::io::{self, Write};

/// GitHub workflow commands escape `%`, CR and LF in messages (and `:` and
/// `,` in properties).
fn gh(s: &str, property: bool) -> String {
    let mut o = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        o = o.replace(':', "%3A").replace(',', "%2C");
    }
    o
}

/// One annotation: a group (a finding, with `--no-group`).
pub(super) fn write_entry<W: Write + ?Sized>(
    out: &mut W,
    path: &str,
    t0: Option<Timestamp>,
    g: &Group,
) -> io::Result<()> {
    let level = match g.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    writeln!(
        out,
        "::{level} file={},title={}::{}",
        gh(path, true),
        gh(&format!("{} {}", g.key.code, g.rule), true),
        gh(&group_text(g, t0), false)
    )
}

/// The annotation of a damaged capture, after its findings'.
pub(super) fn write_error<W: Write + ?Sized>(
    out: &mut W,
    path: &str,
    e: &CaptureError,
) -> io::Result<()> {
    writeln!(
        out,
        "::error file={},title=damaged capture::byte offset {}: {}",
        gh(path, true),
        e.offset,
        gh(&e.reason, false)
    )
}
