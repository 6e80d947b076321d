#!/usr/bin/python3
"""Tests of mqa_golden.py against the stored corpus and the C++ CLI (run by CTest).

    /usr/bin/python3 golden/python/test_mqa_golden.py golden/data build/golden/mqa-golden
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqa_golden as mg  # noqa: E402
import standin_kernel as sk  # noqa: E402

DATA, CLI = None, None


def cli(*args, env=None):
    p = subprocess.run([CLI, "golden"] + list(args), capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout + p.stderr


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


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
                    if a.get("logits_storage") == "regions":  # the rows' runs only (SCHEMA.md)
                        rg = c["logits_regions"]
                        self.assertEqual(c["logits"].shape, (int((rg[:, 2] - rg[:, 0]).sum()),), name)
                    else:
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


class HostileFiles(unittest.TestCase):
    """Files that would make a reader read outside them, or allocate what they do not hold, are
    refused by both readers before any data is read (issue 13). Built with h5py, as an attacker
    would, with a valid mqa header stamped over them (the header is no secret)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mqa_golden_hostile_")
        self.smoke = os.path.join(DATA, "smoke.h5")
        golden = mg.load(self.smoke)
        self.name, self.case = next((n, c) for n, c in golden.items() if "logits" in c)
        self.good = os.path.join(self.tmp, "good_cand.h5")
        mg.write_candidate(self.good, {self.name: checkable(self.case)})

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def candidate(self, fname, build):
        """A candidate by h5py: build(case_group, file) fills the case group of self.name."""
        p = os.path.join(self.tmp, fname)
        with h5py.File(p, "w", userblock_size=mg.USER_BLOCK) as f:
            mg.set_root_attributes(f, "candidate")
            build(f.create_group("cases").create_group(self.name), f)
        mg._stamp(p)
        return p

    def assert_refused(self, path, fragment, max_seconds=None):
        """mg.load, `golden inspect` and `golden verify` (text and --json) refuse the file with
        `fragment` in the message; returns every message, for what must not be in them."""
        t0 = time.monotonic()
        with self.assertRaises(mg.GoldenError) as e:
            mg.load(path, kind=None)
        if max_seconds:
            self.assertLess(time.monotonic() - t0, max_seconds)
        texts = [str(e.exception)]
        self.assertIn(fragment, texts[0])
        t0 = time.monotonic()
        rc, text = cli("inspect", path)
        if max_seconds:
            self.assertLess(time.monotonic() - t0, max_seconds)
        self.assertEqual(rc, 2, text)
        self.assertIn(fragment, text)
        texts.append(text)
        with h5py.File(path, "r") as f:
            kind = mg._attrs(f).get("kind")
        if kind == "candidate":
            for extra in ([], ["--json"]):
                rc, text = cli("verify", self.smoke, path, "--subset", *extra)
                self.assertEqual(rc, 2, text)
                self.assertIn(fragment, text)
                if extra:
                    self.assertIn('"verdict": "error"', text)
                texts.append(text)
        return texts

    def test_external_storage_is_refused_and_nothing_of_it_is_read(self):
        # The candidate's logits stored in /etc/passwd (the report printed 2,220 bytes
        # of it) and its topk in a "secret" file, with checksums that match those bytes: a reader
        # that honours external storage passes every check and reports what it read.
        logits, topk = self.case["logits"], self.case["topk"]
        with open("/etc/passwd", "rb") as f:
            passwd = f.read(logits.nbytes)
        self.assertEqual(len(passwd), logits.nbytes, "/etc/passwd is shorter than the logits")
        secret = os.path.join(self.tmp, "secret.txt")
        write_text(secret, ("SECRET-LINE\n" * (topk.nbytes // 12 + 1))[:topk.nbytes])
        outside = [("logits", logits, "/etc/passwd", passwd), ("topk", topk, secret, read_bytes(secret))]
        for only in (None, "topk"):
            def build(g, f):
                for name, like, where, data in outside:
                    if only and name != only:
                        g[name] = like
                        g[name].attrs["sha256"] = mg.sha256(like)
                        continue
                    ds = g.create_dataset(name, shape=like.shape, dtype=like.dtype, external=[(where, 0, like.nbytes)])
                    ds.attrs["role"] = "output"
                    ds.attrs["sha256"] = hashlib.sha256(data).hexdigest()
            with self.subTest(only=only):
                p = self.candidate("external.h5", build)
                where = secret if only else "/etc/passwd"
                for text in self.assert_refused(p, "is stored in the external file %r (HDF5 external storage" % where):
                    self.assertNotIn("SECRET-LINE", text)
                    self.assertNotIn(passwd[:16].decode(errors="replace"), text)
                    self.assertNotIn("mismatch", text)

    def test_links_that_leave_the_file_are_refused(self):
        def case_link(g, f):  # the whole case is another file's
            del f["cases"][self.name]
            f["cases"][self.name] = h5py.ExternalLink(self.good, "/cases/" + self.name)

        def dataset_link(g, f):
            g["logits"] = h5py.ExternalLink(self.good, "/cases/%s/logits" % self.name)

        def soft_link(g, f):  # a path inside the file, but a path can lead through an external link
            f.create_group("elsewhere")["logits"] = self.case["logits"]
            g["logits"] = h5py.SoftLink("/elsewhere/logits")

        def root_link(g, f):
            g["logits"] = self.case["logits"]
            f["more"] = h5py.ExternalLink(self.good, "/")
        for build, fragment in ((case_link, "is an external link to %r" % self.good),
                                (dataset_link, "dataset 'logits': link 'logits' in /cases/%s is an external link" % self.name),
                                (soft_link, "is a soft link to '/elsewhere/logits'"),
                                (root_link, "link 'more' in / is an external link")):
            with self.subTest(build.__name__):
                self.assert_refused(self.candidate(build.__name__ + ".h5", build), fragment)

    def test_virtual_dataset_is_refused(self):
        logits = self.case["logits"]

        def build(g, f):
            layout = h5py.VirtualLayout(shape=logits.shape, dtype=logits.dtype)
            layout[...] = h5py.VirtualSource(self.good, "/cases/%s/logits" % self.name, shape=logits.shape)
            ds = g.create_virtual_dataset("logits", layout)
            ds.attrs["role"] = "output"
            ds.attrs["sha256"] = mg.sha256(logits)
        self.assert_refused(self.candidate("vds.h5", build), "is a virtual dataset")

    def test_filter_outside_the_schema_is_refused(self):
        def build(g, f):  # lzf ships with h5py; the C++ reader has no such filter (and loads no plugin)
            ds = g.create_dataset("logits", data=self.case["logits"], compression="lzf")
            ds.attrs["role"] = "output"
            ds.attrs["sha256"] = mg.sha256(self.case["logits"])
        self.assert_refused(self.candidate("lzf.h5", build), "uses HDF5 filter 32000")

    def test_huge_declared_dataset_is_refused_at_once(self):
        # A golden whose logits declare 4 GiB in a file of a few hundred KB (issue 13: 56 s and
        # 4.1 GB to refuse). The C++ reader refuses it from the case attributes; with the
        # attributes forged to match, both refuse it because the file stores no such bytes.
        rows = self.case["logits"].shape[0]
        cols = (1 << 30) // rows
        for compressed in (False, True):
            for forge in (False, True):
                with self.subTest(compressed=compressed, forge=forge):
                    p = os.path.join(self.tmp, "huge.h5")
                    shutil.copy(self.smoke, p)
                    with h5py.File(p, "r+") as f:
                        g = f["cases"][self.name]
                        del g["logits"]
                        ds = g.create_dataset("logits", shape=(rows, cols), dtype="<f4",
                                              chunks=(1, 1 << 16) if compressed else None,
                                              compression="gzip" if compressed else None)
                        ds.attrs["role"] = "output"
                        ds.attrs["sha256"] = "0" * 64
                        ds.attrs["compare"] = "bitwise"
                        if forge:
                            g.attrs["logits_row_stride"] = np.int64(cols)
                    mg._stamp(p)
                    self.assertLess(os.path.getsize(p), 1 << 20)
                    self.assert_refused(p, "dataset 'logits': declares shape", max_seconds=1.0)
                    rc, text = cli("inspect", p)
                    self.assertIn("but stores 0 bytes" if forge else "more than its case attributes", text)

    def test_case_budget_is_mqa_case_bytes_limit(self):
        env = {"MQA_CASE_BYTES_LIMIT": "1000"}
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            with self.assertRaises(mg.GoldenError) as e:
                mg.load(self.smoke)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.assertIn("more than MQA_CASE_BYTES_LIMIT = 1000 bytes a case may hold", str(e.exception))
        rc, text = cli("inspect", self.smoke, env=env)
        self.assertEqual(rc, 2, text)
        self.assertIn("more than MQA_CASE_BYTES_LIMIT = 1000 bytes a case may hold", text)

    def test_reader_crash_is_contained(self):
        rc, text = cli("verify", self.smoke, self.good, "--subset", env={"MQA_TEST_READER_FAULT": "segv:good_cand"})
        self.assertEqual(rc, 2, text)
        self.assertIn("golden verify: reading %s crashed inside the HDF5 library (signal 11" % self.good, text)

    # ---- the Python reader runs contained too (mqa_golden_contain) ----
    def load_with(self, env, path=None):
        """mg.load(path) under `env`: its GoldenError's text, or None when it loads."""
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            mg.load(path or self.good, kind="candidate")
            return None
        except mg.GoldenError as e:
            return str(e)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def test_python_reader_crash_is_an_error_naming_the_file(self):
        # h5py dying inside HDF5 on a crafted file kills the child, not this interpreter.
        for fault, sig in (("segv", "signal 11"), ("abort", "signal 6")):
            with self.subTest(fault):
                text = self.load_with({"MQA_TEST_READER_FAULT": fault + ":good_cand"})
                self.assertIn("mqa_golden.load: reading %s crashed inside the HDF5 library (%s" % (self.good, sig), text)
                self.assertIn("the file is malformed", text)
        self.assertIsNone(self.load_with({"MQA_TEST_READER_FAULT": "segv:other_file"}))
        # in-process (MQA_READER_CONTAIN=0) the hook is not honoured: no child to crash
        self.assertIsNone(self.load_with({"MQA_TEST_READER_FAULT": "segv", "MQA_READER_CONTAIN": "0"}))

    def test_python_reader_loops_end_at_the_wall_clock_or_the_cpu_limit(self):
        for fault, env, want in (
                ("hang", {"MQA_READER_TIMEOUT": "1", "MQA_READER_CPU": "30"}, "took more than 1 s (MQA_READER_TIMEOUT)"),
                ("spin", {"MQA_READER_TIMEOUT": "30", "MQA_READER_CPU": "1"},
                 "used more than 1 s of CPU time (RLIMIT_CPU, MQA_READER_CPU)")):
            with self.subTest(fault):
                t0 = time.monotonic()
                text = self.load_with(dict(env, MQA_TEST_READER_FAULT=fault))
                self.assertLess(time.monotonic() - t0, 25.0)  # the 30 s limit was not what stopped it
                self.assertIn("mqa_golden.load: reading %s %s" % (self.good, want), text)

    def test_python_reader_allocation_storm_is_an_error(self):
        text = self.load_with({"MQA_TEST_READER_FAULT": "alloc", "MQA_READER_MEMORY": "256M"})
        self.assertIn("%s: out of memory while reading: a malformed file (the reader may add 268435456 bytes" % self.good,
                      text)

    def test_python_reader_results_and_errors_cross_the_process_boundary(self):
        # the cases come back whole (bits and attributes), and a GoldenError raised in the child
        # is raised here with its text; a bad limit is an error naming the variable
        inside, outside = mg.load(self.smoke), None
        saved = dict(os.environ)
        os.environ["MQA_READER_CONTAIN"] = "0"
        try:
            outside = mg.load(self.smoke)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.assertEqual(sorted(inside), sorted(outside))
        for name in inside:
            self.assertEqual(inside[name].attrs, outside[name].attrs)
            for d, a in outside[name].arrays.items():
                self.assertTrue(np.array_equal(inside[name][d].view(np.uint8), a.view(np.uint8)), (name, d))
        self.assertIn("more than MQA_CASE_BYTES_LIMIT = 1000", self.load_with({"MQA_CASE_BYTES_LIMIT": "1000"}))
        self.assertIn("mqa_golden.load: MQA_READER_TIMEOUT = 'soon'", self.load_with({"MQA_READER_TIMEOUT": "soon"}))

    # ---- safe writes ----
    def dead_pid(self):
        p = subprocess.Popen(["true"])
        p.wait()
        return p.pid

    def test_full_disk_keeps_the_old_golden(self):
        target = os.path.join(self.tmp, "out", "golden.h5")
        os.mkdir(os.path.dirname(target))
        shutil.copy(self.good, target)  # some other file is there: generate --force replaces it
        old = read_bytes(target)
        for n in ("0", "300", "512", "100000"):
            with self.subTest(fail_after=n):
                rc, text = cli("generate", "--suite", "smoke", "-o", target, "--force", "--no-progress",
                               env={"MQA_TEST_WRITE_FAIL_AFTER": n})
                self.assertEqual(rc, 2, text)  # exactly 2: no crash at exit either
                self.assertIn("No space left on device", text)
                self.assertIn("the old file (if any) is kept", text)
                self.assertNotIn("H5Dclose", text)
                self.assertEqual(read_bytes(target), old)
                self.assertEqual(os.listdir(os.path.dirname(target)), ["golden.h5"])
        stale = "%s.tmp.%d" % (target, self.dead_pid())
        write_text(stale, "left by a writer killed mid-write")
        rc, text = cli("generate", "--suite", "smoke", "-o", target, "--force", "--no-progress")
        self.assertEqual(rc, 0, text)
        self.assertEqual(os.listdir(os.path.dirname(target)), ["golden.h5"])
        self.assertEqual(sorted(mg.load(target)), sorted(mg.load(self.smoke)))

    def test_write_candidate_failures_keep_the_old_file(self):
        d = os.path.join(self.tmp, "w")
        os.mkdir(d)
        target = os.path.join(d, "cand.h5")
        mg.write_candidate(target, {"a": {"logits": np.zeros((4, 8), np.float32)}})
        old = read_bytes(target)
        other = {"b": {"logits": np.random.default_rng(1).random((64, 512), dtype=np.float32)}}  # ~128 KiB
        hooks = [{"MQA_TEST_WRITE_FAIL_AFTER": n} for n in ("0", "511", "513", "20000")] + \
                [{"MQA_TEST_WRITE_FAIL_AT": s} for s in ("hdf5", "fsync", "close", "rename")]
        for hook in hooks:
            with self.subTest(**hook):
                saved = dict(os.environ)
                os.environ.update(hook)
                try:
                    with self.assertRaises(mg.GoldenError) as e:
                        mg.write_candidate(target, other)
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
                self.assertIn("the old file (if any) is kept", str(e.exception))
                self.assertEqual(read_bytes(target), old)
                self.assertEqual(os.listdir(d), ["cand.h5"])
        stale, live = "%s.tmp.%d" % (target, self.dead_pid()), "%s.tmp.1" % target
        for p in (stale, live):
            write_text(p, "partial")
        mg.write_candidate(target, other)
        self.assertEqual(sorted(os.listdir(d)), ["cand.h5", "cand.h5.tmp.1"])
        self.assertEqual(sorted(mg.load(target, kind="candidate")), ["b"])


if __name__ == "__main__":
    DATA, CLI = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
