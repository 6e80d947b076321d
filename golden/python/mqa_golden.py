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
Every check of the C++ reader is made, in its order and with its words (mqa_golden_checks.py):
before any data is read, a file is refused when it would read outside itself (external or soft
links, external storage, virtual datasets, filters other than deflate/shuffle/fletcher32), when
an attribute that sizes or indexes something is out of range, or when a dataset declares more
than its case attributes give, more bytes than the file holds (deflate: 1032x) or than
MQA_CASE_BYTES_LIMIT (default 8 GiB) allows per case; after, when a dtype, role, shape or
encoding is not the schema's or an index points where it may not. The file is parsed in a
contained child process (mqa_golden_contain.py; MQA_READER_CONTAIN=0 reads in-process), so an
HDF5 crash on a crafted file is a GoldenError naming the file.
write_candidate writes atomically and durably (temporary file, fsync, rename, directory fsync).
"""

import errno
import hashlib
import os
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqa_golden_checks as checks  # noqa: E402
import mqa_golden_contain as contain  # noqa: E402
from mqa_golden_checks import GoldenError  # noqa: E402,F401 (the module's error class)

SCHEMA = "mqa-golden"
SCHEMA_VERSION = 1

_DTYPES = {"uint8": "<u1", "uint16": "<u2", "int32": "<i4", "int64": "<i8", "float32": "<f4"}


def sha256(array):
    """Hex SHA-256 of an array's bytes (little-endian, C order), as stored in the `sha256` attribute."""
    a = np.ascontiguousarray(array)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return hashlib.sha256(a.tobytes()).hexdigest()


