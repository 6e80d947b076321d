"""The checks of mqa_golden.load, made as the C++ reader makes them, in its order and with its
words, so that the two readers accept and refuse the same files (tests/golden/test_hostile_corpus.py
runs both on the same hostile files). Where each check lives on the C++ side:

  attribute types and values    golden/src/h5io.cpp (get_info), golden/src/case_ranges.cpp
  links, storage, declared size golden/src/h5guard.cpp
  dtype, role, shape, encoding  golden/src/schema.cpp (validate_case)
  indices into other data       golden/src/case_ranges.cpp (check_case_values)

Sizes are Python integers (no overflow), compared against the C++ reader's int64 limits.
Dataset bytes are counted in the dataset's STORED dtype (k_source is uint16 or float32).
"""

import os
import re

import h5py
import numpy as np

INT64_MAX = 2 ** 63 - 1
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1
MAX_CASE_ROWS = 1 << 20            # logits rows (cases/src/case_materialize.cpp)
MAX_PAGE_STRIDE = 1 << 32
MAX_POOL_BYTES = 1 << 46
MAX_PAGES = 2 ** 31 - 1            # block-table entries are int32
MAX_SOURCE_ROWS = (1 << 26) + (1 << 20)  # tokens written + padding slots
MAX_RANK = 8
DEFLATE_MAX_RATIO = 1032
FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32"}
LOGITS_OPS = ("paged_logits", "ragged_logits")
_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")


class GoldenError(Exception):
    """A file that is not a valid schema-v1 golden/candidate file (message names file/case/dataset)."""


def where(path, case=None, dataset=None):
    return path + ": " + ("case %r: " % (case,) if case else "") + ("dataset %r: " % (dataset,) if dataset else "")


def shape_string(shape):
    return "[" + ", ".join("*" if s < 0 else str(s) for s in shape) + "]"


# ---- attributes (h5io.cpp: get_str, get_int, get_i32, get_bool, get_info) ----
def _attr(obj, name, required, w):
    if name not in obj.attrs:
        if required:
            raise GoldenError(w + "attribute '%s' missing" % name)
        return None
    v = obj.attrs[name]
    if isinstance(v, np.ndarray) and v.size != 1:
        raise GoldenError(w + "attribute '%s' is not a scalar" % name)
    return v


def get_str(obj, name, required, w, default=""):
    v = _attr(obj, name, required, w)
    if v is None:
        return default
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0]
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if not isinstance(v, str):
        raise GoldenError(w + "attribute '%s' is not a string" % name)
    return v


def get_int(obj, name, required, w, default=0):
    v = _attr(obj, name, required, w)
    if v is None:
        return default
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0]
    if not isinstance(v, np.integer) or isinstance(v, np.bool_):
        raise GoldenError(w + "attribute '%s' is not an integer" % name)
    return min(int(v), INT64_MAX)  # HDF5 clips a uint64 past int64 when it converts


def get_i32(obj, name, required, w):
    v = get_int(obj, name, required, w)
    if v < INT32_MIN or v > INT32_MAX:
        raise GoldenError(w + "attribute %s = %d: out of int32 range" % (name, v))
    return v


def get_bool(obj, name, required, w, default=0):
    v = get_int(obj, name, required, w, default)
    if v not in (0, 1):
        raise GoldenError(w + "attribute %s = %d: expected 0 or 1" % (name, v))
    return v


def read_info(group, required, w):
    """The case attributes as the C++ reader reads them (types checked; defaults as CaseInfo's)."""
    i = {}
    for name, get, default in (
            ("op", get_str, ""), ("descriptor", get_str, ""), ("profile", get_str, "exact"),
            ("layout", get_str, "standard"), ("page_size", get_i32, 0), ("page_stride", get_int, 0),
            ("num_pages", get_int, 0), ("head_dim", get_i32, 0), ("heads", get_i32, 0), ("next_n", get_i32, 0),
            ("quant_block", get_i32, 0), ("batch", get_i32, 0), ("rows", get_i32, 0),
            ("quant_variant", get_str, "exact"), ("ue8m0", get_bool, 0), ("encoding", get_str, "e4m3fn"),
            ("rng", get_str, "philox4x32-10"), ("seed", get_int, 0), ("lens_2d", get_bool, 0),
            ("clean_logits", get_bool, 0), ("logits_cols", get_int, 0), ("logits_row_stride", get_int, 0),
            ("topk", get_i32, 0), ("cache_fill", get_i32, 0), ("cache_from_source", get_bool, 1),
            ("logits_sentinel", get_int, 0)):
        i[name] = get(group, name, required, w) if get is get_i32 else get(group, name, required, w, default)
    if not 0 <= i["logits_sentinel"] <= 2 ** 32 - 1:
        raise GoldenError(w + "attribute logits_sentinel = %d: must be a float's bits, in [0, 2^32 - 1]" %
                          i["logits_sentinel"])
    i["logits_storage"] = get_str(group, "logits_storage", False, w, "dense")
    return i


