//! `connlint init`: a `connlint.toml` to start from, with every rule's
//! options at their defaults and every other key explained.
//!
//! The rule tables are live (`[rules.S001]` with each option set to its
//! default), so the file is read exactly as no file would be and a team
//! edits values in place; the top-level keys, the limits and a
//! suppression are commented out, with their defaults.

use crate::limits::Limits;

/// A number as TOML writes it: a whole number for integer options, else
/// a float (`0.5`, `20.0`).
fn number(v: f64, integer: bool) -> String {
    if integer && v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The template's text.
pub fn template() -> String {
    let mut s = String::new();
    let version = env!("CARGO_PKG_VERSION");
    s.push_str(&format!(
        "# connlint.toml, written by `connlint init` (connlint {version}).\n\
         # `connlint check` reads ./connlint.toml, or the file named with --config.\n\
         # The values below are the defaults; unknown keys are errors.\n\
         # `connlint rules` lists the rules; `connlint rule CODE` documents one.\n\n\
         # Rules to run: codes (T001), names (nagle-delayed-ack-stall) or code prefixes (C, P0).\n\
         # select = [\"ALL\"]\n\
         # Rules to skip (added to --ignore).\n\
         # ignore = []\n\
         # The lowest severity that makes the exit code 1: error, warning, info or never.\n\
         # fail-on = \"warning\"\n\
         # Exit 1 when a capture has nothing to judge (no TCP connection, or no HTTP/1.x).\n\
         # fail-on-empty = false\n"
    ));
    for r in crate::rules::all() {
        let m = r.meta();
        s.push_str(&format!(
            "\n# {} {} ({}): {}\n[rules.{}]\n# severity = \"{}\"\n",
            m.code,
            m.name,
            m.family.title(),
            m.summary,
            m.code,
            m.severity.name()
        ));
        for o in m.options {
            s.push_str(&format!(
                "# {}\n{} = {}\n",
                o.doc,
                o.key,
                number(o.default, o.integer)
            ));
        }
    }
    s.push_str("\n# Bounds on the input (`connlint limits`).\n# [limits]\n");
    for (key, value, doc) in Limits::default().describe() {
        s.push_str(&format!("# {key} = {value}   # {doc}\n"));
    }
    s.push_str(
        "\n# A finding the team accepts: the rule (code, name or prefix) and where, as globs\n\
         # (* and ?) on the client host, the server endpoint, the request's Host and target;\n\
         # the reason is required. Repeat the table for more.\n\
         # [[suppress]]\n\
         # rule = \"S004\"\n\
         # client = \"10.0.0.*\"\n\
         # server = \"10.0.0.2:80\"\n\
         # host = \"*.internal\"\n\
         # uri = \"/health*\"\n\
         # reason = \"the load balancer's health checks reuse ports on purpose\"\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_toml() {
        assert_eq!(number(3.0, true), "3");
        assert_eq!(number(20.0, false), "20.0");
        assert_eq!(number(0.5, false), "0.5");
    }
}
