#!/usr/bin/env python3
"""Freeze tshark's reading of the HTTP inside every TLS sample that has a key log.

Why: connlint decrypts TLS with an NSS key log (`--keylog`) and reads the HTTP inside; Wireshark's
TLS dissector, given the same key log, is the independent reference. This script freezes what
tshark says into small committed files, so the test (tests/tls_decrypt.rs) runs without tshark.
Rerun it when a sample with a key log is (re-)recorded, then review the diff.

Usage (from the repository root; python3 stdlib only, needs `tshark` on PATH):

    python3 scripts/tshark-decrypted-reference.py            # every samples/NAME.keylog
    python3 scripts/tshark-decrypted-reference.py NAME ...   # only these (NAME without .pcap)

For each samples/NAME.keylog beside samples/NAME.pcap it runs

    tshark -n -r samples/NAME.pcap -o tls.keylog_file:samples/NAME.keylog -Y http -T fields
           -e tcp.stream -e frame.number -e frame.time_epoch -e http.request.method
           -e http.request.uri -e http.response.code -e http.content_length_header

and writes samples/tshark/NAME.pcap.http.tsv, one row per HTTP message in capture order:
stream, frame (the frame that completed the message, where tshark dissects it), time (epoch
seconds, microseconds), kind (request/response), method, uri, status, content_length.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
OUT = os.path.join(SAMPLES, "tshark")
FIELDS = ["tcp.stream", "frame.number", "frame.time_epoch", "http.request.method",
          "http.request.uri", "http.response.code", "http.content_length_header"]


def reference(name):
    pcap = os.path.join(SAMPLES, name + ".pcap")
    keylog = os.path.join(SAMPLES, name + ".keylog")
    args = ["tshark", "-n", "-r", pcap, "-o", f"tls.keylog_file:{keylog}", "-Y", "http", "-T", "fields"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rows = ["stream\tframe\ttime\tkind\tmethod\turi\tstatus\tcontent_length"]
    for line in out.splitlines():
        stream, frame, epoch, method, uri, status, clen = (line.split("\t") + [""] * 7)[:7]
        secs, _, frac = epoch.partition(".")
        time = f"{secs}.{(frac + '000000')[:6]}"
        kind = "request" if method else "response"
        rows.append("\t".join([stream, frame, time, kind, method, uri, status, clen]))
    path = os.path.join(OUT, name + ".pcap.http.tsv")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"{path}: {len(rows) - 1} messages")


def main(names):
    if not names:
        names = sorted(f[:-len(".keylog")] for f in os.listdir(SAMPLES) if f.endswith(".keylog"))
    for n in names:
        reference(n)


if __name__ == "__main__":
    main(sys.argv[1:])
