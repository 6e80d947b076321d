#!/usr/bin/env python3
"""Joins the figures of one bench_logits.sh call into one table (markdown, to stdout):
device_bench's records (our exact kernels), time_peers.py's (DeepGEMM, aiter) and tensor_peak's
int8 rates. Per shape: microseconds, % of the copy bandwidth each run measured (paged only: the
ragged op is bounded by the tensor cores, not by bytes), and the ratio to DeepGEMM of that call.

    summarize_bench.py OURS.json PEERS.json [PEAK.json]
"""
import json
import sys

B, H, D, PAGE = 64, 64, 128, 64
FLOOR_US, TARGET_US = 185.0, 110.0  # issue 12: paged logits at L = 32768 (aiter's Triton kernel; 1.5x DeepGEMM)


def paged_bytes(L):  # as device_bench counts them: K cache (values + scales) + q + weights + logits
    return B * L * (D + 4) + B * H * D + B * H * 4 + B * L * 4


def shape_of(r):
    return "B%d L%d" % (r["M"], r["L"]) if r["op"] == "paged" else "M%d N%d" % (r["M"], r["N"])


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    ours = json.load(open(sys.argv[1]))
    peers = json.load(open(sys.argv[2]))
    peak = json.load(open(sys.argv[3])) if len(sys.argv) == 4 else None
    rows = [dict(r, kernel="ours (%s)" % r["layout"] if r["layout"] != "-" else "ours", copy=ours["copy_gbs"])
            for r in ours["records"] if r["path"] == "fast"]
    rows += [dict(r, kernel=r["kernel"], copy=peers["copy_gbs"]) for r in peers["records"]]
    dg = {shape_of(r): r["us"] for r in peers["records"] if r["kernel"] == "deepgemm"}
    print("device: %s; copy bandwidth %.1f GB/s (device_bench) / %.1f GB/s (torch), read + write\n"
          % (ours["device"], ours["copy_gbs"], peers["copy_gbs"]))
    print("| op | shape | kernel | exact | median us | % of copy | time / DeepGEMM's |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["op"], r.get("L", 0), r["kernel"])):
        s = shape_of(r)
        pct = "%.1f%%" % (100.0 * paged_bytes(r["L"]) / (r["us"] * 1e-6) / 1e9 / r["copy"]) if r["op"] == "paged" else "-"
        ratio = "%.2fx" % (r["us"] / dg[s]) if s in dg and r["kernel"] != "deepgemm" else "-"
        exact = "yes" if r["kernel"].startswith("ours") else "no"
        print("| %s | %s | %s | %s | %.1f | %s | %s |" % (r["op"], s, r["kernel"], exact, r["us"], pct, ratio))
    for e in peers.get("errors", []):
        print("| %s | %s | %s | no | ERROR | %s | - |" % (e["op"], shape_of(dict(e, L=e.get("L", 0), N=e.get("N", 0))),
                                                      e["kernel"], e["error"][:80]))
    ours32 = [r["us"] for r in rows if r["kernel"].startswith("ours") and r["op"] == "paged" and r["L"] == 32768]
    if ours32:
        worst = max(ours32)
        print("\npaged L = 32768, slower layout: %.1f us; floor %.0f us %s, target %.0f us %s"
              % (worst, FLOOR_US, "MET" if worst <= FLOOR_US else "NOT met",
                 TARGET_US, "MET" if worst <= TARGET_US else "NOT met"))
    if peak:
        products = B * 32768 * H * D
        print("\n| int8 instruction (%s, %d SMs, %s MHz) | TOPS | MAC/clk/SM | 9 limbs, L 32768 | 6 limbs |"
              % (peak["device"], peak["sms"], peak["clock_mhz"]))
        print("|---|---|---|---|---|")
        for r in peak["rates"]:
            t9 = 9 * products * 2 / (r["tops"] * 1e12) * 1e6
            print("| %s | %.0f | %.0f | %.0f us | %.0f us |" % (r["instruction"], r["tops"], r["mac_per_clk_sm"], t9,
                                                                t9 * 6 / 9))
        if ours32:
            best = max(r["tops"] for r in peak["rates"] if r["instruction"].startswith("mma.sync"))
            used = 9 * products * 2 / (min(ours32) * 1e-6) / 1e12
            print("\nours at L = 32768 issues %.0f TOPS of int8 limb products: %.0f%% of the mma.sync rate above"
                  % (used, 100.0 * used / best))


if __name__ == "__main__":
    main()
