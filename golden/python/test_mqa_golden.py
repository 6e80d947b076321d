#!/usr/bin/python3
"""Tests of mqa_golden.py against the stored corpus and the C++ CLI (run by CTest).

    /usr/bin/python3 golden/python/test_mqa_golden.py golden/data build/golden/mqa-golden
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqa_golden as mg  # noqa: E402
import standin_kernel as sk  # noqa: E402

DATA, CLI = None, None


def cli(*args):
    p = subprocess.run([CLI, "golden"] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def checkable(case):
    return {n: case[n] for n, m in case.meta.items() if m.get("compare")}


class Fp8(unittest.TestCase):
    def test_e4m3fn(self):
        v = mg.decode_fp8(np.arange(256), "e4m3fn")
        self.assertEqual(v[0x7E], 448.0)
        self.assertEqual(v[0x01], 2.0 ** -9)
        self.assertEqual(v[0x08], 2.0 ** -6)
        self.assertEqual(v[0x38], 1.0)
        self.assertTrue(math.isnan(v[0x7F]) and math.isnan(v[0xFF]))
        self.assertTrue(v[0x80] == 0 and math.copysign(1, v[0x80]) < 0)
        self.assertTrue(np.all(np.diff(v[:0x7F]) > 0))
        self.assertTrue(np.array_equal(v[0x80:0xFF], -v[:0x7F]))

    def test_e4m3fnuz(self):
        v = mg.decode_fp8(np.arange(256), "e4m3fnuz")
        self.assertEqual(v[0x7F], 240.0)
        self.assertEqual(v[0x01], 2.0 ** -10)
        self.assertEqual(v[0x40], 1.0)
        self.assertTrue(math.isnan(v[0x80]))
        self.assertEqual(int(np.isnan(v).sum()), 1)
        self.assertTrue(np.all(np.diff(v[:0x80]) > 0))

    def test_bf16(self):
        self.assertEqual(mg.decode_bf16(np.array([0x3F80], np.uint16))[0], 1.0)
        self.assertEqual(mg.decode_bf16(np.array([0xC040], np.uint16))[0], -3.0)


class Corpus(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mqa_golden_py_")
        self.smoke = os.path.join(DATA, "smoke.h5")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_every_file_loads_and_shapes_follow_the_attributes(self):
        for f in ("smoke", "edge", "deployed"):
            for name, c in mg.load(os.path.join(DATA, f + ".h5")).items():
                a = c.attrs
                self.assertEqual(c["cache"].shape[1], a["page_stride"], name)
                self.assertEqual(c["cache"].shape[0], c["page_ids"].shape[0], name)
                if a["op"] in ("paged_logits", "ragged_logits"):
                    self.assertEqual(c["logits"].shape, (a["rows"], a["logits_row_stride"]), name)
                    self.assertEqual(c["topk"].shape, (a["rows"], a["topk"]), name)
                if a["op"] == "paged_logits" and a["page_stride"] == c.natural_page_bytes() \
                        and a["num_pages"] * a["page_stride"] < 1 << 26:
                    D = a["head_dim"]
                    self.assertEqual(c.kv_cache("deepgemm").shape,
                                     (a["num_pages"], a["page_size"], 1, D + 4 * D // a["quant_block"]))

    def test_layout_formula_matches_the_stored_gather(self):
        # An independent reading of the pool (the stand-in's layout formula, from the spec)
        # must reproduce the stored gathered values of every sequence, in both layouts.
        seen = 0
        for f in ("smoke", "edge", "deployed"):
            for name, c in mg.load(os.path.join(DATA, f + ".h5")).items():
                a = c.attrs
                if a["op"] != "gather":
                    continue
                cache, table = c.compact()
                B, D, stride = a["page_size"], a["head_dim"], a["page_stride"]
                rows = []
                for b, L in enumerate(c["context_lens"]):
                    s = np.arange(L)
                    page = table[b, s // B].astype(np.int64)
                    off = page[:, None] * stride + sk._value_offsets(a["layout"], B, D, (s % B)[:, None],
                                                                      np.arange(D)[None, :])
                    rows.append(cache.reshape(-1)[off])
                got = np.concatenate(rows) if rows else np.zeros((0, D), np.uint8)
                self.assertTrue(np.array_equal(got, c["gathered_values"]), name)
                seen += 1
        self.assertGreaterEqual(seen, 4)

    def test_paged_inputs_give_the_real_pool_of_a_sparse_case(self):
        # A pool past 2^32 bytes is given at its real size (a sparse memmap), with the case's own
        # page ids, never renumbered unless asked: a kernel that truncates page offsets to 32 bits
        # must see the offsets that break it. compact=True says so in its result.
        seen = 0
        for name, c in mg.load(os.path.join(DATA, "edge.h5")).items():
            a = c.attrs
            if a["op"] != "paged_logits" or a["num_pages"] * a["page_stride"] < 1 << 32:
                continue
            x = c.paged_inputs()
            self.assertFalse(x["compact"], name)
            self.assertTrue(x["sparse"], name)
            self.assertEqual(x["kv_cache"].shape, (a["num_pages"], a["page_stride"]), name)
            self.assertTrue(np.array_equal(x["block_table"], c["block_table"]), name)
            used = c["page_ids"]
            self.assertGreater(int(used.max()) * a["page_stride"], 1 << 32, name)
            self.assertTrue(np.array_equal(x["kv_cache"][used], c["cache"]), name)
            fill = np.uint32(a["logits_sentinel"]).view(np.float32)
            args = (a["layout"], a["page_size"], a["head_dim"], x["encoding"], x["clean_logits"], fill)
            got = sk.paged_mqa_logits(x["q"], x["kv_cache"], x["weights"], x["context_lens"], x["block_table"],
                                      x["max_context_len"], x["logits_row_stride"], *args)
            self.assertTrue(np.array_equal(got.view(np.uint32), c["logits"].view(np.uint32)), name)
            y = c.paged_inputs(compact=True)
            self.assertTrue(y["compact"], name)
            self.assertFalse(y["sparse"], name)
            self.assertEqual(y["kv_cache"].shape[0], len(used), name)
            seen += 1
        self.assertGreaterEqual(seen, 1)

    def assert_both_refuse(self, path, fragment, unchecked=False):
        """The Python reader and the C++ one (`golden inspect`) refuse the file alike."""
        with self.assertRaises(mg.GoldenError) as e:
            mg.load(path, unchecked=unchecked)
        self.assertIn(fragment, str(e.exception))
        rc, text = cli("inspect", path, *(["--unchecked"] if unchecked else []))
        self.assertEqual(rc, 2, text)
        self.assertIn(fragment, text)

    def test_checksum_mismatch_is_caught_by_both_readers(self):
        bad = os.path.join(self.tmp, "tampered.h5")
        shutil.copy(self.smoke, bad)
        with h5py.File(bad, "r+") as f:
            ds = f["cases/smoke_001/q"]
            q = ds[()]
            q.reshape(-1)[0] ^= 1
            ds[...] = q
        self.assert_both_refuse(bad, "file checksum mismatch")
        # Without the file header (a flipped magic, or another writer) both readers refuse the
        # file; asked to read it unchecked, the dataset checksum still catches the edit.
        with open(bad, "r+b") as f:
            f.write(b"\0" * 32)
        self.assert_both_refuse(bad, "no file header")
        self.assert_both_refuse(bad, "dataset 'q'", unchecked=True)
        with self.assertRaises(mg.GoldenError) as e:
            mg.load(bad, unchecked=True)
        self.assertIn("dataset 'q': checksum mismatch", str(e.exception))

    def test_empty_checksum_is_refused_by_both_readers(self):
        # An empty sha256 attribute used to turn that dataset's check off in the C++ reader.
        bad = os.path.join(self.tmp, "empty_sum.h5")
        shutil.copy(self.smoke, bad)
        with h5py.File(bad, "r+") as f:
            f["cases/smoke_001/q"].attrs["sha256"] = ""
        mg._stamp(bad)  # a valid header over the edit: the header is no secret
        self.assert_both_refuse(bad, "sha256 missing or empty")
        self.assertIn("q", mg.load(bad, unchecked=True)["smoke_001"].arrays)
        rc, text = cli("inspect", bad, "--unchecked")
        self.assertEqual(rc, 0, text)

    def test_truncated(self):
        bad = os.path.join(self.tmp, "trunc.h5")
        shutil.copy(self.smoke, bad)
        os.truncate(bad, os.path.getsize(bad) // 2)
        with self.assertRaises(mg.GoldenError) as e:
            mg.load(bad)
        self.assertIn("truncated", str(e.exception))
        rc, text = cli("verify", bad, bad)
        self.assertEqual(rc, 2, text)
        self.assertIn("truncated", text)

    def test_candidate_round_trip_and_verify_exit_codes(self):
        golden = mg.load(self.smoke)
        full = {name: checkable(c) for name, c in golden.items()}
        good = os.path.join(self.tmp, "good.h5")
        mg.write_candidate(good, full)
        back = mg.load(good, kind="candidate")
        self.assertEqual(sorted(back), sorted(full))
        rc, text = cli("verify", self.smoke, good)
        self.assertEqual(rc, 0, text)
        # a missing case -> 2; a one-bit change -> 1; a wrong schema version -> 2
        missing = dict(full)
        missing.pop("smoke_002")
        mg.write_candidate(os.path.join(self.tmp, "missing.h5"), missing)
        rc, text = cli("verify", self.smoke, os.path.join(self.tmp, "missing.h5"))
        self.assertEqual(rc, 2, text)
        self.assertIn("smoke_002", text)
        changed = {n: dict(d) for n, d in full.items()}
        g = changed["smoke_004"]["gathered_values"].copy()
        g.reshape(-1)[5] ^= 0x10
        changed["smoke_004"]["gathered_values"] = g
        mg.write_candidate(os.path.join(self.tmp, "changed.h5"), changed)
        rc, text = cli("verify", self.smoke, os.path.join(self.tmp, "changed.h5"))
        self.assertEqual(rc, 1, text)
        self.assertIn("smoke_004/gathered_values", text)
        self.assertTrue(mg.check_file_checksum(good))
        with h5py.File(good, "r+") as f:
            f.attrs["schema_version"] = np.int64(2)
        mg._stamp(good)  # a consistent file that declares another schema version
        rc, text = cli("verify", self.smoke, good)
        self.assertEqual(rc, 2, text)
        self.assertIn("schema_version 2", text)

    def test_not_hdf5(self):
        p = os.path.join(self.tmp, "x.h5")
        with open(p, "w") as f:
            f.write("not hdf5")
        with self.assertRaises(mg.GoldenError):
            mg.load(p)


if __name__ == "__main__":
    DATA, CLI = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
