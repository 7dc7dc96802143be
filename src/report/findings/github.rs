//! `connlint check --format github`: GitHub Actions workflow commands that
//! annotate the run, one per group (or per finding with `--no-group`).

use super::{entries, group_text};
use crate::analyze::CheckOutcome;
use crate::rules::Severity;
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

pub(super) fn write_github<W: Write>(
    out: &mut W,
    outcomes: &[CheckOutcome],
    group: bool,
) -> io::Result<()> {
    for o in outcomes {
        for g in entries(o, group) {
            let level = match g.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            writeln!(
                out,
                "::{level} file={},title={}::{}",
                gh(&o.summary.path, true),
                gh(&format!("{} {}", g.key.code, g.rule), true),
                gh(&group_text(&g, o.summary.first_ts), false)
            )?;
        }
        if let Some(e) = &o.summary.error {
            writeln!(
                out,
                "::error file={},title=damaged capture::byte offset {}: {}",
                gh(&o.summary.path, true),
                e.offset,
                gh(&e.reason, false)
            )?;
        }
    }
    Ok(())
}
