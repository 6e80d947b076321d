#!/usr/bin/python3
"""A kernel under test for `mqa-harness fuzz --kernel 'exec:/usr/bin/python3 exec_standin.py {in} {out}'`.

Reads the case file {in} (golden schema v1), runs golden/python/standin_kernel.py (a pure-numpy
implementation of the exact contract, written from the spec), writes the candidate file {out}.
Exit 77 = unsupported case (it only does exact-profile logits). With MQA_STANDIN_BUG=1 it plants
one bug: the last token of every row gets the logit of token 0 (caught only when L_r >= 2).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.environ["MQA_GOLDEN_PYTHON"])
import mqa_golden as mg  # noqa: E402
import standin_kernel as kernel  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    outputs = {}
    for name, case in mg.load(src).items():
        a = case.attrs
        if a["op"] not in ("paged_logits", "ragged_logits") or a["profile"] != "exact":
            return 77
        if a["op"] == "paged_logits":
            x = case.paged_inputs()
            fill = np.uint32(a["logits_sentinel"]).view(np.float32)
            logits = kernel.paged_mqa_logits(
                x["q"], x["kv_cache"], x["weights"], x["context_lens"], x["block_table"], x["max_context_len"],
                x["logits_row_stride"], a["layout"], a["page_size"], a["head_dim"], x["encoding"],
                x["clean_logits"], fill)
        else:
            x = case.ragged_inputs()
            fill = np.uint32(a["logits_sentinel"]).view(np.float32)
            logits = kernel.ragged_mqa_logits(x["q"], x["k"], x["kscale"], x["weights"], x["ks"], x["ke"],
                                              x["logits_row_stride"], x["encoding"], x["clean_logits"], fill)
        if os.environ.get("MQA_STANDIN_BUG") == "1":
            for r, (lo, hi, _) in enumerate(case["logits_regions"]):
                if hi - lo >= 2:
                    logits[r, hi - 1] = logits[r, lo]
        outputs[name] = {"logits": logits, "topk": kernel.topk(logits, case["logits_regions"], a["topk"])}
    mg.write_candidate(dst, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
