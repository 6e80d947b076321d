#!/usr/bin/python3
"""The shared hostile corpus (issue 13: "the C++ and Python readers accept and refuse the same
files"): some 70 files built with h5py as an attacker would, each run through BOTH readers, the
C++ CLI (`golden inspect`, and `golden verify` with the file in its place) and the Python one
(mqa_golden.load). Each must be refused by both, exit 2 / GoldenError, with the same message
(the C++ reader's words are the Python reader's: golden/python/mqa_golden_checks.py), or where
the two differ by nature (what HDF5 itself says, bytes that are not UTF-8) with the field named.
A few valid files, k_source in each of its dtypes among them, are accepted by both.

Files whose point is to get past the integrity gate are stamped again with a valid header after
the edit, and an edited dataset gets its sha256 again: the header is no secret, so only the
checks behind it may refuse the file.

    /usr/bin/python3 tests/golden/test_hostile_corpus.py golden/data build/golden/mqa-golden
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "golden", "python"))
import mqa_golden as mg  # noqa: E402

DATA, CLI = None, None


def cli(*args):
    p = subprocess.run([CLI, "golden"] + list(args), capture_output=True)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def cli_error(text):
    """The message of the C++ reader's 'error: ...' line."""
    for line in text.splitlines():
        if line.startswith("error: "):
            return line[len("error: "):]
    return None


class Corpus:
    """Builds the files in a temporary directory: the stored smoke golden edited case by case."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.smoke = os.path.join(DATA, "smoke.h5")
        golden = mg.load(self.smoke)
        pick = lambda f: next(n for n, c in golden.items() if f(c.attrs))  # noqa: E731
        self.paged = pick(lambda a: a["op"] == "paged_logits" and not a["lens_2d"] and a["batch"] > 1)
        self.ragged = pick(lambda a: a["op"] == "ragged_logits")
        self.gather = pick(lambda a: a["op"] == "gather")
        self.golden = golden
        self.cand = self.path("good_cand.h5")
        c = golden[self.paged]
        mg.write_candidate(self.cand, {self.paged: {n: c[n] for n, m in c.meta.items() if m.get("compare")}})

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ---- surgery ----
    def golden_copy(self, name, edit=None, stamp=True):
        p = self.path(name)
        shutil.copy(self.smoke, p)
        if edit:
            with h5py.File(p, "r+") as f:
                edit(f)
        if stamp:
            mg._stamp(p)
        return p

    def attr(self, name, case, key, value):
        def edit(f):
            f["cases"][case].attrs[key] = value
        return self.golden_copy(name, edit)

    def values(self, name, case, dname, change):
        """The dataset's values changed by change(array) in place, its sha256 made to match."""
        def edit(f):
            ds = f["cases"][case][dname]
            a = ds[()]
            change(a)
            ds[...] = a
            ds.attrs["sha256"] = mg.sha256(a)
        return self.golden_copy(name, edit)

    def replace(self, name, case, dname, data=None, attrs=None, **create):
        """The dataset replaced by a new one (data, or shape/dtype/... for h5py), with the old
        dataset's attributes unless `attrs` says otherwise, and the sha256 of `data`."""
        def edit(f):
            g = f["cases"][case]
            old = dict(g[dname].attrs) if dname in g else {}
            if dname in g:
                del g[dname]
            ds = g.create_dataset(dname, data=data, **create)
            for k, v in dict(old, **(attrs or {})).items():
                ds.attrs[k] = v
            if data is not None:
                ds.attrs["sha256"] = mg.sha256(np.asarray(data))
        return self.golden_copy(name, edit)

    def candidate(self, name, build):
        p = self.path(name)
        with h5py.File(p, "w", userblock_size=mg.USER_BLOCK) as f:
            mg.set_root_attributes(f, "candidate")
            build(f.create_group("cases").create_group(self.paged), f)
        mg._stamp(p)
        return p

    def out(self, g, dname, data):
        g[dname] = data
        g[dname].attrs["role"] = "output"
        g[dname].attrs["sha256"] = mg.sha256(data)


