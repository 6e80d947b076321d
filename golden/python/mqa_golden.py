"""Read mqa-harness golden files (schema v1, see golden/SCHEMA.md) and write candidate files.

Needs numpy and h5py only. A case loads as numpy arrays in the exact byte layout the upstream
kernels take, so a torch user can hand them over with torch.from_numpy(...).view(...):

    import mqa_golden as mg
    case = mg.load("golden/data/smoke.h5")["smoke_000"]
    x = case.paged_inputs()            # q, kv_cache, weights, context_lens, block_table, ...
    # DeepGEMM: fp8_paged_mqa_logits(q.view(float8_e4m3fn), kv_cache, weights, context_lens,
    #                                block_table, schedule, max_context_len, clean_logits)
    mg.write_candidate("cand.h5", {case.name: {"logits": my_logits}})
    # then: mqa-harness golden verify golden/data/smoke.h5 cand.h5

On load, the whole file is checked against its header checksum (files written by mqa-harness and
by write_candidate carry one), then every array against its own SHA-256 (verify=False skips both).
"""

import hashlib
import os
import tempfile

import h5py
import numpy as np

SCHEMA = "mqa-golden"
SCHEMA_VERSION = 1

_DTYPES = {"uint8": "<u1", "uint16": "<u2", "int32": "<i4", "int64": "<i8", "float32": "<f4"}


class GoldenError(Exception):
    """A file that is not a valid schema-v1 golden/candidate file (message names file/case/dataset)."""


def sha256(array):
    """Hex SHA-256 of an array's bytes (little-endian, C order), as stored in the `sha256` attribute."""
    a = np.ascontiguousarray(array)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return hashlib.sha256(a.tobytes()).hexdigest()


def _str(v):
    return v.decode() if isinstance(v, bytes) else v


def _attrs(obj):
    out = {}
    for k, v in obj.attrs.items():
        v = _str(v)
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


# ---- fp8 / bf16 decoding (for inspection; kernels take the raw codes) ----
def _fp8_table(encoding):
    if encoding not in ("e4m3fn", "e4m3fnuz"):
        raise ValueError("encoding must be e4m3fn or e4m3fnuz, not %r" % (encoding,))
    bias = 7 if encoding == "e4m3fn" else 8
    codes = np.arange(256)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exp = (codes >> 3) & 0xF
    man = (codes & 7).astype(np.float64)
    mag = np.where(exp == 0, man * 2.0 ** (1 - bias - 3), (1 + man / 8) * 2.0 ** (exp - bias))
    val = sign * mag
    if encoding == "e4m3fn":
        val[(codes & 0x7F) == 0x7F] = np.nan
    else:
        val[0x80] = np.nan  # the only NaN; e4m3fnuz has no negative zero
    return val.astype(np.float32)


_FP8 = {e: _fp8_table(e) for e in ("e4m3fn", "e4m3fnuz")}


def decode_fp8(codes, encoding):
    """uint8 fp8 codes -> float32 values (exact)."""
    return _FP8[encoding][np.asarray(codes, dtype=np.uint8)]


def decode_bf16(bits):
    """uint16 bf16 bit patterns -> float32 values (exact)."""
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


