#!/usr/bin/python3
"""restamp.py IN OUT: writes IN with its first 512 bytes replaced by a valid golden file header
(MQA-GOLDEN-FILE 1, the sha256 and byte count of everything after byte 512), as
golden_reader_fuzzer does before its second read. Turns a reproducer of the fuzzer into a file
that the CLI (golden verify / inspect) reads past the integrity gate."""
import hashlib
import sys

data = open(sys.argv[1], "rb").read()
data = data + b"\0" * max(0, 512 - len(data))
rest = data[512:]
head = b"MQA-GOLDEN-FILE 1\nsha256 " + hashlib.sha256(rest).hexdigest().encode() + b"\nbytes " + str(len(rest)).encode() + b"\n"
open(sys.argv[2], "wb").write(head + b"\0" * (512 - len(head)) + rest)
