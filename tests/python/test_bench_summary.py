"""scripts/peers/summarize_bench.py, the table of issue 12's speed figures, on records of known
figures: % of copy from the bytes device_bench counts, the ratio to DeepGEMM of the same shape,
the floor's verdict on the slower layout, and the tensor-core times derived from tensor_peak."""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "peers" / "summarize_bench.py"


def paged(layout, L, us):
    return {"op": "paged", "path": "fast", "layout": layout, "M": 64, "L": L, "us": us}


def summarize(tmp_path, ours_us, peak=True):
    ours = {"device": "H200", "copy_gbs": 4000.0,
            "records": [paged("standard", 32768, ours_us[0]), paged("preshuffle16", 32768, ours_us[1]),
                        dict(paged("standard", 32768, 999.0), path="generic"),
                        {"op": "ragged", "path": "fast", "layout": "-", "M": 4096, "N": 8192, "us": 5000.0}]}
    peers = {"copy_gbs": 4100.0,
             "records": [{"op": "paged", "kernel": "deepgemm", "M": 64, "L": 32768, "us": 100.0},
                         {"op": "ragged", "kernel": "deepgemm", "M": 4096, "N": 8192, "us": 500.0}],
             "errors": [{"op": "paged", "kernel": "aiter", "L": 8192, "M": 64, "error": "no triton"}]}
    files = []
    for name, obj in (("ours", ours), ("peers", peers)) + ((("peak", {
            "device": "H200", "sms": 132, "clock_mhz": 1980,
            "rates": [{"instruction": "mma.sync m16n8k32", "tops": 1000.0, "mac_per_clk_sm": 2000.0}]}),) if peak else ()):
        p = tmp_path / (name + ".json")
        p.write_text(json.dumps(obj))
        files.append(str(p))
    r = subprocess.run([sys.executable, str(SCRIPT)] + files, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def row(text, kernel, shape):
    return next(line for line in text.splitlines() if ("| %s | %s |" % (shape, kernel)) in line)


def test_percent_of_copy_and_ratio_to_deepgemm(tmp_path):
    t = summarize(tmp_path, (400.0, 500.0))
    # bytes at B 64, L 32768: 64 * 32768 * (128 + 4 + 4) + 64 * 64 * (128 + 4) = 285,753,344
    pct = 100.0 * 285753344 / 400e-6 / 1e9 / 4000.0
    assert "| %.1f%% | 4.00x |" % pct in row(t, "ours (standard)", "B64 L32768")
    assert "| 500.0 | %.1f%% | 5.00x |" % (pct * 0.8) in row(t, "ours (preshuffle16)", "B64 L32768")
    assert "| - | 10.00x |" in row(t, "ours", "M4096 N8192")  # ragged: no % of copy
    # a peer's % of copy is against the bandwidth its own call measured; no ratio to itself
    assert row(t, "deepgemm", "B64 L32768").endswith("| 100.0 | %.1f%% | - |" % (100.0 * 285753344 / 100e-6 / 1e9 / 4100))
    assert "999.0" not in t  # the generic path is not a fast-kernel figure
    assert "ERROR | no triton" in t


def test_the_floor_is_judged_on_the_slower_layout(tmp_path):
    assert "500.0 us; floor 185 us NOT met, target 110 us NOT met" in summarize(tmp_path, (180.0, 500.0))
    assert "184.0 us; floor 185 us MET, target 110 us NOT met" in summarize(tmp_path, (100.0, 184.0))
    assert "floor 185 us MET, target 110 us MET" in summarize(tmp_path, (100.0, 110.0))


def test_tensor_core_times_from_the_measured_rate(tmp_path):
    t = summarize(tmp_path, (400.0, 500.0))
    # 9 limb products of B * L * H * D int8 multiply-adds (2 ops each) at 1000 TOPS
    t9 = 9 * 64 * 32768 * 64 * 128 * 2 / 1e15 * 1e6
    assert "| %.0f us | %.0f us |" % (t9, t9 * 6 / 9) in t
    used = 9 * 64 * 32768 * 64 * 128 * 2 / 400e-6 / 1e12
    assert "issues %.0f TOPS of int8 limb products: %.0f%%" % (used, used / 10) in t
    assert "TOPS" not in summarize(tmp_path, (400.0, 500.0), peak=False)