class Case:
    """One case: .name, .attrs (case attributes), .arrays (name -> ndarray), .meta (name -> dataset attributes)."""

    def __init__(self, name, attrs, arrays, meta):
        self.name, self.attrs, self.arrays, self.meta = name, attrs, arrays, meta

    def __getitem__(self, key):
        return self.arrays[key]

    def __contains__(self, key):
        return key in self.arrays

    def __repr__(self):
        return "Case(%r, op=%s, %s)" % (self.name, self.attrs.get("op"), self.attrs.get("descriptor"))

    # ---- the pool as kernels see it ----
    def pool(self, max_dense_bytes=1 << 28):
        """The whole pool [num_pages, page_stride] uint8 at its real size: stored pages at their
        physical ids. Up to max_dense_bytes it is an array in memory and every other byte is
        cache_fill; a larger pool (sparse cases: page ids past 65,536, offsets past 2^32 bytes) is
        a numpy memmap of an unlinked sparse temporary file, where only the stored pages are
        written and the rest reads as 0 (as the harness's own sparse pools do), so it costs the
        stored pages' memory, not the pool's. A kernel never reads a page that is not stored."""
        a = self.attrs
        shape = (a["num_pages"], a["page_stride"])
        if a["num_pages"] * a["page_stride"] <= max_dense_bytes:
            pool = np.full(shape, a["cache_fill"], dtype=np.uint8)
        else:
            f = tempfile.TemporaryFile(prefix="mqa_pool_")  # unlinked: gone with the mapping
            f.truncate(shape[0] * shape[1])
            pool = np.memmap(f, dtype=np.uint8, mode="r+", shape=shape)
            f.close()  # the mapping keeps the file
        pool[self["page_ids"]] = self["cache"]
        return pool

    def natural_page_bytes(self):
        a = self.attrs
        return a["page_size"] * (a["head_dim"] + 4 * a["head_dim"] // a["quant_block"])

    def kv_cache(self, shape="aiter"):
        """The pool in an upstream kernel's view (needs the natural page stride):
        'aiter' -> [num_pages, B*(D+4)] bytes; 'deepgemm' -> [num_pages, B, 1, D+4] bytes.
        The bytes are the file's: with layout preshuffle16 the values are shuffled (aiter
        preshuffle=True), and a token's vector is never at t*(D+4) in either layout."""
        a = self.attrs
        if a["page_stride"] != self.natural_page_bytes():
            raise GoldenError("%s: page_stride %d is padded (natural %d); use pool()" %
                              (self.name, a["page_stride"], self.natural_page_bytes()))
        p = self.pool()
        if shape == "aiter":
            return p
        per_token = a["head_dim"] + 4 * a["head_dim"] // a["quant_block"]
        return p.reshape(a["num_pages"], a["page_size"], 1, per_token)

    def compact(self):
        """(stored pages [P, page_stride], block table renumbered to indices of them; entries
        that point at no stored page become -1 and are never needed by the case)."""
        ids = self["page_ids"]
        table = self["block_table"]
        order = np.argsort(ids)
        pos = np.searchsorted(ids[order], table)
        pos = np.clip(pos, 0, len(ids) - 1) if len(ids) else np.zeros_like(table)
        hit = (ids[order][pos] == table) if len(ids) else np.zeros(table.shape, bool)
        return self["cache"], np.where(hit, order[pos], -1).astype(np.int32)

    def paged_inputs(self, compact=False, max_dense_bytes=1 << 28):
        """Arguments of fp8_paged_mqa_logits (DeepGEMM / aiter), as numpy arrays, with the REAL
        pool: kv_cache is pool() (page ids and byte offsets as the case has them; a pool past
        max_dense_bytes is a sparse memmap, "sparse": True) and block_table the case's own.
        compact=True asks explicitly for the compact view instead: only the stored pages, the
        table renumbered to them ("compact": True); the logits are the same, but a kernel then
        never sees a large page id or offset, so it cannot be checked for them."""
        a = self.attrs
        if compact:
            kv, table = self.compact()
        else:
            kv, table = self.pool(max_dense_bytes), self["block_table"]
        return {
            "q": self["q"],                      # [batch, next_n, H, D] uint8 fp8 codes
            "kv_cache": kv,                      # [num_pages, page_stride] uint8
            "compact": bool(compact),            # True only when asked for
            "sparse": isinstance(kv, np.memmap),  # the real pool, mapped sparsely
            "weights": self["weights"],          # [batch*next_n, H] float32
            "context_lens": self["context_lens"],  # int32 [batch] or [batch, next_n]
            "block_table": table,                # int32 [batch, W]
            "max_context_len": a["logits_cols"],
            "logits_row_stride": a["logits_row_stride"],
            "clean_logits": bool(a["clean_logits"]),
            "encoding": a["encoding"],
        }

    def ragged_inputs(self):
        """Arguments of fp8_mqa_logits (prefill): q [M,H,D], k [N,D] codes, kscale [N] float32,
        weights [M,H], ks, ke [M] int32."""
        return {
            "q": self["q"],
            "k": self["gathered_values"],
            "kscale": np.ascontiguousarray(self["gathered_scales"]).view("<f4")[:, 0].copy(),
            "weights": self["weights"],
            "ks": self["ks"],
            "ke": self["ke"],
            "logits_row_stride": self.attrs["logits_row_stride"],
            "clean_logits": bool(self.attrs["clean_logits"]),
            "encoding": self.attrs["encoding"],
        }


USER_BLOCK = 512
MAGIC = b"MQA-GOLDEN-FILE 1\n"


def _hash_after_user_block(path):
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        f.seek(USER_BLOCK)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def check_file_checksum(path):
    """Checks the 512-byte header (HDF5 user block) of files written by mqa-harness or by
    write_candidate: "MQA-GOLDEN-FILE 1", sha256 and byte count of everything after it.
    Files without the header (other writers) pass unchecked; HDF5 parses them directly."""
    with open(path, "rb") as f:
        head = f.read(USER_BLOCK)
    if not head.startswith(MAGIC):
        return False
    try:
        fields = dict(line.split(" ", 1) for line in head[len(MAGIC):].split(b"\0", 1)[0].decode().splitlines())
        want_hex, want_n = fields["sha256"], int(fields["bytes"])
    except (ValueError, KeyError, UnicodeDecodeError):
        raise GoldenError("%s: damaged file header (user block)" % path) from None
    have_hex, have_n = _hash_after_user_block(path)
    if have_n != want_n:
        raise GoldenError("%s: file checksum mismatch: %d bytes after the header, it says %d (truncated or extended)"
                          % (path, have_n, want_n))
    if have_hex != want_hex:
        raise GoldenError("%s: file checksum mismatch: the file is corrupt" % path)
    return True


def _stamp(path):
    hexd, n = _hash_after_user_block(path)
    head = MAGIC + ("sha256 %s\nbytes %d\n" % (hexd, n)).encode()
    with open(path, "r+b") as f:
        f.write(head.ljust(USER_BLOCK, b"\0"))


def _check_root(path, f, kind):
    a = _attrs(f)
    if a.get("schema") != SCHEMA:
        raise GoldenError("%s: attribute schema = %r, expected %r" % (path, a.get("schema"), SCHEMA))
    if a.get("schema_version") != SCHEMA_VERSION:
        raise GoldenError("%s: schema_version %r is not supported (this reader knows %d)" %
                          (path, a.get("schema_version"), SCHEMA_VERSION))
    if kind is not None and a.get("kind") != kind:
        raise GoldenError("%s: kind = %r, expected %r" % (path, a.get("kind"), kind))
    if "cases" not in f:
        raise GoldenError("%s: group /cases missing" % path)
    return a


def load(path, verify=True, kind="golden", unchecked=False):
    """All cases of a file as {name: Case}, in file order. Raises GoldenError on a bad file.
    kind: "golden", "candidate", "input" (what `mqa-harness fuzz --kernel exec:...` hands a
    program: the inputs of a case, no expected output), or None for any.
    The integrity gate, as in the C++ reader: with verify, a file without the header or a dataset
    without its sha256 is refused; unchecked=True (the CLI's --unchecked) lets them through and
    still verifies the checksums that are there."""
    if verify:
        try:
            has_header = check_file_checksum(path)
        except OSError as e:
            raise GoldenError("%s: cannot read (%s)" % (path, e)) from None
        if not has_header and not unchecked:
            raise GoldenError("%s: no file header ('MQA-GOLDEN-FILE 1' and the file's sha256 in the first 512 bytes): "
                              "refused, as a damaged or foreign file; unchecked=True reads it anyway" % path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise GoldenError("%s: cannot open as HDF5 (%s)" % (path, e)) from None
    with f:
        _check_root(path, f, kind)
        cases = {}
        for name, g in f["cases"].items():
            arrays, meta = {}, {}
            for dname, ds in g.items():
                want = None
                arr = ds[()]
                if arr.dtype.str.lstrip("<>|=") not in [d.lstrip("<>|=") for d in _DTYPES.values()]:
                    raise GoldenError("%s: case %r: dataset %r: unsupported dtype %s" % (path, name, dname, arr.dtype))
                m = _attrs(ds)
                want = m.get("sha256")
                if verify and not want and not unchecked:  # an empty checksum must not turn the check off
                    raise GoldenError("%s: case %r: dataset %r: attribute sha256 missing or empty" % (path, name, dname))
                if verify and want and sha256(arr) != want:
                    raise GoldenError("%s: case %r: dataset %r: checksum mismatch" % (path, name, dname))
                arrays[dname], meta[dname] = arr, m
            cases[name] = Case(name, _attrs(g), arrays, meta)
        return cases


def write_candidate(path, outputs, generator="mqa_golden.py"):
    """Writes a candidate file: outputs = {case_name: {dataset_name: ndarray}} with the golden
    dataset names/dtypes/shapes (e.g. "logits" float32 [rows, logits_row_stride], "topk" int32,
    "cache" uint8 [P, page_stride]). Each dataset gets its sha256."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with h5py.File(tmp, "w", userblock_size=USER_BLOCK) as f:
        f.attrs["schema"] = SCHEMA
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        f.attrs["kind"] = "candidate"
        f.attrs["generator"] = generator
        f.attrs["checksum_algorithm"] = "sha256"
        cases = f.create_group("cases")
        for cname, datasets in outputs.items():
            g = cases.create_group(cname)
            for dname, arr in datasets.items():
                arr = np.ascontiguousarray(arr)
                if arr.dtype.str.lstrip("<>|=") not in [d.lstrip("<>|=") for d in _DTYPES.values()]:
                    raise GoldenError("%s: case %r: dataset %r: dtype %s is not in the schema" %
                                      (path, cname, dname, arr.dtype))
                arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
                big = arr.nbytes > 64 * 1024
                ds = g.create_dataset(dname, data=arr, compression="gzip" if big else None,
                                      shuffle=big and arr.itemsize > 1)
                ds.attrs["role"] = "output"
                ds.attrs["sha256"] = sha256(arr)
    _stamp(tmp)
    os.replace(tmp, path)  # atomic, like the C++ writer
