#!/usr/bin/env python3
"""Freeze tshark's reading of the TLS handshakes in the shipped captures.

Why: connlint reads TLS ClientHellos and ServerHellos itself (src/tls/, through tls-parser);
tests/tls_tshark.rs checks that what it reads — versions, server name, ALPN, resumption — is what
tshark's TLS dissector reads (`tls.handshake.*` fields), on every capture in tests/corpus/files and
samples/ that holds a TLS handshake. This script writes tshark's reading as small TSV files so the
test runs without tshark. Rerun it when a capture is added or tshark is upgraded; review the diff.

Usage (from the repository root; python3 stdlib only, needs `tshark` on PATH):

    python3 scripts/tshark-tls-reference.py

For each capture F (tests/corpus/files/* and samples/*.pcap) it runs once

    tshark -n -r F -Y "tls.handshake.type == 1 || tls.handshake.type == 2" -T fields
        -E separator=/t -E occurrence=a -E aggregator=,
        -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport
        -e tls.handshake.type -e tls.handshake.version -e tls.handshake.random
        -e tls.handshake.session_id_length -e tls.handshake.ciphersuite
        -e tls.handshake.extension.type -e tls.handshake.extension.len
        -e tls.handshake.extensions.supported_version -e tls.handshake.extensions_server_name
        -e tls.handshake.extensions_alpn_str -e tls.handshake.extensions.psk.identity.selected
        -e tls.resumed

and, when any stream has a ClientHello, writes F.tls.tsv (into tests/corpus/tshark/ for the
corpus, samples/tshark/ for the samples), one row per TCP stream with a ClientHello, sorted by
stream. Columns:

- tcp_stream, client (the ClientHello's sender, ip:port; IPv6 as [addr]:port), server;
- version_offered: the highest version in the ClientHello's supported_versions extension
  (GREASE left out), else the ClientHello's own version; version: the ServerHello's
  supported_versions, else its version (empty without a ServerHello). As 0x0303-style hex.
- sni; alpn_offered (comma-joined, in order); alpn (the ServerHello's, empty if none: TLS 1.3
  sends it encrypted);
- session_id_bytes (the ClientHello's session id length); ticket_offered (1 if the ClientHello's
  session_ticket extension, type 35, carries data); psk_offered (1 if it has pre_shared_key, type
  41); early_data_offered (type 42);
- resumed: 1 if tshark marks the session resumed (`tls.resumed`, TLS 1.2) or the ServerHello
  selected a PSK (TLS 1.3), 0 if a ServerHello was seen without either, empty without one;
- cipher_suite: the ServerHello's, hex; hello_retry: 1 if a ServerHello carried RFC 8446's
  HelloRetryRequest random (the ServerHello columns then come from the next one).

The first ClientHello and the first ServerHello that is not a HelloRetryRequest count. The
output is sorted and holds no paths or dates: a rerun with the same tshark changes nothing.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETS = [
    (os.path.join(ROOT, "tests", "corpus", "files"), os.path.join(ROOT, "tests", "corpus", "tshark"), None),
    (os.path.join(ROOT, "samples"), os.path.join(ROOT, "samples", "tshark"), ".pcap"),
]
FIELDS = [
    "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
    "tls.handshake.type", "tls.handshake.version", "tls.handshake.random",
    "tls.handshake.session_id_length", "tls.handshake.ciphersuite",
    "tls.handshake.extension.type", "tls.handshake.extension.len",
    "tls.handshake.extensions.supported_version", "tls.handshake.extensions_server_name",
    "tls.handshake.extensions_alpn_str", "tls.handshake.extensions.psk.identity.selected",
    "tls.resumed",
]
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
HEADER = ["tcp_stream", "client", "server", "version_offered", "version", "sni", "alpn_offered",
          "alpn", "session_id_bytes", "ticket_offered", "psk_offered", "early_data_offered",
          "resumed", "cipher_suite", "hello_retry"]
ROOT_NOTICE = 'Running as user "root" and group "root". This could be dangerous.'


def grease(v):
    return v & 0x0F0F == 0x0A0A and (v >> 8) == (v & 0xFF)


def last(field):
    return field.split(",")[-1] if field else ""


def endpoint(ip4, ip6, port):
    ip6 = last(ip6)
    if ip6:
        return "[%s]:%s" % (ip6, last(port))
    return "%s:%s" % (last(ip4), last(port))


def hexv(v):
    return "0x%04x" % v


def ints(field):
    out = []
    for x in field.split(",") if field else []:
        x = x.strip()
        if x:
            out.append(int(x, 16) if x.startswith("0x") else int(x))
    return out


def read(path):
    proc = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2",
         "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
        + [x for f in FIELDS for x in ("-e", f)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    streams = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        cols = line.split("\t")
        if len(cols) != len(FIELDS) or not cols[0] or "," in cols[0]:
            continue
        row = dict(zip(FIELDS, cols))
        sid = int(row["tcp.stream"])
        types = ints(row["tls.handshake.type"])
        s = streams.setdefault(sid, {})
        src = endpoint(row["ip.src"], row["ipv6.src"], row["tcp.srcport"])
        dst = endpoint(row["ip.dst"], row["ipv6.dst"], row["tcp.dstport"])
        ext_types = ints(row["tls.handshake.extension.type"])
        ext_lens = ints(row["tls.handshake.extension.len"])
        exts = dict(zip(ext_types, ext_lens))
        versions = ints(row["tls.handshake.version"])
        supported = [v for v in ints(row["tls.handshake.extensions.supported_version"]) if not grease(v)]
        if 1 in types and "client" not in s:
            s["client"], s["server"] = src, dst
            s["version_offered"] = hexv(max(supported) if supported else (versions[0] if versions else 0))
            s["sni"] = last(row["tls.handshake.extensions_server_name"])
            s["alpn_offered"] = row["tls.handshake.extensions_alpn_str"]
            sid_len = ints(row["tls.handshake.session_id_length"])
            s["session_id_bytes"] = str(sid_len[0]) if sid_len else "0"
            s["ticket_offered"] = "1" if exts.get(35, 0) > 0 else "0"
            s["psk_offered"] = "1" if 41 in exts else "0"
            s["early_data_offered"] = "1" if 42 in exts else "0"
        elif 2 in types and "client" in s and "version" not in s:
            randoms = row["tls.handshake.random"].split(",")
            if randoms and randoms[0].replace(":", "") == HRR_RANDOM:
                s["hello_retry"] = "1"
                continue
            s["version"] = hexv(supported[0] if supported else (versions[0] if versions else 0))
            s["alpn"] = last(row["tls.handshake.extensions_alpn_str"])
            psk = row["tls.handshake.extensions.psk.identity.selected"] != ""
            s["resumed"] = "1" if (row["tls.resumed"] or psk) else "0"
            suites = ints(row["tls.handshake.ciphersuite"])
            s["cipher_suite"] = hexv(suites[0]) if suites else ""
    rows = []
    for sid in sorted(streams):
        s = streams[sid]
        if "client" not in s:
            continue
        rows.append([str(sid)] + [s.get(k, "") for k in HEADER[1:-1]] + [s.get("hello_retry", "0")])
    return rows


def main():
    written = 0
    for src, out, ext in SETS:
        names = sorted(f for f in os.listdir(src) if not f.startswith(".") and (ext is None or f.endswith(ext)))
        for name in names:
            rows = read(os.path.join(src, name))
            target = os.path.join(out, name + ".tls.tsv")
            if not rows:
                if os.path.exists(target):
                    os.remove(target)
                continue
            os.makedirs(out, exist_ok=True)
            with open(target + ".tmp", "w", encoding="utf-8", newline="\n") as fh:
                fh.write("\t".join(HEADER) + "\n")
                for r in rows:
                    fh.write("\t".join(r) + "\n")
            os.replace(target + ".tmp", target)
            written += 1
            print("%s: %d TLS stream(s)" % (os.path.relpath(target, ROOT), len(rows)), flush=True)
    print("done: %d files" % written)


if __name__ == "__main__":
    sys.exit(main())