def hostile_files(c):
    """(name, path, fragment, exact): `fragment` must be in both readers' messages; with exact
    the two messages are the same text."""
    P, R, G = c.paged, c.ragged, c.gather
    g = c.golden[P]
    logits, topk = g["logits"], g["topk"]
    files = []

    def add(name, path, fragment, exact=True):
        files.append((name, path, fragment, exact))

    # ---- the integrity gate ----
    def flip_magic(p):
        with open(p, "r+b") as f:
            f.write(b"N")  # 'M' of the magic line, one bit off
        return p

    def ulp_huge(f):
        f["cases"][P]["logits"].attrs["compare"] = "ulp:999999999"
    add("magic_flip_with_edit", flip_magic(c.golden_copy("magic_edit.h5", ulp_huge, stamp=False)), "no file header",
        exact=False)  # the advice differs: --unchecked / unchecked=True
    add("magic_flip", flip_magic(c.golden_copy("magic.h5")), "no file header", exact=False)

    def empty_sum(f):
        f["cases"][P]["q"].attrs["sha256"] = ""
    add("empty_sha256", c.golden_copy("empty_sum.h5", empty_sum), "dataset 'q': attribute sha256 missing or empty",
        exact=False)

    def no_sum(f):
        del f["cases"][P]["q"].attrs["sha256"]
    add("missing_sha256", c.golden_copy("no_sum.h5", no_sum), "dataset 'q': attribute 'sha256' missing")

    def flip_data(f):
        ds = f["cases"][P]["q"]
        q = ds[()]
        q.reshape(-1)[0] ^= 1
        ds[...] = q
    add("dataset_checksum_mismatch", c.golden_copy("flip.h5", flip_data), "dataset 'q': checksum mismatch")
    add("file_checksum_mismatch", c.golden_copy("flip_nostamp.h5", flip_data, stamp=False), "file checksum mismatch")
    trunc = c.golden_copy("trunc.h5")
    os.truncate(trunc, os.path.getsize(trunc) // 2)
    add("truncated", trunc, "(truncated or extended)")
    ext = c.golden_copy("extended.h5")
    with open(ext, "ab") as f:
        f.write(b"\0" * 100)
    add("extended", ext, "(truncated or extended)")
    dmg = c.golden_copy("damaged_header.h5")
    with open(dmg, "r+b") as f:
        f.seek(len(mg.MAGIC))
        f.write(b"garbage")
    add("damaged_header", dmg, "damaged file header (user block)")
    junk = c.path("not_hdf5.h5")
    with open(junk, "wb") as f:
        f.write(b"\0" * mg.USER_BLOCK + os.urandom(4096))
    mg._stamp(junk)
    add("not_hdf5_behind_a_valid_header", junk, "not an HDF5 file", exact=False)  # HDF5's own words differ

    # ---- reading outside the file ----
    with open("/etc/passwd", "rb") as f:
        passwd = f.read()
    n = min(len(passwd) // 4, logits.size)
    add("external_storage_etc_passwd", c.candidate("external.h5", lambda cg, f: cg.create_dataset(
        "logits", shape=(n,), dtype="<f4", external=[("/etc/passwd", 0, 4 * n)])),
        "is stored in the external file '/etc/passwd' (HDF5 external storage")

    def ext_case(cg, f):
        del f["cases"][P]
        f["cases"][P] = h5py.ExternalLink(c.cand, "/cases/" + P)
    add("external_link_case", c.candidate("elink_case.h5", ext_case), "is an external link to %r" % c.cand)
    add("external_link_dataset", c.candidate("elink_ds.h5", lambda cg, f: cg.__setitem__(
        "logits", h5py.ExternalLink(c.cand, "/cases/%s/logits" % P))), "link 'logits' in /cases/%s is an external link" % P)

    def soft(cg, f):
        f.create_group("elsewhere")["logits"] = logits
        cg["logits"] = h5py.SoftLink("/elsewhere/logits")
    add("soft_link", c.candidate("soft.h5", soft), "is a soft link to '/elsewhere/logits'")
    add("external_link_in_root", c.candidate("elink_root.h5", lambda cg, f: (
        c.out(cg, "logits", logits), f.__setitem__("more", h5py.ExternalLink(c.cand, "/")))),
        "link 'more' in / is an external link")

    def vds(cg, f):
        layout = h5py.VirtualLayout(shape=logits.shape, dtype=logits.dtype)
        layout[...] = h5py.VirtualSource(c.cand, "/cases/%s/logits" % P, shape=logits.shape)
        cg.create_virtual_dataset("logits", layout)
    add("virtual_dataset", c.candidate("vds.h5", vds), "is a virtual dataset")
    add("lzf_filter", c.candidate("lzf.h5", lambda cg, f: cg.create_dataset("logits", data=logits, compression="lzf")),
        "uses HDF5 filter 32000 ('lzf')")

    # ---- declared sizes ----
    rows = logits.shape[0]
    add("huge_declared_logits", c.replace("huge.h5", P, "logits", shape=(rows, (1 << 30) // rows), dtype="<f4"),
        "dataset 'logits': declares shape [%d, %d] (%d elements), more than its case attributes" %
        (rows, (1 << 30) // rows, rows * ((1 << 30) // rows)))

    def forge(deflate):
        def edit(f):
            cg = f["cases"][P]
            cols = (1 << 30) // rows
            del cg["logits"]
            ds = cg.create_dataset("logits", shape=(rows, cols), dtype="<f4", chunks=(1, 1 << 16) if deflate else None,
                                   compression="gzip" if deflate else None)
            ds.attrs.update({"role": "output", "sha256": "0" * 64, "compare": "bitwise"})
            cg.attrs["logits_row_stride"] = np.int64(cols)
        return edit
    add("huge_declared_forged_attributes", c.golden_copy("forged.h5", forge(False)), "but stores 0 bytes:")
    add("huge_declared_forged_deflated", c.golden_copy("forged_gz.h5", forge(True)),
        "but stores 0 bytes deflated (at most 1032x that)")
    add("shape_overflows_int64", c.replace("overflow.h5", G, "k_source", shape=(1 << 32, 1 << 32), dtype="<u2",
                                           chunks=(1, 1024), compression="gzip"),
        "declares shape [4294967296, 4294967296]: its byte count overflows int64")
    add("rank_9", c.replace("rank9.h5", G, "page_ids", data=np.zeros((1,) * 9, np.int64)), "declares rank 9 (at most 8)")

    # ---- attributes that size or index something ----
    for key, value, why in (
            ("heads", -1, "must be >= 1"), ("heads", 0, "must be >= 1"), ("heads", 1 << 40, "out of int32 range"),
            ("head_dim", -32, "must be >= 1"), ("quant_block", 0, "must be >= 1 and divide head_dim"),
            ("quant_block", 48, "must be >= 1 and divide head_dim"), ("page_size", -1, "must be >= 1"),
            ("page_stride", 8, "smaller than one page"), ("page_stride", 1 << 62, "must be in [1, 2^32] bytes"),
            ("num_pages", -1, "must be in [0, 2^31 - 1]"), ("num_pages", 1 << 40, "must be in [0, 2^31 - 1]"),
            ("next_n", 0, "must be >= 1"), ("batch", -1, "must be >= 1"), ("batch", 0, "must be >= 1"),
            ("rows", 100000, "expected batch * next_n"), ("logits_cols", -1, "must be in [0, 2^31 - 1]"),
            ("logits_row_stride", 1, "must be in [logits_cols = "), ("topk", 0, "must be >= 1"),
            ("topk", -1, "must be >= 1"), ("cache_fill", 256, "must be a byte"), ("lens_2d", 7, "expected 0 or 1"),
            ("logits_sentinel", -1, "must be a float's bits")):
        add("attr_%s=%d" % (key, value), c.attr("attr_%s_%d.h5" % (key, value), P, key, np.int64(value)),
            "case '%s': attribute %s = %d: %s" % (P, key, value, why))
    add("attr_ragged_next_n=2", c.attr("ragged_next_n.h5", R, "next_n", np.int64(2)),
        "attribute next_n = 2: must be 1 (only paged_logits has next_n > 1)")
    add("attr_gather_heads=8", c.attr("gather_heads.h5", G, "heads", np.int64(8)),
        "attribute heads = 8: must be 0 (a gather case has none)")
    add("attr_gather_topk=4", c.attr("gather_topk.h5", G, "topk", np.int64(4)), "attribute topk = 4: must be 0")
    add("attr_heads_is_a_string", c.attr("heads_str.h5", P, "heads", "64"), "attribute 'heads' is not an integer")
    add("attr_heads_is_a_float", c.attr("heads_float.h5", P, "heads", 8.0), "attribute 'heads' is not an integer")

    def no_heads(f):
        del f["cases"][P].attrs["heads"]
    add("attr_heads_missing", c.golden_copy("no_heads.h5", no_heads), "case '%s': attribute 'heads' missing" % P)
    add("attr_op_unknown", c.attr("op.h5", P, "op", "paged_lol"), "attribute op = 'paged_lol': expected quant_cache")
    add("attr_op_not_utf8", c.attr("op_utf8.h5", P, "op", np.array(b"paged\xff", dtype=h5py.string_dtype("utf-8"))),
        "attribute op = 'paged", exact=False)  # the bytes as they are (C++) or replaced (Python)
    add("root_schema_version_2", c.golden_copy("v2.h5", lambda f: f.attrs.__setitem__("schema_version", np.int64(2))),
        "schema_version 2 is not supported")
    add("root_kind_weird", c.golden_copy("kind.h5", lambda f: f.attrs.__setitem__("kind", "weird")),
        "attribute kind = 'weird', expected golden, candidate or input")

    # ---- integers that index other data ----
    for t in (0x7FFFFFF0, -1, -(1 << 30)):
        add("topk_index_%d" % t, c.values("topk_%d.h5" % (t & 0xFFFFFFFF), P, "topk",
                                         lambda a, t=t: a.reshape(-1).__setitem__(0, t)),
            "dataset 'topk': topk[0][0] = %d: must be a valid column of row 0" % t)
    padded = next(r for r in range(topk.shape[0]) if (topk[r] == -1).any())  # a row with fewer candidates than k
    add("topk_padding_not_minus_1", c.values("topk_pad.h5", P, "topk", lambda a: a.__setitem__(
        (padded, -1), 0x7FFFFFF0)), "dataset 'topk': topk[%d][%d] = 2147483632: must be -1 (row %d has only " %
        (padded, topk.shape[1] - 1, padded))
    for L in (-1, 0x7FFFFFF0, -(1 << 31)):
        add("context_lens_%d" % L, c.values("lens_%d.h5" % (L & 0xFFFFFFFF), P, "context_lens",
                                            lambda a, L=L: a.__setitem__(1, L)),
            "dataset 'context_lens': context_lens[1] = %d: %s" %
            (L, "negative length" if L < 0 else "past logits_cols = max_context_len"))
    add("block_table_entry_huge", c.values("table.h5", P, "block_table", lambda a: a.__setitem__((0, 0), 0x7FFFFFF0)),
        "dataset 'block_table': block_table[0][0] = 2147483632: needed by the ")
    add("block_table_entry_negative", c.values("table_neg.h5", P, "block_table", lambda a: a.__setitem__((1, 0), -1)),
        "dataset 'block_table': block_table[1][0] = -1: needed by the ")
    add("page_ids_negative", c.values("ids.h5", G, "page_ids", lambda a: a.__setitem__(0, -2)),
        "dataset 'page_ids': page_ids[0] = -2: outside [0, num_pages = ")
    add("page_ids_twice", c.values("ids2.h5", G, "page_ids", lambda a: a.__setitem__(1, a[0])),
        "dataset 'page_ids': page ")
    add("slot_mapping_huge", c.values("slots.h5", G, "slot_mapping", lambda a: a.__setitem__(0, 1 << 40)),
        "dataset 'slot_mapping': slot_mapping[0] = 1099511627776: past the pool's")
    add("ks_negative", c.values("ks.h5", R, "ks", lambda a: a.__setitem__(0, -7)), "dataset 'ks': ks[0] = -7: negative")
    add("ke_huge", c.values("ke.h5", R, "ke", lambda a: a.__setitem__(0, 1 << 30)),
        "dataset 'ke': ke[0] = 1073741824: beyond N = logits_cols = ")
    add("logits_regions_unordered", c.values("regions.h5", P, "logits_regions", lambda a: a.__setitem__((0, 1), -3)),
        "dataset 'logits_regions': row 0 = (")

    # ---- dtypes, shapes, roles, names ----
    add("logits_float64", c.replace("f64.h5", P, "logits", data=logits.astype(np.float64)),
        "dataset 'logits': dtype float64, expected float32")
    add("topk_int16", c.replace("i16.h5", P, "topk", data=topk.astype(np.int16)), "dataset 'topk': dtype int16, expected int32")
    add("block_table_uint32", c.replace("u32.h5", P, "block_table", data=g["block_table"].astype(np.uint32)),
        "dataset 'block_table': dtype uint32, expected int32")
    add("block_table_int64", c.replace("i64.h5", P, "block_table", data=g["block_table"].astype(np.int64)),
        "dataset 'block_table': dtype int64, expected int32")
    if "k_source" in c.golden[G]:
        add("k_source_float64", c.replace("ks64.h5", G, "k_source", data=c.golden[G]["k_source"].astype(np.float64)),
            "dataset 'k_source': dtype float64, expected uint16")
    add("q_wrong_shape", c.replace("qshape.h5", P, "q", data=g["q"].reshape(-1)[:g["q"].size // 2].copy()),
        "dataset 'q': shape [")
    add("weights_role_output", c.replace("role.h5", P, "weights", data=g["weights"], attrs={"role": "output"}),
        "dataset 'weights': role output, expected input")
    add("role_unknown", c.replace("role2.h5", P, "weights", data=g["weights"], attrs={"role": "boss"}),
        "attribute role = 'boss': expected input, output or meta")
    add("unknown_dataset", c.replace("unknown.h5", P, "secrets", data=np.zeros(4, np.int32), attrs={"role": "input"}),
        "dataset 'secrets': not a schema v1 dataset name")

    # ---- logits by regions (SCHEMA.md): the storage attribute, the runs' length, declared sizes ----
    X = next(n for n, k in c.golden.items() if k.attrs.get("logits_storage") == "regions")
    x = c.golden[X]
    runs, xa = x["logits"], x.attrs
    add("regions_storage_unknown", c.attr("st_unknown.h5", X, "logits_storage", "sparse"),
        "attribute logits_storage = 'sparse': expected dense or regions")
    add("regions_storage_on_gather", c.attr("st_gather.h5", G, "logits_storage", "regions"),
        "attribute logits_storage = 'regions': only the logits ops have logits (a gather case has none)")
    add("regions_logits_one_short", c.replace("st_short.h5", X, "logits", data=runs[:-1].copy()),
        "dataset 'logits': holds %d floats; by regions (logits_storage) the rows' runs need "
        "sum(future_end - valid_begin) = %d (logits_regions)" % (runs.size - 1, runs.size))
    add("regions_logits_past_rows_x_cols", c.replace(
        "st_big.h5", X, "logits", data=np.zeros(xa["rows"] * xa["logits_cols"] + 1, np.float32)),
        "dataset 'logits': declares shape [%d]" % (xa["rows"] * xa["logits_cols"] + 1))
    add("regions_logits_dense_shape", c.replace("st_2d.h5", X, "logits", data=np.zeros((xa["rows"], 2), np.float32)),
        "dataset 'logits': shape [%d, 2], expected [*]" % xa["rows"])
    add("regions_cols_past_stride", c.attr("st_cols.h5", X, "logits_cols", np.int64(xa["logits_row_stride"] + 1)),
        "attribute logits_row_stride = %d: must be in [logits_cols = %d" %
        (xa["logits_row_stride"], xa["logits_row_stride"] + 1))
    add("regions_run_past_cols", c.values("st_run.h5", X, "logits_regions", lambda a: a.__setitem__(
        (0, 2), xa["logits_cols"] + 5)), "dataset 'logits_regions': row 0 = (")

    def drop(f):
        del f["cases"][P]["weights"]
    add("missing_weights", c.golden_copy("noweights.h5", drop), "dataset 'weights': missing")
    add("case_name_with_space", c.golden_copy("name.h5", lambda f: f["cases"].move(P, "a b")),
        "case 'a b': invalid case name")
    add("case_name_not_utf8", c.golden_copy("name8.h5", lambda f: f["cases"].move(P, b"a\xff")),
        "invalid case name", exact=False)
    add("candidate_unknown_dataset", c.candidate("cand_unknown.h5", lambda cg, f: c.out(cg, "answers", topk)),
        "dataset 'answers': not a schema v1 dataset name")
    return files


def file_kind(path):
    try:
        with h5py.File(path, "r") as f:
            return mg._str(f.attrs.get("kind"))
    except OSError:
        return None


class HostileCorpus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mqa_hostile_corpus_")
        cls.c = Corpus(cls.tmp)
        cls.files = hostile_files(cls.c)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_there_are_enough_files(self):
        self.assertGreaterEqual(len(self.files), 50)

    def test_both_readers_refuse_each_file_alike(self):
        for name, path, fragment, exact in self.files:
            with self.subTest(name):
                with self.assertRaises(mg.GoldenError, msg=name) as e:
                    mg.load(path, kind=None)
                py = str(e.exception)
                self.assertIn(fragment, py)
                rc, text = cli("inspect", path)
                self.assertEqual(rc, 2, text)
                cpp = cli_error(text)
                self.assertIsNotNone(cpp, text)
                self.assertIn(fragment, cpp)
                if exact:
                    self.assertEqual(py, cpp)
                candidate = file_kind(path) == "candidate"
                args = [self.c.smoke, path, "--subset"] if candidate else [path, self.c.cand, "--subset"]
                rc, text = cli("verify", *args)
                self.assertEqual(rc, 2, text)
                self.assertIn(fragment, text)

    def test_valid_files_are_accepted_by_both(self):
        valid = [os.path.join(DATA, s + ".h5") for s in ("smoke", "edge", "deployed")] + [self.c.cand]
        # k_source in each of its dtypes (float32 is 4 bytes an element, bf16 and fp16 2): sizes
        # are counted in the stored dtype
        base = next(c for c in self.c.golden.values() if c.attrs["op"] == "quant_cache").attrs["descriptor"]
        lines = self.c.path("ksrc.txt")
        with open(lines, "w") as f:
            for ksrc in ("bf16", "fp16", "fp32"):
                f.write(base + " ksrc=%s\n" % ksrc)
        ksrc = self.c.path("ksrc.h5")
        rc, text = cli("generate", "--cases", lines, "-o", ksrc, "--no-progress")
        self.assertEqual(rc, 0, text)
        valid.append(ksrc)
        dtypes = {c["k_source"].dtype.str for c in mg.load(ksrc).values()}
        self.assertEqual(dtypes, {"<u2", "<f4"})
        for path in valid:
            with self.subTest(os.path.basename(path)):
                kind = "candidate" if path == self.c.cand else "golden"
                cases = mg.load(path, kind=kind)
                rc, text = cli("inspect", path, "--no-map")
                self.assertEqual(rc, 0, text)
                self.assertEqual(text.count("\ncase "), len(cases), text)
        rc, text = cli("verify", self.c.smoke, self.c.cand, "--subset")
        self.assertEqual(rc, 0, text)


if __name__ == "__main__":
    DATA, CLI = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
