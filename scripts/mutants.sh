#!/usr/bin/env bash
# Plants known bugs one at a time in a scratch copy of this tree and runs the
# tests meant to catch each: a bug no test catches is a hole in the suite.
#
# Usage (from anywhere in the repository):
#   scripts/mutants.sh                 # every mutant
#   scripts/mutants.sh NAME...         # only these (names in the table below)
#   MUTANTS_FULL=1 scripts/mutants.sh  # the whole `cargo test` per mutant (slow)
#
# Never touches the tree it is run from: the files are copied to a scratch
# directory (MUTANTS_DIR, default a new mktemp -d) and built there with their
# own target directory (MUTANTS_TARGET, default inside the scratch directory;
# set it to reuse a warm one between runs). Each mutant is an exact text
# replacement that must match exactly once: when the code moves, the script
# says which mutant no longer applies instead of testing nothing.
#
# Prints one line per mutant, `caught` (some test failed), `MISSED` (the
# tests passed with the bug in) or `no-build` (the mutant does not compile:
# fix the mutant), and exits 1 if any was missed or did not apply.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${MUTANTS_DIR:-$(mktemp -d /tmp/connlint-mutants.XXXXXX)}
tree="$work/tree"
export CARGO_TARGET_DIR=${MUTANTS_TARGET:-$work/target}
log="$work/log"
mkdir -p "$tree" "$log"

# The working tree as it is (committed or not), without build output.
copy_tree() {
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$repo" && xargs -0 cp --parents -t "$tree" 2>/dev/null || true)
}
copy_tree