def shape_string(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _str(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


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

    def by_regions(self):
        """The logits (and stored bounds) hold only each row's [valid_begin, future_end) floats,
        rows concatenated (SCHEMA.md, logits_storage = regions); the rest is implied."""
        return self.attrs.get("logits_storage", "dense") == "regions"

    def logits_by_regions(self, logits):
        """A kernel's logits, [rows, logits_row_stride] or unpadded [rows, logits_cols], as a
        candidate by regions: {"logits": the runs, "logits_outside": [X, 2] int64 (flat index,
        bits) of every other float of [0, logits_cols) that is not the implied one}. With
        unpadded logits the padding columns are not judged (as verify does for them)."""
        a, rg = self.attrs, self["logits_regions"].astype(np.int64)
        cols, stride = a["logits_cols"], a["logits_row_stride"]
        bits = np.ascontiguousarray(logits, dtype="<f4").view("<u4")
        width = bits.shape[1] if bits.ndim == 2 else -1
        if bits.ndim != 2 or bits.shape[0] != a["rows"] or width not in (cols, stride):
            raise GoldenError("case %r: logits shape %s, expected [%d, %d] or [%d, %d]" %
                              (self.name, shape_string(bits.shape), a["rows"], stride, a["rows"], cols))
        c = np.arange(width)[None, :]
        in_run = (c >= rg[:, 0:1]) & (c < rg[:, 2:3])
        implied = np.where(a["clean_logits"] & (c < cols), np.uint32(0xFF800000), np.uint32(a["logits_sentinel"]))
        stray = ~in_run & (bits != implied)
        r, cc = np.nonzero(stray)
        outside = np.stack([r.astype(np.int64) * stride + cc, bits[r, cc].astype(np.int64)], axis=1)
        return {"logits": bits[in_run].view("<f4"), "logits_outside": outside.reshape(-1, 2)}

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
        raise GoldenError("%s: file checksum mismatch: the file has %d bytes, its header says %d (truncated or extended)"
                          % (path, have_n + USER_BLOCK, want_n + USER_BLOCK))
    if have_hex != want_hex:
        raise GoldenError("%s: file checksum mismatch: the file is corrupt" % path)
    return True


def _stamp(path):
    hexd, n = _hash_after_user_block(path)
    head = MAGIC + ("sha256 %s\nbytes %d\n" % (hexd, n)).encode()
    with open(path, "r+b") as f:
        f.write(head.ljust(USER_BLOCK, b"\0"))


# ---- reading: the checks are mqa_golden_checks' (the C++ reader's, in its order), the
# containment mqa_golden_contain's ----
def _check_links(path, group, group_path, case=None):
    """Every link of `group` is a hard link: external and user-defined links read other files, and
    a soft link is a path that may lead through one (schema v1 files hold hard links only)."""
    for name in group:  # names only: iterating does not follow links
        t = group.id.links.get_info(name.encode() if isinstance(name, str) else name).type
        if t == h5py.h5l.TYPE_HARD:
            continue
        if t == h5py.h5l.TYPE_SOFT:
            what = "a soft link to %r" % _str(group.get(name, getlink=True).path)
        elif t == h5py.h5l.TYPE_EXTERNAL:
            link = group.get(name, getlink=True)
            what = "an external link to %r object %r" % (_str(link.filename), _str(link.path))
        else:
            what = "a user-defined link (type %d)" % t
        raise GoldenError("%slink %r in %s is %s: refused (schema v1 files hold hard links only; a link may lead "
                          "the reader into another file)" % (checks.where(path, case, name if case else None), name,
                                                             group_path, what))


def _check_root(path, f):
    """The root attributes, as the C++ reader checks them; returns the file's kind."""
    w = path + ": "
    schema = checks.get_str(f, "schema", True, w)
    if schema != SCHEMA:
        raise GoldenError("%s: attribute schema = %r, expected %r" % (path, schema, SCHEMA))
    version = checks.get_i32(f, "schema_version", True, w)
    if version != SCHEMA_VERSION:
        raise GoldenError("%s: schema_version %d is not supported (this reader knows %d)" % (path, version, SCHEMA_VERSION))
    kind = checks.get_str(f, "kind", True, w)
    if kind not in ("golden", "candidate", "input"):
        raise GoldenError("%s: attribute kind = '%s', expected golden, candidate or input" % (path, kind))
    checks.get_str(f, "generator", kind != "candidate", w)
    checks.get_str(f, "generator_version", kind != "candidate", w)
    algo = checks.get_str(f, "checksum_algorithm", False, w, "sha256")
    if algo != "sha256":
        raise GoldenError("%s: checksum_algorithm '%s' is not supported (expected sha256)" % (path, algo))
    if "cases" not in f:
        raise GoldenError("%s: group /cases missing" % path)
    return kind


def _read_dataset(path, name, dname, ds, file_kind, info, verify, unchecked, file_bytes, case_bytes):
    """One dataset, checked before its data is read (h5guard.cpp) and after (its sha256)."""
    w = checks.where(path, name, dname)
    deflated = checks.check_storage(ds, w)
    checks.check_dtype(ds, dname, w)
    bound = None if file_kind == "candidate" else checks.bound_from_attributes(dname, info)
    case_bytes = checks.check_declared_size(ds, bound, deflated, file_bytes, case_bytes, w)
    arr = ds[()]
    required = file_kind != "candidate"
    role = checks.get_str(ds, "role", required, w, "output")
    if role not in ("input", "output", "meta"):
        raise GoldenError(w + "attribute role = '%s': expected input, output or meta" % role)
    norm = {"role": role, "encoding": checks.get_str(ds, "encoding", False, w),
            "compare": checks.get_str(ds, "compare", False, w)}
    want = checks.get_str(ds, "sha256", required, w)
    if verify and not want and not unchecked:  # an empty checksum must not turn the check off
        raise GoldenError(w + "attribute sha256 missing or empty: every dataset carries its checksum "
                          "(unchecked=True reads it anyway)")
    if verify and want and sha256(arr) != want:
        raise GoldenError(w + "checksum mismatch: stored sha256 %s, data hashes to %s" % (want, sha256(arr)))
    return arr, norm, case_bytes


def _load_here(path, verify, kind, unchecked):
    if verify:
        try:
            has_header = check_file_checksum(path)
        except OSError as e:
            raise GoldenError("%s: cannot read (%s)" % (path, e)) from None
        if not has_header and not unchecked:
            raise GoldenError("%s: no file header ('MQA-GOLDEN-FILE 1' and the file's sha256 in the first 512 bytes): "
                              "refused, as a damaged or foreign file; unchecked=True reads it anyway" % path)
    file_bytes = os.path.getsize(path)
    contain.reading_file(path)  # contained: the test hook fires here
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise GoldenError("%s: not an HDF5 file, or a damaged one (%s)" % (path, e)) from None
    with f:
        _check_links(path, f, "/")
        file_kind = _check_root(path, f)
        if kind is not None and file_kind != kind:
            raise GoldenError("%s: kind = %r, expected %r" % (path, file_kind, kind))
        _check_links(path, f["cases"], "/cases")
        cases = {}
        for name in f["cases"]:
            g = f["cases"][name]
            if not isinstance(g, h5py.Group):
                raise GoldenError(checks.where(path, name) + "not a group")
            _check_links(path, g, "/cases/" + _str(name), case=name)
            info = checks.read_info(g, file_kind != "candidate", checks.where(path, name))
            if file_kind != "candidate":  # before a dataset is opened: the attributes bound the shapes
                checks.check_case_attributes(info, checks.where(path, name))
            arrays, meta, norm, case_bytes = {}, {}, {}, 0
            for dname in g:
                ds = g[dname]
                if not isinstance(ds, h5py.Dataset):
                    raise GoldenError(checks.where(path, name, dname) + "not a dataset")
                arrays[dname], norm[dname], case_bytes = _read_dataset(
                    path, name, dname, ds, file_kind, info, verify, unchecked, file_bytes, case_bytes)
                meta[dname] = _attrs(ds)
            checks.validate_case(path, name, info, arrays, norm, file_kind)
            cases[name] = Case(name, _attrs(g), arrays, meta)
        return cases


def _load_guarded(path, verify, kind, unchecked):
    """_load_here with what h5py raises on a damaged file turned into a GoldenError naming it."""
    try:
        return _load_here(path, verify, kind, unchecked)
    except GoldenError:
        raise
    except MemoryError:
        raise GoldenError("%s: out of memory while reading: a malformed file%s" % (path, contain.memory_note())) from None
    except Exception as e:  # h5py's OSError, KeyError, ValueError... on crafted content
        raise GoldenError("%s: HDF5 read failed (truncated or corrupt file?): %s: %s" % (path, type(e).__name__, e)) from None


def load(path, verify=True, kind="golden", unchecked=False):
    """All cases of a file as {name: Case}, in file order. Raises GoldenError on a bad file.
    kind: "golden", "candidate", "input" (what `mqa-harness fuzz --kernel exec:...` hands a
    program: the inputs of a case, no expected output), or None for any.
    The integrity gate, as in the C++ reader: with verify, a file without the header or a dataset
    without its sha256 is refused; unchecked=True (the CLI's --unchecked) lets them through and
    still verifies the checksums that are there. Every check of the C++ reader is made, in its
    order (mqa_golden_checks), and the file is parsed in a contained child process
    (mqa_golden_contain; MQA_READER_CONTAIN=0 parses in-process)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GoldenError("%s: %s" % (path, "does not exist" if not os.path.exists(path) else "is not a regular file"))
    return contain.run("mqa_golden.load", path, lambda: _load_guarded(path, verify, kind, unchecked), GoldenError)


# ---- safe writes (the C++ writer: golden/src/safe_write.hpp) ----
def _remove_stale_temp_files(path):
    """Removes "<path>.tmp.<pid>" files whose writer is dead (a live pid keeps its file)."""
    d, base = os.path.split(os.path.abspath(path))
    prefix = base + ".tmp."
    try:
        names = os.listdir(d)
    except OSError:
        return  # no such directory: creating the temporary file says so
    for name in names:
        pid = name[len(prefix):]
        if not name.startswith(prefix) or not pid.isdigit() or len(pid) > 9 or int(pid) in (0, os.getpid()):
            continue
        try:
            os.kill(int(pid), 0)
            continue  # alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, another user's
        try:
            os.unlink(os.path.join(d, name))
        except OSError:
            pass


def _write_atomically(path, parts):
    """Writes the byte strings `parts` to path: temporary file in the same directory, every write
    and the fsync checked, rename over path, fsync of the directory. On an error before the
    rename the temporary file is removed and the old file kept. Test hooks, as the C++ writer's:
    MQA_TEST_WRITE_FAIL_AFTER=N (bytes), MQA_TEST_WRITE_FAIL_AT=fsync|close|rename|dirsync."""
    _remove_stale_temp_files(path)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    after = os.environ.get("MQA_TEST_WRITE_FAIL_AFTER")
    limit = int(after) if after else None
    at = os.environ.get("MQA_TEST_WRITE_FAIL_AT", "")
    try:
        os.unlink(tmp)  # ours by name (our pid)
    except FileNotFoundError:
        pass
    step = "creating " + tmp
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        step, written = "writing " + tmp, 0
        for part in parts:
            view = memoryview(part)
            while len(view):
                n = len(view)
                if limit is not None:
                    if written >= limit:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + " (test hook MQA_TEST_WRITE_FAIL_AFTER)")
                    n = min(n, limit - written)
                w = os.write(fd, view[:n])
                view, written = view[w:], written + w
        step = "fsync of " + tmp
        if at == "fsync":
            raise OSError(errno.EIO, os.strerror(errno.EIO) + " (test hook MQA_TEST_WRITE_FAIL_AT=fsync)")
        os.fsync(fd)
        step, fd2, fd = "close of " + tmp, fd, -1
        os.close(fd2)
        if at == "close":
            raise OSError(errno.EIO, os.strerror(errno.EIO) + " (test hook MQA_TEST_WRITE_FAIL_AT=close)")
        step = "rename of %s to %s" % (tmp, path)
        if at == "rename":
            raise OSError(errno.EIO, os.strerror(errno.EIO) + " (test hook MQA_TEST_WRITE_FAIL_AT=rename)")
        os.replace(tmp, path)
    except BaseException as e:  # KeyboardInterrupt too: never leave the temporary file
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise GoldenError("%s: write failed: %s: %s; the old file (if any) is kept and the temporary file removed"
                              % (path, step, e.strerror or e)) from None
        raise
    try:  # past the rename the old file is gone: a failure says the new one may not be durable
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
        try:
            if at == "dirsync":
                raise OSError(errno.EIO, os.strerror(errno.EIO) + " (test hook MQA_TEST_WRITE_FAIL_AT=dirsync)")
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        raise GoldenError("%s: written and renamed into place, but syncing its directory failed: %s; the new file may "
                          "not survive a crash" % (path, e.strerror or e)) from None


def set_root_attributes(f, kind, generator=None):
    """The root attributes of a schema-v1 file (SCHEMA.md), for the writer and for tools and
    tests that build a file by hand with h5py (then _stamp it)."""
    f.attrs["schema"] = SCHEMA
    f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
    f.attrs["kind"] = kind
    if generator is not None:
        f.attrs["generator"] = generator
    f.attrs["checksum_algorithm"] = "sha256"


def write_candidate(path, outputs, generator="mqa_golden.py"):
    """Writes a candidate file: outputs = {case_name: {dataset_name: ndarray}} with the golden
    dataset names/dtypes/shapes (e.g. "logits" float32 [rows, logits_row_stride], "topk" int32,
    "cache" uint8 [P, page_stride]). Each dataset gets its sha256. The file is built in memory
    (HDF5's core driver) and written by _write_atomically: a failed write keeps the old file."""
    with h5py.File(path + ".in-memory", "w", driver="core", backing_store=False, userblock_size=USER_BLOCK) as f:
        set_root_attributes(f, "candidate", generator)
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
        f.flush()
        image = f.id.get_file_image()  # the file after its user block, as the sec2 driver writes it
    if os.environ.get("MQA_TEST_WRITE_FAIL_AT") == "hdf5":
        raise GoldenError("%s: HDF5 write failed: test hook MQA_TEST_WRITE_FAIL_AT=hdf5; nothing was written to disk, the old "
                          "file (if any) is kept" % path)
    head = MAGIC + ("sha256 %s\nbytes %d\n" % (hashlib.sha256(image).hexdigest(), len(image))).encode()
    _write_atomically(path, [head.ljust(USER_BLOCK, b"\0"), image])
