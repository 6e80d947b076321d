#!/usr/bin/python3
"""A kernel under test for the exec route of `mqa-harness fuzz` (fuzz/README.md "exec protocol"):

    build/mqa-harness fuzz --kernel "exec:/usr/bin/python3 tests/fuzz/exec_standin.py {in} {out}" \\
        --ops paged_logits,ragged_logits --profile exact --cases 50
    build/mqa-harness fuzz --kernel "exec-worker:/usr/bin/python3 tests/fuzz/exec_standin.py --worker" ...

A third argument TAG is ignored (tests put a unique marker there, to find leftover processes
with `pgrep -f TAG`).

Reads the input file {in} (golden schema v1, kind = input: the case's inputs, no expected
output), runs golden/python/standin_kernel.py (a pure-numpy implementation of the exact
contract, written from the spec) on the REAL pool (page ids and offsets as drawn), writes the
candidate file {out}. Exit 77 = unsupported case (it only does exact-profile logits).
--worker: one process for the whole campaign; per case a line "IN OUT" on stdin, the answer
line "ok" / "unsupported REASON" / "error MSG" on stdout.

golden/python is found next to this file's checkout (../../golden/python); the environment
variable MQA_GOLDEN_PYTHON, when set, names another one.

Planted bugs, for the harness's own tests (MQA_STANDIN_BUG):
  1            the last token of every row gets the logit of token 0 (caught only when L_r >= 2)
  garbage      writes 1.0 into every column past L_r unless clean_logits (caught by --writes
               defined, passes --writes columns)
  copy         copies the expected outputs from the input file (there are none: it must fail)
  offset32     byte offsets of pages truncated to 32 bits (caught on pools past 2^32 bytes)
  unpadded     (no bug) returns logits [rows, max_context_len] instead of the padded buffer
  ulp          every finite nonzero valid logit one ulp up: fails bitwise, passes the tolerance models
  hang         sleeps forever; hang_child: starts a grandchild (command line ending in
               TAG-grandchild) that sleeps forever, and waits for it
MQA_STANDIN_HANG_ONCE=FILE: the first case (FILE absent: created) sleeps forever, later ones run.
"""
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("MQA_GOLDEN_PYTHON") or os.path.join(HERE, "..", "..", "golden", "python"))
import mqa_golden as mg  # noqa: E402
import standin_kernel as kernel  # noqa: E402

UNSUPPORTED = 77


class Unsupported(Exception):
    pass


def compute(case, bug):
    a = case.attrs
    if a["op"] not in ("paged_logits", "ragged_logits") or a["profile"] != "exact":
        raise Unsupported("the stand-in computes exact-profile logits only, not %s/%s" % (a["op"], a["profile"]))
    if bug == "copy":  # a "kernel" that hands back whatever expected outputs it finds
        return {k: case[k] for k in ("logits", "topk") if k in case}
    if bug == "cache_only" and a["op"] == "paged_logits":  # hands back a copy of an input, no logits
        return {"cache": case["cache"]}
    fill = np.uint32(a["logits_sentinel"]).view(np.float32)
    if a["op"] == "paged_logits":
        x = case.paged_inputs()  # the real pool: large pools as a sparse memmap
        if bug == "offset32":  # byte offsets of pages truncated to 32 bits (aiter's bug)
            stride = np.int64(a["page_stride"])
            x["block_table"] = (((x["block_table"].astype(np.int64) * stride) & 0xFFFFFFFF) // stride).astype(np.int32)
        logits = kernel.paged_mqa_logits(
            x["q"], x["kv_cache"], x["weights"], x["context_lens"], x["block_table"], x["max_context_len"],
            x["logits_row_stride"], a["layout"], a["page_size"], a["head_dim"], x["encoding"],
            x["clean_logits"], fill)
    else:
        x = case.ragged_inputs()
        logits = kernel.ragged_mqa_logits(x["q"], x["k"], x["kscale"], x["weights"], x["ks"], x["ke"],
                                          x["logits_row_stride"], x["encoding"], x["clean_logits"], fill)
    regions = case["logits_regions"]
    if bug == "1":
        for r, (lo, hi, _) in enumerate(regions):
            if hi - lo >= 2:
                logits[r, hi - 1] = logits[r, lo]
    if bug == "garbage" and not a["clean_logits"]:  # upstream kernels past L_r: only --writes columns allows it
        for r, (lo, hi, _) in enumerate(regions):
            logits[r, hi:a["logits_cols"]] = 1.0
    if bug == "ulp":
        for r, (lo, hi, _) in enumerate(regions):
            row = logits[r, lo:hi]
            move = np.isfinite(row) & (row != 0)
            row[move] = np.nextafter(row[move], np.float32(np.inf))
    out = {"logits": logits, "topk": kernel.topk(logits, regions, a["topk"])}
    if bug == "unpadded":  # not a bug: [rows, max_context_len], as DeepGEMM returns them
        out["logits"] = logits[:, :a["logits_cols"]]
    return out


def run(src, dst, tag="mqa-standin"):
    bug = os.environ.get("MQA_STANDIN_BUG", "")
    once = os.environ.get("MQA_STANDIN_HANG_ONCE")  # a file: hang if it is absent, after creating it
    if bug == "hang" or (once and not os.path.exists(once) and open(once, "w")):
        time.sleep(1e9)
    if bug == "hang_child":
        subprocess.run([sys.executable, "-c", "import time; time.sleep(1e9)", tag + "-grandchild"])
    kind = None if bug == "copy" else "input"  # a copier takes any file
    outputs = {name: compute(case, bug) for name, case in mg.load(src, kind=kind).items()}
    mg.write_candidate(dst, outputs)


def worker():
    for line in sys.stdin:
        try:
            src, dst = line.split()
            run(src, dst)
            answer = "ok"
        except Unsupported as e:
            answer = "unsupported " + str(e)
        except Exception as e:  # noqa: BLE001 - the harness reports it as a failure of the case
            answer = "error %s: %s" % (type(e).__name__, str(e).replace("\n", " "))
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    return 0


def main():
    if sys.argv[1:2] == ["--worker"]:
        return worker()  # a TAG after --worker is ignored too
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    try:
        run(*sys.argv[1:])
    except Unsupported:
        return UNSUPPORTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