# name | file | old text | new text | tests (cargo test arguments, `;` between runs)
# Tests: `--lib` is the unit tests; `--test X [FILTER]` one integration test.
MUTANTS=$(cat <<'EOF'
s001-ratio|src/rules/catalogue/s001_handshake_dominated.rs|let ratio = handshake as f64 / span as f64;|let ratio = handshake as f64 / exchange.max(1) as f64;|--lib;--test rules_samples;--test corpus_findings
t001-mss|src/flow/table/arrives.rs|mss: announced.map(\|m\| m.saturating_sub(options)),|mss: announced,|--lib;--test rules_samples
chunk-size|src/http/chunked.rs|remaining: self.size,|remaining: self.size.saturating_add(1),|--lib;--test http_suite;--test rules_samples
roles|src/flow/roles.rs|_ => pa < pb,|_ => pa > pb,|--lib;--test flow_table;--test corpus_findings
fin-end|src/reassembly/direction.rs|self.end_at(start.saturating_add(claimed));|self.end_at(start.saturating_add(claimed).saturating_add(1));|--lib;--test reassembly_props;--test flow_table
pipelined-pairing|src/http/pairing.rs|self.fifo.push_back(Pending::Request { idx, pipelined });|if pipelined { self.fifo.push_front(Pending::Request { idx, pipelined }); } else { self.fifo.push_back(Pending::Request { idx, pipelined }); }|--lib;--test rules_samples;--test corpus_http
pcapng-offset|src/capture/pcapng.rs|i128::from(interface.offset_secs).saturating_mul(1_000_000_000),|i128::from(interface.offset_secs).saturating_mul(1_000_000),|--test capture_reader
r001-on-fin|src/rules/catalogue/r001_rst_truncated_response.rs|let MessageEnd::RstBeforeEnd { side, ts } = resp.end else {|let (MessageEnd::RstBeforeEnd { side, ts } \| MessageEnd::FinBeforeEnd { side, ts }) = resp.end else {|--lib;--test rules_samples
timing-wait|src/http/timing.rs|(Some((_, req_last)), Some((resp_first, _))) => Some(resp_first.since(req_last)),|(Some((req_last, _)), Some((resp_first, _))) => Some(resp_first.since(req_last)),|--lib;--test timing
seq-unwrap|src/reassembly/direction.rs|let delta = rel.wrapping_sub(here as u32) as i32 as i64;|let delta = i64::from(rel.wrapping_sub(here as u32));|--lib;--test reassembly_props;--test hostile sequence
header-case|src/http/field_names.rs|const FOLD: u64 = 0x2020_2020_2020_2020;|const FOLD: u64 = 0;|--lib;--test http_suite;--test rules_samples
304-body|src/http/framing.rs|(100..200).contains(&status) \|\| status == 204 \|\| status == 304 {|(100..200).contains(&status) \|\| status == 204 {|--lib;--test http_suite;--test rules_samples
fuzz-gap-after-fin|src/reassembly/direction.rs|Some(fin) => claimed.min(fin.saturating_sub(start)),|Some(_) => claimed,|--test fuzz_regressions
fuzz-roles-after-fin|src/flow/table/arrives.rs|\|\| e.conn.fin.iter().any(Option::is_some);|\|\| false;|--test fuzz_regressions
fuzz-head-over-cap|src/http/heads.rs|let head = bytes.get(..self.limits.max_head_bytes).unwrap_or(bytes);|let head = bytes;|--test fuzz_regressions
item1-body-23-26|src/http/chunked.rs|remaining: self.size,|remaining: self.size.saturating_add(1),|--test rules_samples
item1-mss-1460|src/flow/table/arrives.rs|mss: announced.map(\|m\| m.saturating_sub(options)),|mss: announced,|--test rules_samples
item2-skip-pipelined|src/http/pairing.rs|self.fifo.push_back(Pending::Request { idx, pipelined });|if !pipelined { self.fifo.push_back(Pending::Request { idx, pipelined }); }|--test corpus_http
item4-sarif-error-level|src/report/findings/sarif.rs|Severity::Error => "error",|Severity::Error => "warning",|--test cli_formats
item4-github-error-level|src/report/findings/github.rs|Severity::Error => "error",|Severity::Error => "warning",|--test cli_formats
item6-seq-unwrap-hostile|src/reassembly/direction.rs|let delta = rel.wrapping_sub(here as u32) as i32 as i64;|let delta = i64::from(rel.wrapping_sub(here as u32));|--test hostile sequence
EOF
)

# Replaces the one occurrence of $2 in file $1 by $3 (Python: exact text).
plant() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path, encoding="utf-8").read()
n = text.count(old)
if n != 1:
    sys.exit(f"{path}: the text to replace occurs {n} times: {old!r}")
open(path, "w", encoding="utf-8").write(text.replace(old, new))
PY
}

want=" $* "
failed=0
printf '%-26s %-9s %s\n' mutant result "tests (the first that failed)"
while IFS= read -r line; do
  [ -z "$line" ] && continue
  # Split on unescaped '|' ('\|' stands for a literal '|').
  mapfile -t f < <(python3 -c 'import re,sys; [print(x.replace("\\|","|")) for x in re.split(r"(?<!\\)\|", sys.argv[1])]' "$line")
  name=${f[0]} file=${f[1]} old=${f[2]} new=${f[3]} tests=${f[4]}
  if [ $# -gt 0 ] && [[ "$want" != *" $name "* ]]; then continue; fi
  cp "$repo/$file" "$tree/$file"
  if ! plant "$tree/$file" "$old" "$new" 2>"$log/$name.plant"; then
    printf '%-26s %-9s %s\n' "$name" "NO-APPLY" "$(cat "$log/$name.plant")"
    failed=1
    continue
  fi
  result=MISSED
  by=""
  if [ -n "${MUTANTS_FULL:-}" ]; then
    if ! (cd "$tree" && cargo test --locked --quiet) >"$log/$name.test" 2>&1; then
      result=caught
      by="cargo test"
    fi
  else
    IFS=';' read -ra runs <<<"$tests"
    for run in "${runs[@]}"; do
      read -ra args <<<"$run"
      # `--test NAME FILTER`: the filter goes after the target.
      cmd=(cargo test --locked --quiet "${args[@]:0:2}")
      [ ${#args[@]} -gt 2 ] && cmd+=("${args[@]:2}")
      if ! (cd "$tree" && "${cmd[@]}") >>"$log/$name.test" 2>&1; then
        result=caught
        by="${args[*]}"
        break
      fi
    done
  fi
  if [ "$result" = caught ] && grep -q "could not compile" "$log/$name.test"; then
    result=no-build
  fi
  if [ "$result" != caught ]; then failed=1; fi
  printf '%-26s %-9s %s\n' "$name" "$result" "${by:-$tests}"
  cp "$repo/$file" "$tree/$file"
done <<<"$MUTANTS"
echo "logs: $log"
exit $failed