def check_case_attributes(i, w):
    """case_ranges.cpp check_case_attributes: what sizes or indexes something is in range."""
    def bad(name, v, why):
        raise GoldenError(w + "attribute %s = %d: %s" % (name, v, why))
    op = i["op"]
    if op not in ("quant_cache", "gather") + LOGITS_OPS:
        raise GoldenError(w + "attribute op = '%s': expected quant_cache, gather, paged_logits or ragged_logits" % op)
    if i["encoding"] not in ("e4m3fn", "e4m3fnuz"):
        raise GoldenError(w + "attribute encoding = '%s': expected e4m3fn or e4m3fnuz" % i["encoding"])
    if i["layout"] not in ("standard", "preshuffle16"):
        raise GoldenError(w + "attribute layout = '%s': expected standard or preshuffle16" % i["layout"])
    logits, paged = op in LOGITS_OPS, op == "paged_logits"
    none = " (a %s case has none)" % op
    B, D, Qb, stride, pages = i["page_size"], i["head_dim"], i["quant_block"], i["page_stride"], i["num_pages"]
    if B < 1:
        bad("page_size", B, "must be >= 1")
    if D < 1:
        bad("head_dim", D, "must be >= 1")
    if Qb < 1 or D % Qb != 0:
        bad("quant_block", Qb, "must be >= 1 and divide head_dim = %d" % D)
    if i["layout"] == "preshuffle16" and B % 16:
        bad("page_size", B, "the preshuffle16 layout needs a multiple of 16")
    if i["layout"] == "preshuffle16" and D % 16:
        bad("head_dim", D, "the preshuffle16 layout needs a multiple of 16")
    natural = B * (D + 4 * (D // Qb))
    if stride < 1 or stride > MAX_PAGE_STRIDE:
        bad("page_stride", stride, "must be in [1, 2^32] bytes")
    if stride < natural:
        bad("page_stride", stride, "smaller than one page, page_size * (head_dim + 4 * head_dim / quant_block) = %s bytes"
            % (natural if natural <= INT64_MAX else "(overflows int64)"))
    if stride % 4:
        bad("page_stride", stride, "must be a multiple of 4 (the fp32 scales stay aligned)")
    if pages < 0 or pages > MAX_PAGES:
        bad("num_pages", pages, "must be in [0, 2^31 - 1] (block-table entries are int32)")
    if pages * stride > MAX_POOL_BYTES:
        bad("num_pages", pages, "num_pages * page_stride = %d bytes is past the 2^46 bytes a pool may take" % (pages * stride))
    if (i["heads"] < 1) if logits else (i["heads"] != 0):
        bad("heads", i["heads"], "must be >= 1" if logits else "must be 0" + none)
    if i["next_n"] < 1 or (not paged and i["next_n"] != 1):
        bad("next_n", i["next_n"], "must be >= 1" if paged else "must be 1 (only paged_logits has next_n > 1)")
    if i["batch"] < 1:
        bad("batch", i["batch"], "must be >= 1 (a case has at least one sequence)")
    if i["lens_2d"] and not paged:
        bad("lens_2d", 1, "2-D lengths exist only for paged_logits")
    if paged and i["rows"] != i["batch"] * i["next_n"]:
        bad("rows", i["rows"], "expected batch * next_n = %d * %d" % (i["batch"], i["next_n"]))
    if logits and not 0 <= i["rows"] <= MAX_CASE_ROWS:
        bad("rows", i["rows"], "must be in [0, 2^20] (logits rows)")
    if not logits and i["rows"] != 0:
        bad("rows", i["rows"], "must be 0" + none)
    if logits:
        if not 0 <= i["logits_cols"] <= INT32_MAX:
            bad("logits_cols", i["logits_cols"], "must be in [0, 2^31 - 1]")
        if not i["logits_cols"] <= i["logits_row_stride"] <= INT32_MAX:
            bad("logits_row_stride", i["logits_row_stride"], "must be in [logits_cols = %d, 2^31 - 1]" % i["logits_cols"])
        if i["topk"] < 1:
            bad("topk", i["topk"], "must be >= 1")
    else:
        for name in ("logits_cols", "logits_row_stride", "topk"):
            if i[name] != 0:
                bad(name, i[name], "must be 0" + none)
    if not 0 <= i["cache_fill"] <= 255:
        bad("cache_fill", i["cache_fill"], "must be a byte, in [0, 255]")
    if i["logits_storage"] not in ("dense", "regions"):
        raise GoldenError(w + "attribute logits_storage = '%s': expected dense or regions" % i["logits_storage"])
    if i["logits_storage"] == "regions" and not logits:
        raise GoldenError(w + "attribute logits_storage = 'regions': only the logits ops have logits" + none)


# ---- the schema's dataset table (schema.cpp make_specs): dtype, encoding kind, need, shape ----
ANY = -1
REQUIRED, OPTIONAL, ABSENT = "required", "optional", "absent"


def _when(required, allowed=True):
    return REQUIRED if required else OPTIONAL if allowed else ABSENT


def _specs():
    logits = lambda i: i["op"] in LOGITS_OPS  # noqa: E731
    source = lambda i: _when(i["cache_from_source"], i["cache_from_source"])  # noqa: E731
    table = lambda i: _when(i["op"] != "quant_cache")  # noqa: E731
    gathered = lambda i: _when(i["op"] in ("gather", "ragged_logits"))  # noqa: E731
    only = lambda op: (lambda i: _when(i["op"] == op, i["op"] == op))  # noqa: E731
    out = lambda i: _when(logits(i), logits(i))  # noqa: E731
    scale_row = lambda i: 4 * (i["head_dim"] // i["quant_block"]) if i["quant_block"] > 0 else ANY  # noqa: E731
    ragged_n = lambda i: i["logits_cols"] if i["op"] == "ragged_logits" else ANY  # noqa: E731
    # dense [rows, logits_row_stride]; by regions [V], V checked against logits_regions
    dense = lambda i: [ANY] if by_regions(i) else [i["rows"], i["logits_row_stride"]]  # noqa: E731
    return {
        "k_source": ("uint16", "k_source", source, lambda i: [ANY, i["head_dim"]]),
        "slot_mapping": ("int64", "", source, lambda i: [ANY]),
        "cache": ("uint8", "fp8", lambda i: REQUIRED, lambda i: [ANY, i["page_stride"]]),
        "page_ids": ("int64", "", lambda i: REQUIRED, lambda i: [ANY]),
        "block_table": ("int32", "", table, lambda i: [i["batch"], ANY]),
        "context_lens": ("int32", "", table,
                         lambda i: [i["batch"], i["next_n"]] if i["lens_2d"] else [i["batch"]]),
        "gathered_values": ("uint8", "fp8", gathered, lambda i: [ragged_n(i), i["head_dim"]]),
        "gathered_scales": ("uint8", "", gathered, lambda i: [ragged_n(i), scale_row(i)]),
        "q": ("uint8", "fp8", out, lambda i: [i["batch"], i["next_n"], i["heads"], i["head_dim"]]
              if i["op"] == "paged_logits" else [i["rows"], i["heads"], i["head_dim"]]),
        "weights": ("float32", "", out, lambda i: [i["rows"], i["heads"]]),
        "ks": ("int32", "", only("ragged_logits"), lambda i: [i["rows"]]),
        "ke": ("int32", "", only("ragged_logits"), lambda i: [i["rows"]]),
        "logits": ("float32", "", out, dense),
        "logits_regions": ("int64", "", out, lambda i: [i["rows"], 3]),
        "topk": ("int32", "", out, lambda i: [i["rows"], i["topk"]]),
        "logits_bound_fp32": ("float32", "", lambda i: _when(False, logits(i)), dense),
        "logits_bound_fp8_mma": ("float32", "", lambda i: _when(False, logits(i)), dense),
        # candidates only, beside logits by regions (read by golden verify, SCHEMA.md)
        "logits_outside": ("int64", "", lambda i: ABSENT, lambda i: [ANY, 2]),
    }


def by_regions(i):
    """The case's logits are stored by regions (SCHEMA.md, logits_storage)."""
    return i.get("logits_storage", "dense") == "regions"


SPECS = _specs()


def role_for(name, i):
    if name in ("page_ids", "logits_regions") or name.startswith("logits_bound_"):
        return "meta"
    if i["op"] == "quant_cache":
        return "output" if name == "cache" else "input"
    if i["op"] == "gather":
        return "output" if name.startswith("gathered_") else "input"
    return "output" if name in ("logits", "topk") else "input"


def _prefilled(name, i):
    return name == "cache" if i["op"] == "quant_cache" else (i["op"] in LOGITS_OPS and name == "logits")


# ---- before the data is read (h5guard.cpp) ----
def check_storage(ds, w):
    """The data lives in this file and uses only the schema's filters; returns whether deflated."""
    dcpl = ds.id.get_create_plist()
    if dcpl.get_layout() == h5py.h5d.VIRTUAL:
        raise GoldenError(w + "is a virtual dataset (its data is mapped from other datasets or files): refused, the "
                          "reader reads only the file it is given")
    n = dcpl.get_external_count()
    if n:
        name = dcpl.get_external(0)[0]
        raise GoldenError(w + "is stored in the external file %r (HDF5 external storage, %d file(s)): refused, the "
                          "reader reads only the file it is given" %
                          (name.decode("utf-8", "replace") if isinstance(name, bytes) else name, n))
    deflates = 0
    for k in range(dcpl.get_nfilters()):
        code, _, _, fname = dcpl.get_filter(k)
        deflates += code == 1
        if code not in FILTERS or deflates > 1:
            raise GoldenError(w + "uses HDF5 filter %d (%r): refused (schema v1 datasets use deflate once, shuffle and "
                              "fletcher32 only; other filters load plugins or expand without a known bound)" %
                              (code, fname.decode("utf-8", "replace")
                                                    if isinstance(fname, bytes) else fname))
    return deflates > 0


def check_dtype(ds, name, w):
    """dtype_from_h5: the five numeric types of the schema (either byte order), else refused."""
    dt = ds.dtype
    if dt.kind in "iu":
        described = ("int" if dt.kind == "i" else "uint") + str(8 * dt.itemsize)
    elif dt.kind == "f":
        described = "float" + str(8 * dt.itemsize)
    else:
        described = "a non-numeric HDF5 type"
    if described not in ("uint8", "uint16", "int32", "int64", "float32"):
        spec = SPECS.get(name)
        raise GoldenError(w + "dtype " + described + (", expected " + spec[0] if spec else ""))
    return described


def bound_from_attributes(name, i):
    """(elements, what from) or None: the most elements the case attributes allow the dataset."""
    spec = SPECS.get(name)
    if spec is None or spec[2](i) == ABSENT:
        return None
    want = spec[3](i)
    bound, shown = [], []
    for k, s in enumerate(want):
        if s < 0:
            if k == 0 and name in ("cache", "page_ids"):
                s = i["num_pages"]
            elif k == 0 and name in ("k_source", "slot_mapping"):
                s = MAX_SOURCE_ROWS
            elif k == 0 and by_regions(i) and (name == "logits" or name.startswith("logits_bound_")):
                s = i["rows"] * i["logits_cols"]  # runs lie in [0, logits_cols)
            else:
                return None
            shown.append("<=" + str(s))
        else:
            shown.append(str(s))
        bound.append(max(s, 0))
    n = int(np.prod(bound, dtype=object)) if bound else 1
    if n > INT64_MAX:
        return None
    return n, "its case attributes (shape [%s], %d elements)" % (", ".join(shown), n)


def case_bytes_limit():
    e = os.environ.get("MQA_CASE_BYTES_LIMIT")
    if e is None:
        return 8 << 30
    try:
        v = float(e)
    except ValueError:
        v = 0
    if not v > 0:
        raise GoldenError("MQA_CASE_BYTES_LIMIT = %r: must be a positive number of bytes" % e)
    return int(min(v, INT64_MAX))


def check_declared_size(ds, bound, deflated, file_bytes, case_bytes, w):
    """check_declared_size: the dataspace's elements within `bound`, its bytes (in the stored
    dtype) within the per-case budget and within what the stored bytes can hold. Returns the
    case's bytes so far."""
    space = ds.id.get_space()
    if space.get_simple_extent_type() not in (h5py.h5s.SIMPLE, h5py.h5s.SCALAR):
        raise GoldenError(w + "has a null or unknown dataspace (no array to read)")
    shape = list(space.shape)
    if len(shape) > MAX_RANK:
        raise GoldenError(w + "declares rank %d (at most 8)" % len(shape))
    for k, s in enumerate(shape):
        if s > INT64_MAX:
            raise GoldenError(w + "declares extent %d in dimension %d (past int64)" % (s, k))
    elements = int(np.prod(shape, dtype=object)) if shape else 1
    nbytes = elements * ds.dtype.itemsize
    if elements > INT64_MAX or nbytes > INT64_MAX:
        raise GoldenError(w + "declares shape %s: its byte count overflows int64" % shape_string(shape))
    if bound is not None and elements > bound[0]:
        raise GoldenError(w + "declares shape %s (%d elements), more than %s" % (shape_string(shape), elements, bound[1]))
    budget = case_bytes_limit()
    case_bytes += nbytes
    if nbytes > budget or case_bytes > budget:
        raise GoldenError(w + "declares shape %s (%d bytes; %d for the case so far), more than MQA_CASE_BYTES_LIMIT = "
                          "%d bytes a case may hold" % (shape_string(shape), nbytes, case_bytes, budget))
    stored = ds.id.get_storage_size()
    if stored > file_bytes:
        raise GoldenError(w + "claims %d bytes of storage, more than the whole file holds (%d bytes)" %
                          (stored, file_bytes))
    if nbytes > stored * (DEFLATE_MAX_RATIO if deflated else 1):
        raise GoldenError(w + "declares shape %s (%d bytes) but stores %d bytes%s: the rest would be HDF5's fill "
                          "value, or the dataspace is forged" %
                          (shape_string(shape), nbytes, stored, " deflated (at most 1032x that)" if deflated else ""))
    return case_bytes


# ---- after the data is read (schema.cpp validate_case, case_ranges.cpp check_case_values) ----
def check_case_name(path, name):
    if not isinstance(name, str) or name in (".", "..") or not _NAME.match(name):
        raise GoldenError(where(path, name) + "invalid case name (letters, digits, '_', '.', '-' only)")


def validate_case(path, name, i, arrays, meta, kind):
    """validate_case: names, dtypes, roles, shapes and encodings of the schema table, required
    datasets present, and (golden and input files) every index in range."""
    check_case_name(path, name)
    if kind != "candidate":
        check_case_attributes(i, where(path, name))
    for dname in sorted(arrays):
        a, m = arrays[dname], meta[dname]
        w = where(path, name, dname)
        spec = SPECS.get(dname)
        if spec is None:
            raise GoldenError(w + "not a schema v1 dataset name")
        dt = a.dtype.str.lstrip("<>|=")
        got = {"u1": "uint8", "u2": "uint16", "i4": "int32", "i8": "int64", "f4": "float32"}[dt]
        source_f32 = spec[1] == "k_source" and got == "float32"
        if got != spec[0] and not source_f32:
            raise GoldenError(w + "dtype %s, expected %s%s" % (got, spec[0], " or float32" if spec[1] == "k_source" else ""))
        if kind == "candidate":
            continue
        if spec[2](i) == ABSENT:
            raise GoldenError(w + "not part of a %s case" % i["op"])
        want_role = role_for(dname, i)
        if kind == "input" and want_role == "output" and not _prefilled(dname, i):
            raise GoldenError(w + "an input file holds no expected output (only the pre-filled buffer of the op)")
        if m["role"] != want_role:
            raise GoldenError(w + "role %s, expected %s" % (m["role"], want_role))
        want = spec[3](i)
        if len(want) != a.ndim or any(s != ANY and s != g for s, g in zip(want, a.shape)):
            raise GoldenError(w + "shape %s, expected %s" % (shape_string(a.shape), shape_string(want)))
        enc = m.get("encoding", "")
        if spec[1] == "k_source":
            if (enc != "fp32") if source_f32 else (enc not in ("bf16", "fp16")):
                raise GoldenError(w + "attribute encoding = '%s', expected %s" %
                                  (enc, "'fp32' (float32 data)" if source_f32 else "'bf16' or 'fp16' (uint16 data)"))
        else:
            want_enc = i["encoding"] if spec[1] == "fp8" else spec[1]
            if enc != want_enc:
                raise GoldenError(w + "attribute encoding = '%s', expected '%s'" % (enc, want_enc))
        if m["role"] == "output" and not m.get("compare") and kind == "golden":
            raise GoldenError(w + "output without a compare attribute")
    if kind == "candidate":
        if not arrays:
            raise GoldenError(where(path, name) + "candidate case holds no dataset")
        return
    for dname, spec in SPECS.items():
        expected_output = role_for(dname, i) == "output" and not _prefilled(dname, i)
        if spec[2](i) == REQUIRED and dname not in arrays and not (kind == "input" and expected_output):
            raise GoldenError(where(path, name, dname) + "missing")
    if arrays["page_ids"].shape[0] != arrays["cache"].shape[0]:
        raise GoldenError(where(path, name, "page_ids") + "length differs from the pages stored in cache")
    if ("gathered_values" in arrays) != ("gathered_scales" in arrays):
        raise GoldenError(where(path, name, "gathered_scales") + "stored without gathered_values or vice versa")
    if "gathered_values" in arrays and arrays["gathered_values"].shape[0] != arrays["gathered_scales"].shape[0]:
        raise GoldenError(where(path, name, "gathered_scales") + "rows differ from gathered_values rows")
    if "k_source" in arrays and arrays["k_source"].shape[0] != arrays["slot_mapping"].shape[0]:
        raise GoldenError(where(path, name, "slot_mapping") + "length differs from k_source rows")
    check_case_values(path, name, i, arrays)


def _first(bad):
    """Index (tuple) of the first True of a boolean array, in C order."""
    return np.unravel_index(int(np.argmax(bad.reshape(-1))), bad.shape)


def _at(name, idx):
    return name + "".join("[%d]" % k for k in idx)


def check_case_values(path, name, i, arrays):
    """check_case_values: the integers that index other data point where they may."""
    def fail(dname, why):
        raise GoldenError(where(path, name, dname) + why)
    pages, B = i["num_pages"], i["page_size"]
    ids = arrays["page_ids"].astype(np.int64)
    bad = (ids < 0) | (ids >= pages)
    if bad.any():
        k = _first(bad)
        fail("page_ids", "%s = %d: outside [0, num_pages = %d)" % (_at("page_ids", k), ids[k], pages))
    stored = np.sort(ids)
    dup = stored[1:] == stored[:-1]
    if dup.any():
        fail("page_ids", "page %d is stored twice" % stored[1:][dup][0])

    def is_stored(p):
        p = np.asarray(p, dtype=np.int64)
        if not len(stored):
            return np.zeros(p.shape, bool)
        pos = np.clip(np.searchsorted(stored, p), 0, len(stored) - 1)
        return stored[pos] == p

    def not_stored(p):
        return "outside [0, num_pages = %d)" % pages if p < 0 or p >= pages else "not a stored page (page_ids)"

    if "slot_mapping" in arrays:
        slots = arrays["slot_mapping"].astype(np.int64)
        capacity = pages * B
        pad = slots < 0
        over = ~pad & (slots >= capacity)
        unstored = ~pad & ~over & ~is_stored(np.where(pad, 0, slots) // B)
        bad = over | unstored
        if bad.any():
            t = int(np.argmax(bad))
            v = int(slots[t])
            if over[t]:
                fail("slot_mapping", "slot_mapping[%d] = %d: past the pool's num_pages * page_size = %d slots" %
                     (t, v, capacity))
            fail("slot_mapping", "slot_mapping[%d] = %d: its page %d is not a stored page (page_ids)" % (t, v, v // B))

    if "context_lens" in arrays:
        lens = arrays["context_lens"].astype(np.int64).reshape(i["batch"], -1)
        table = arrays["block_table"].astype(np.int64)
        W = table.shape[1]
        capacity = W * B
        paged = i["op"] == "paged_logits"
        two_d = bool(i["lens_2d"])
        neg, past = lens < 0, (lens > i["logits_cols"]) if paged else np.zeros(lens.shape, bool)
        bad_len = neg | past | (lens > capacity)
        longest = lens.max(axis=1) if lens.shape[1] else np.zeros(i["batch"], np.int64)
        need = (np.maximum(longest, 0) + B - 1) // B
        bad_entry = (np.arange(W)[None, :] < need[:, None]) & ~is_stored(table)
        b_len = int(np.argmax(bad_len.any(axis=1))) if bad_len.any() else None
        b_entry = int(np.argmax(bad_entry.any(axis=1))) if bad_entry.any() else None
        if b_len is not None and (b_entry is None or b_len <= b_entry):  # per sequence: lengths, then its table
            j = int(np.argmax(bad_len[b_len]))
            L = int(lens[b_len, j])
            shown = ("context_lens[%d][%d]" % (b_len, j) if two_d else "context_lens[%d]" % b_len) + " = %d" % L
            if neg[b_len, j]:
                fail("context_lens", shown + ": negative length")
            if past[b_len, j]:
                fail("context_lens", shown + ": past logits_cols = max_context_len = %d" % i["logits_cols"])
            fail("context_lens", shown + ": beyond the block table's capacity of %d blocks of %d tokens" % (W, B))
        if b_entry is not None:
            k = int(np.argmax(bad_entry[b_entry]))
            e = int(table[b_entry, k])
            fail("block_table", "block_table[%d][%d] = %d: needed by the %d tokens of sequence %d, but %s" %
                 (b_entry, k, e, longest[b_entry], b_entry, not_stored(e)))
        tokens = int(lens.max(axis=1).sum()) if lens.shape[1] else 0
        if "gathered_values" in arrays and arrays["gathered_values"].shape[0] != tokens:
            fail("gathered_values", "holds %d rows, the sequences' lengths (context_lens) %d tokens" %
                 (arrays["gathered_values"].shape[0], tokens))

    if "ks" in arrays:
        ks, ke = arrays["ks"].astype(np.int64), arrays["ke"].astype(np.int64)
        N = i["logits_cols"]
        for r in range(i["rows"]):
            s, e = int(ks[r]), int(ke[r])
            if s < 0:
                fail("ks", "ks[%d] = %d: negative" % (r, s))
            if e > N:
                fail("ke", "ke[%d] = %d: beyond N = logits_cols = %d" % (r, e, N))
            if s > e:
                fail("ks", "ks[%d] = %d: greater than ke[%d] = %d" % (r, s, r, e))

    if "logits_regions" not in arrays:
        return
    rg = arrays["logits_regions"].astype(np.int64)
    vb, ve, fe = rg[:, 0], rg[:, 1], rg[:, 2]
    bad = ~((0 <= vb) & (vb <= ve) & (ve <= fe) & (fe <= i["logits_cols"]))
    if bad.any():
        r = int(np.argmax(bad))
        fail("logits_regions", "row %d = (%d, %d, %d): expected 0 <= valid_begin <= valid_end <= future_end <= "
             "logits_cols = %d" % (r, vb[r], ve[r], fe[r], i["logits_cols"]))
    if by_regions(i):
        runs = int((fe - vb).sum())
        for dname in ("logits", "logits_bound_fp32", "logits_bound_fp8_mma"):
            if dname in arrays and arrays[dname].size != runs:
                fail(dname, "holds %d floats; by regions (logits_storage) the rows' runs need "
                     "sum(future_end - valid_begin) = %d (logits_regions)" % (arrays[dname].size, runs))
    if "topk" not in arrays:
        return
    top = arrays["topk"].astype(np.int64)
    k = i["topk"]
    m = np.minimum(k, ve - vb)[:, None]
    p = np.arange(k)[None, :]
    valid = (top >= vb[:, None]) & (top < ve[:, None])
    bad = np.where(p < m, ~valid, top != -1)
    if bad.any():
        r, q = (int(x) for x in _first(bad))
        v = int(top[r, q])
        if q < m[r, 0]:
            fail("topk", "topk[%d][%d] = %d: must be a valid column of row %d, in [%d, %d)" % (r, q, v, r, vb[r], ve[r]))
        fail("topk", "topk[%d][%d] = %d: must be -1 (row %d has only %d candidates)" % (r, q, v, r, m[r, 0]))
