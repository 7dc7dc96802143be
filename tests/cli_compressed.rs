//! Compressed captures (issue 11, item 3): gzip and zstd, told by their
//! magic bytes, from a file or standard input, give exactly the output of
//! the capture they hold; other compressions keep their error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/files")
        .join(name)
}

/// A pcap and a pcapng with HTTP, findings and several connections.
const CAPTURES: [&str; 3] = [
    "pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap",
    "arkime__tests-pcap-wireshark-retrans.pcap",
    "chrissanders__http_espn.pcapng",
];

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connlint-compressed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

fn connlint(args: &[&str], path: &str, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(args)
        .arg(path)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Every command's output, with the capture's name replaced by `F`.
fn outputs(path: &str, stdin: Option<&[u8]>) -> Vec<(String, Option<i32>, String, String)> {
    let runs: [&[&str]; 5] = [
        &["check", "--format", "jsonl"],
        &["check"],
        &["check", "--format", "sarif"],
        &["connections", "--format", "jsonl"],
        &["transactions", "--format", "jsonl"],
    ];
    runs.iter()
        .map(|args| {
            let o = connlint(args, path, stdin);
            let text = |b: &[u8]| String::from_utf8_lossy(b).replace(path, "F");
            (
                args.join(" "),
                o.status.code(),
                text(&o.stdout),
                text(&o.stderr),
            )
        })
        .collect()
}

#[test]
fn gzip_and_zstd_captures_read_as_the_capture_they_hold() {
    for (i, name) in CAPTURES.iter().enumerate() {
        let plain = std::fs::read(corpus(name)).unwrap();
        // Plain names: SARIF percent-encodes others, which `F` would not replace.
        let p = scratch(&format!("capture{i}"), &plain);
        let want = outputs(p.to_str().unwrap(), None);
        assert!(want[0].2.contains("\"code\""), "{name} has findings");
        let want_stdin = outputs("-", Some(&plain));
        for (kind, bytes) in [("gz", gzip(&plain)), ("zst", zstd(&plain))] {
            assert!(bytes.len() < plain.len());
            let f = scratch(&format!("capture{i}.{kind}"), &bytes);
            let got = outputs(f.to_str().unwrap(), None);
            let got_stdin = outputs("-", Some(&bytes));
            for (g, w) in got
                .iter()
                .zip(&want)
                .chain(got_stdin.iter().zip(&want_stdin))
            {
                assert!(g == w, "{name}.{kind}: `{}` differs", w.0);
            }
        }
    }
}

#[test]
fn concatenated_gzip_members_are_one_capture() {
    // `cat a.gz b.gz` of a capture cut in two is the capture.
    let plain = std::fs::read(corpus(CAPTURES[0])).unwrap();
    let cut = plain.len() / 2;
    let mut two = gzip(&plain[..cut]);
    two.extend(gzip(&plain[cut..]));
    let p = scratch("whole.pcap", &plain);
    let f = scratch("two-members.pcap.gz", &two);
    let a = connlint(&["check", "--format", "jsonl"], p.to_str().unwrap(), None);
    let b = connlint(&["check", "--format", "jsonl"], f.to_str().unwrap(), None);
    assert_eq!(a.status.code(), b.status.code());
    let strip = |o: &Output, path: &Path| {
        String::from_utf8_lossy(&o.stdout).replace(path.to_str().unwrap(), "F")
    };
    assert_eq!(strip(&a, &p), strip(&b, &f));
}

#[test]
fn damage_inside_compressed_data_is_named_with_its_offset_in_the_decompressed_bytes() {
    // A gzip file cut short: the report of the packets before the cut, exit 2,
    // and the error says the offset is in the decompressed data.
    let plain = std::fs::read(corpus(CAPTURES[0])).unwrap();
    let gz = gzip(&plain);
    let f = scratch("cut.pcap.gz", &gz[..gz.len() / 2]);
    let o = connlint(&["check"], f.to_str().unwrap(), None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("of the gzip-decompressed data"), "{err}");
    assert!(err.contains("gzip data"), "{err}");
    assert!(err.contains("the report covers the"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(" connections, "), "{out}");
}

#[test]
fn a_zstd_window_beyond_the_bound_is_refused_not_allocated() {
    // Written with a 128 MiB window (zstd --long=27): connlint decodes
    // windows up to 16 MiB and says how to read this one.
    let plain = std::fs::read(corpus(CAPTURES[1])).unwrap();
    let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    e.long_distance_matching(true).unwrap();
    e.window_log(27).unwrap();
    e.write_all(&plain).unwrap();
    let big = e.finish().unwrap();
    let f = scratch("long.pcap.zst", &big);
    let o = connlint(&["check"], f.to_str().unwrap(), None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("zstd"), "{err}");
    assert!(err.contains("--long=31"), "{err}");
}

#[test]
fn other_compressions_keep_their_error() {
    let f = scratch("capture.pcap.bz2", b"BZh91AY&SY\x00\x00\x00\x00");
    let o = connlint(&["check"], f.to_str().unwrap(), None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("bzip2-compressed data; decompress it first"),
        "{err}"
    );
    // A gzip file that holds no capture says so after decompressing.
    let f = scratch("text.gz", &gzip(b"hello, this is text, not a capture"));
    let o = connlint(&["check"], f.to_str().unwrap(), None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("the gzip-decompressed data: not a pcap or pcapng file"),
        "{err}"
    );
}
