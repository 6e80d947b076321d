#!/usr/bin/python3
"""The whole loop a kernel author runs, with a numpy stand-in where the GPU kernel would be.

    /usr/bin/python3 golden/python/example_verify.py golden/data/smoke.h5 build/mqa-harness

1. load every logits case of a golden file (exact profile) as the arrays a kernel takes;
2. run "the kernel" (standin_kernel.py; with torch you would call e.g.
       deep_gemm.fp8_paged_mqa_logits(torch.from_numpy(x["q"]).cuda().view(torch.float8_e4m3fn),
                                      torch.from_numpy(x["kv_cache"]).cuda(), ...)
   and bring the result back with .cpu().numpy());
3. write a candidate file and run `mqa-harness golden verify --subset` on it: must pass (exit 0);
4. plant a one-ulp change in one defined logit: verify must report a mismatch (exit 1).
Exits 0 only if both verdicts are as expected.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqa_golden as mg  # noqa: E402
import standin_kernel as kernel  # noqa: E402


def run_case(case):
    a = case.attrs
    # a case by regions (2^32 bytes of padded logits): the kernel writes unpadded rows, and the
    # candidate holds them by regions too (Case.logits_by_regions), so nothing inflates 4 GiB
    stride = x_stride = a["logits_cols"] if case.by_regions() else a["logits_row_stride"]
    if a["op"] == "paged_logits":
        x = case.paged_inputs()
        logits = kernel.paged_mqa_logits(
            x["q"], x["kv_cache"], x["weights"], x["context_lens"], x["block_table"], x["max_context_len"],
            x_stride, a["layout"], a["page_size"], a["head_dim"], x["encoding"], x["clean_logits"],
            fill=np.uint32(a["logits_sentinel"]).view(np.float32) if case.by_regions() else np.nan)
    else:
        x = case.ragged_inputs()
        logits = kernel.ragged_mqa_logits(x["q"], x["k"], x["kscale"], x["weights"], x["ks"], x["ke"],
                                          stride, x["encoding"], x["clean_logits"])
    out = {"topk": kernel.topk(logits, case["logits_regions"], a["topk"])}
    out.update(case.logits_by_regions(logits) if case.by_regions() else {"logits": logits})
    return out


def verify(harness, golden, candidate):
    cmd = [harness, "golden", "verify", golden, candidate, "--subset"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    golden, harness = sys.argv[1], sys.argv[2]
    cases = mg.load(golden)
    outputs = {}
    for name, case in cases.items():
        if case.attrs["op"] in ("paged_logits", "ragged_logits") and case.attrs["profile"] == "exact":
            outputs[name] = run_case(case)
    if not outputs:
        print("no exact-profile logits case in", golden)
        return 2
    print("stand-in kernel ran %d of %d cases" % (len(outputs), len(cases)))
    with tempfile.TemporaryDirectory() as tmp:
        good = os.path.join(tmp, "candidate.h5")
        mg.write_candidate(good, outputs)
        rc, text = verify(harness, golden, good)
        print(text)
        if rc != 0:
            print("FAIL: verify of the stand-in kernel returned %d, expected 0" % rc)
            return 1
        # Plant a one-ulp error in the first finite defined logit of the first case that has one.
        planted = False
        for name, out in outputs.items():
            if cases[name].by_regions():
                continue
            for r, (lo, hi, _) in enumerate(cases[name]["logits_regions"]):
                finite = np.flatnonzero(np.isfinite(out["logits"][r, lo:hi]))
                if len(finite):
                    c = lo + finite[0]
                    out["logits"].view(np.uint32)[r, c] ^= 1
                    print("planted: case %s logits[%d, %d] one ulp off" % (name, r, c))
                    planted = True
                    break
            if planted:
                break
        bad = os.path.join(tmp, "planted.h5")
        mg.write_candidate(bad, outputs)
        rc, text = verify(harness, golden, bad)
        print(text[-3000:])
        if rc != 1:
            print("FAIL: verify of the planted candidate returned %d, expected 1" % rc)
            return 1
    print("OK: stand-in passes bitwise, the planted one-ulp error is caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
