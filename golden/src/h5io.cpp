// HDF5 reader and writer of golden and candidate files (schema v1). Every HDF5 exception is
// caught here and turned into a GoldenError that names the file, the case and the dataset.
// The reader checks structure and declared sizes before it reads data (h5guard.hpp); the writer
// builds the file in memory and hands the bytes to write_atomically (safe_write.hpp).
#include <H5Cpp.h>
#include <H5PLpublic.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "case_ranges.hpp"
#include "contain.hpp"
#include "golden_schema.hpp"
#include "h5guard.hpp"
#include "mqa/validate.hpp"
#include "read_candidate.hpp"
#include "safe_write.hpp"

namespace mqa::golden {
namespace {

// Silences HDF5's automatic error-stack printing: we report every failure ourselves, once.
// Also turns off filter plugins: a file must not make HDF5 load code (the schema needs only the
// built-in deflate and shuffle).
void silence_hdf5() {
  H5::Exception::dontPrint();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5PLset_loading_state(0);
}

const H5::PredType& file_type(DType t) {
  switch (t) {
    case DType::u8: return H5::PredType::STD_U8LE;
    case DType::u16: return H5::PredType::STD_U16LE;
    case DType::i32: return H5::PredType::STD_I32LE;
    case DType::i64: return H5::PredType::STD_I64LE;
    case DType::f32: return H5::PredType::IEEE_F32LE;
  }
  return H5::PredType::STD_U8LE;
}

const H5::PredType& mem_type(DType t) {
  switch (t) {
    case DType::u8: return H5::PredType::NATIVE_UINT8;
    case DType::u16: return H5::PredType::NATIVE_UINT16;
    case DType::i32: return H5::PredType::NATIVE_INT32;
    case DType::i64: return H5::PredType::NATIVE_INT64;
    case DType::f32: return H5::PredType::NATIVE_FLOAT;
  }
  return H5::PredType::NATIVE_UINT8;
}

// Whether the HDF5 error stack of the failure just thrown holds an allocation failure (then the
// message says what the memory limit was; any other failure is the file's).
bool hdf5_out_of_memory() {
  bool found = false;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD,
           [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
             if (e->maj_num == H5E_RESOURCE) *static_cast<bool*>(data) = true;
             return 0;
           },
           &found);
  return found;
}

// ---- attributes ----
// Every object the writer creates is closed explicitly: close() throws on failure, where the C++
// API's destructors only print it (issue 13: 202 "H5Dclose failed" lines, then a bad file).
void put(H5::H5Object& o, const char* name, const std::string& v) {
  H5::StrType st(H5::PredType::C_S1, H5T_VARIABLE);
  st.setCset(H5T_CSET_UTF8);
  H5::Attribute a = o.createAttribute(name, st, H5::DataSpace(H5S_SCALAR));
  a.write(st, v);
  a.close();
}
void put(H5::H5Object& o, const char* name, int64_t v) {
  H5::Attribute a = o.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
  a.write(H5::PredType::NATIVE_INT64, &v);
  a.close();
}
void put_u64(H5::H5Object& o, const char* name, uint64_t v) {
  H5::Attribute a = o.createAttribute(name, H5::PredType::STD_U64LE, H5::DataSpace(H5S_SCALAR));
  a.write(H5::PredType::NATIVE_UINT64, &v);
  a.close();
}

// Reading context, so that every message names where it happened.
struct Where {
  std::string file, case_name, dataset;
  [[noreturn]] void fail(const std::string& why) const { throw GoldenError(file, case_name, dataset, why); }
};

std::optional<H5::Attribute> open_attr(const H5::H5Object& o, const char* name, bool required, const Where& w) {
  if (!o.attrExists(name)) {
    if (required) w.fail(std::string("attribute '") + name + "' missing");
    return std::nullopt;
  }
  H5::Attribute a = o.openAttribute(name);
  if (a.getSpace().getSimpleExtentNpoints() != 1) w.fail(std::string("attribute '") + name + "' is not a scalar");
  return a;
}

std::string get_str(const H5::H5Object& o, const char* name, bool required, const Where& w, std::string dflt = {}) {
  auto a = open_attr(o, name, required, w);
  if (!a) return dflt;
  if (a->getTypeClass() != H5T_STRING) w.fail(std::string("attribute '") + name + "' is not a string");
  std::string v;
  a->read(a->getStrType(), v);
  return v;
}

int64_t get_int(const H5::H5Object& o, const char* name, bool required, const Where& w, int64_t dflt = 0) {
  auto a = open_attr(o, name, required, w);
  if (!a) return dflt;
  if (a->getTypeClass() != H5T_INTEGER) w.fail(std::string("attribute '") + name + "' is not an integer");
  int64_t v = 0;
  a->read(H5::PredType::NATIVE_INT64, &v);
  return v;
}

uint64_t get_u64(const H5::H5Object& o, const char* name, bool required, const Where& w) {
  auto a = open_attr(o, name, required, w);
  if (!a) return 0;
  if (a->getTypeClass() != H5T_INTEGER) w.fail(std::string("attribute '") + name + "' is not an integer");
  uint64_t v = 0;
  a->read(H5::PredType::NATIVE_UINT64, &v);
  return v;
}

// Booleans are 0 or 1 (SCHEMA.md): any other value is a file nobody wrote on purpose.
bool get_bool(const H5::H5Object& o, const char* name, bool required, const Where& w, int64_t dflt = 0) {
  const int64_t v = get_int(o, name, required, w, dflt);
  if (v != 0 && v != 1) w.fail(std::string("attribute ") + name + " = " + std::to_string(v) + ": expected 0 or 1");
  return v == 1;
}

int32_t get_i32(const H5::H5Object& o, const char* name, bool required, const Where& w) {
  const int64_t v = get_int(o, name, required, w);
  if (v < INT32_MIN || v > INT32_MAX)
    w.fail(std::string("attribute ") + name + " = " + std::to_string(v) + ": out of int32 range");
  return int32_t(v);
}

// ---- case attributes (names as in SCHEMA.md) ----
void put_info(H5::Group& g, const CaseInfo& i) {
  put(g, "op", i.op);
  put(g, "descriptor", i.descriptor);
  put(g, "profile", i.profile);
  put(g, "layout", i.layout);
  put(g, "page_size", int64_t(i.page_size));
  put(g, "page_stride", i.page_stride);
  put(g, "num_pages", i.num_pages);
  put(g, "head_dim", int64_t(i.head_dim));
  put(g, "heads", int64_t(i.heads));
  put(g, "next_n", int64_t(i.next_n));
  put(g, "quant_block", int64_t(i.quant_block));
  put(g, "batch", int64_t(i.batch));
  put(g, "rows", int64_t(i.rows));
  put(g, "quant_variant", i.quant_variant);
  put(g, "ue8m0", int64_t(i.ue8m0));
  put(g, "encoding", i.encoding);
  put(g, "rng", i.rng);
  put_u64(g, "seed", i.seed);
  put(g, "lens_2d", int64_t(i.lens_2d));
  put(g, "clean_logits", int64_t(i.clean_logits));
  put(g, "logits_cols", i.logits_cols);
  put(g, "logits_row_stride", i.logits_row_stride);
  put(g, "topk", int64_t(i.topk));
  put(g, "cache_fill", int64_t(i.cache_fill));
  put(g, "cache_from_source", int64_t(i.cache_from_source));
  put(g, "logits_sentinel", int64_t(i.logits_sentinel));
  if (i.regions_storage()) put(g, "logits_storage", i.logits_storage);  // absent = dense: older files unchanged
}

CaseInfo get_info(const H5::Group& g, bool req, const Where& w) {
  CaseInfo i;
  i.op = get_str(g, "op", req, w);
  i.descriptor = get_str(g, "descriptor", req, w);
  i.profile = get_str(g, "profile", req, w, i.profile);
  i.layout = get_str(g, "layout", req, w, i.layout);
  i.page_size = get_i32(g, "page_size", req, w);
  i.page_stride = get_int(g, "page_stride", req, w);
  i.num_pages = get_int(g, "num_pages", req, w);
  i.head_dim = get_i32(g, "head_dim", req, w);
  i.heads = get_i32(g, "heads", req, w);
  i.next_n = get_i32(g, "next_n", req, w);
  i.quant_block = get_i32(g, "quant_block", req, w);
  i.batch = get_i32(g, "batch", req, w);
  i.rows = get_i32(g, "rows", req, w);
  i.quant_variant = get_str(g, "quant_variant", req, w, i.quant_variant);
  i.ue8m0 = get_bool(g, "ue8m0", req, w);
  i.encoding = get_str(g, "encoding", req, w, i.encoding);
  i.rng = get_str(g, "rng", req, w, i.rng);
  i.seed = get_u64(g, "seed", req, w);
  i.lens_2d = get_bool(g, "lens_2d", req, w);
  i.clean_logits = get_bool(g, "clean_logits", req, w);
  i.logits_cols = get_int(g, "logits_cols", req, w);
  i.logits_row_stride = get_int(g, "logits_row_stride", req, w);
  i.topk = get_i32(g, "topk", req, w);
  i.cache_fill = get_i32(g, "cache_fill", req, w);
  i.cache_from_source = get_bool(g, "cache_from_source", req, w, 1);
  const int64_t sentinel = get_int(g, "logits_sentinel", req, w);
  if (sentinel < 0 || sentinel > int64_t(UINT32_MAX))
    w.fail("attribute logits_sentinel = " + std::to_string(sentinel) + ": must be a float's bits, in [0, 2^32 - 1]");
  i.logits_sentinel = uint32_t(sentinel);
  i.logits_storage = get_str(g, "logits_storage", false, w, i.logits_storage);
  return i;
}

// ---- datasets ----
void put_dataset(H5::Group& g, const std::string& name, const Array& a) {
  std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
  H5::DataSpace space(int(dims.size()), dims.data());
  H5::DSetCreatPropList props;
  // no modification times in the object headers: the same cases write the same bytes
  // (golden/regenerate.sh twice gives identical files)
  H5Pset_obj_track_times(props.getId(), false);
  if (a.bytes.size() > 64 * 1024) {
    // Chunks of at most 1 MiB, whole trailing dimensions; shuffle + deflate (both in h5py).
    std::vector<hsize_t> chunk = dims;
    auto chunk_bytes = [&] {
      hsize_t n = hsize_t(size_of(a.dtype));
      for (hsize_t c : chunk) n *= c;
      return n;
    };
    for (size_t d = 0; d < chunk.size() && chunk_bytes() > (1u << 20); ++d)
      while (chunk[d] > 1 && chunk_bytes() > (1u << 20)) chunk[d] = (chunk[d] + 1) / 2;
    props.setChunk(int(chunk.size()), chunk.data());
    if (size_of(a.dtype) > 1) props.setShuffle();
    props.setDeflate(4);
  }
  H5::DataSet ds = g.createDataSet(name, file_type(a.dtype), space, props);
  if (!a.bytes.empty()) ds.write(a.bytes.data(), mem_type(a.dtype));
  put(ds, "role", std::string(to_string(a.role)));
  if (!a.encoding.empty()) put(ds, "encoding", a.encoding);
  if (!a.compare.empty()) put(ds, "compare", a.compare);
  put(ds, kChecksumAlgorithm, sha256_hex(a.bytes));
  ds.close();
}

std::optional<DType> dtype_from_h5(const H5::DataSet& ds, std::string& described) {
  const H5T_class_t cls = ds.getTypeClass();
  if (cls == H5T_INTEGER) {
    H5::IntType t = ds.getIntType();
    const size_t n = t.getSize();
    const bool sign = t.getSign() != H5T_SGN_NONE;
    described = std::string(sign ? "int" : "uint") + std::to_string(8 * n);
    if (!sign && n == 1) return DType::u8;
    if (!sign && n == 2) return DType::u16;
    if (sign && n == 4) return DType::i32;
    if (sign && n == 8) return DType::i64;
    return std::nullopt;
  }
  if (cls == H5T_FLOAT) {
    const size_t n = ds.getFloatType().getSize();
    described = "float" + std::to_string(8 * n);
    if (n == 4) return DType::f32;
    return std::nullopt;
  }
  described = "a non-numeric HDF5 type";
  return std::nullopt;
}

// `bound` (from the case attributes or the golden), the file's size and the case's running byte
// count limit what the dataset may declare (h5guard.hpp).
Array get_dataset(const H5::Group& g, const std::string& name, FileKind kind, const ReadOptions& opt,
                  const ElementBound& bound, int64_t file_bytes, int64_t& case_bytes, const Where& w) {
  const bool verify = opt.verify_checksums, unchecked = opt.unchecked;
  H5::DataSet ds = g.openDataSet(name);
  const GuardWhere gw{w.file, w.case_name, w.dataset};
  const bool deflated = check_storage(ds.getId(), gw);  // before anything reads its data
  Array a;
  std::string described;
  const DatasetSpec* spec = find_spec(name);
  const std::optional<DType> dt = dtype_from_h5(ds, described);
  if (!dt) w.fail("dtype " + described + (spec ? std::string(", expected ") + to_string(spec->dtype) : std::string()));
  a.dtype = *dt;
  a.shape = check_declared_size(ds.getId(), size_of(a.dtype), bound, deflated, file_bytes, case_bytes, gw);
  a.bytes.resize(size_t(a.elements() * size_of(a.dtype)));
  try {
    if (!a.bytes.empty()) ds.read(a.bytes.data(), mem_type(a.dtype));
  } catch (const H5::Exception&) {  // the error stack is intact only here, before another HDF5 call
    if (hdf5_out_of_memory()) w.fail("HDF5 ran out of memory reading it" + reader_memory_note());
    throw;
  }
  const std::string role = get_str(ds, "role", kind != FileKind::candidate, w, "output");
  if (role == "input") a.role = Role::input;
  else if (role == "output") a.role = Role::output;
  else if (role == "meta") a.role = Role::meta;
  else w.fail("attribute role = '" + role + "': expected input, output or meta");
  a.encoding = get_str(ds, "encoding", false, w);
  a.compare = get_str(ds, "compare", false, w);
  const std::string sum = get_str(ds, kChecksumAlgorithm, kind != FileKind::candidate, w);
  if (verify && sum.empty() && !unchecked)  // an empty checksum must not turn the check off
    w.fail("attribute sha256 missing or empty: every dataset carries its checksum (--unchecked reads it anyway)");
  if (verify && !sum.empty()) {
    const std::string got = sha256_hex(a.bytes);
    if (got != sum) w.fail("checksum mismatch: stored sha256 " + sum + ", data hashes to " + got);
  }
  return a;
}

}  // namespace

std::string generator_version() {
#ifdef MQA_GIT_DESCRIBE
  return MQA_GIT_DESCRIBE;
#else
  return "unknown";
#endif
}

namespace {

// The whole file, built by HDF5 in memory (core driver, no backing store): HDF5 never writes to
// the disk, so a full disk cannot leave it with objects it fails to close and a file it then
// flushes at exit; every byte reaches the disk through write_atomically. The image is the file
// from the superblock on (what follows the user block), byte for byte what the sec2 driver writes.
std::vector<uint8_t> file_image(const std::string& label, const File& f) {
  H5::FileCreatPropList fcpl;
  fcpl.setUserblock(hsize_t(kUserBlockBytes));
  H5::FileAccPropList fapl;
  fapl.setCore(size_t(1) << 20, false);
  H5::H5File h(label, H5F_ACC_TRUNC, fcpl, fapl);
  put(h, "schema", std::string(kSchemaName));
  put(h, "schema_version", int64_t(f.schema_version));
  put(h, "kind", std::string(to_string(f.kind)));
  put(h, "generator", f.generator);
  put(h, "generator_version", f.generator_version);
  put(h, "checksum_algorithm", std::string(kChecksumAlgorithm));
  H5::Group cases = h.createGroup("cases");
  for (const Case& c : f.cases) {
    H5::Group g = cases.createGroup(c.name);
    if (f.kind != FileKind::candidate) put_info(g, c.info);
    for (const auto& [name, a] : c.data) put_dataset(g, name, a);
    g.close();
  }
  cases.close();
  h.flush(H5F_SCOPE_GLOBAL);
  const ssize_t n = H5Fget_file_image(h.getId(), nullptr, 0);
  std::vector<uint8_t> image(size_t(n > 0 ? n : 0));
  if (n <= 0 || H5Fget_file_image(h.getId(), image.data(), image.size()) != n)
    throw H5::FileIException("H5Fget_file_image", "cannot take the in-memory file's image");
  h.close();
  if (write_fault_at("hdf5"))
    throw H5::FileIException("H5File::close", "H5Fclose failed (test hook MQA_TEST_WRITE_FAIL_AT=hdf5)");
  return image;
}

File read_impl(const std::string& path, const ReadOptions& opt, const File* golden) {
  silence_hdf5();
  Where w{path, "", ""};
  std::error_code ec;
  if (const std::string why = input_file_problem(path); !why.empty()) w.fail(why);  // a FIFO or device never opened
  if (opt.verify_checksums) check_user_block(path, opt.unchecked);
  const int64_t file_bytes = int64_t(std::filesystem::file_size(path, ec));
  if (ec) w.fail("cannot read its size: " + ec.message());
  File f;
  try {
    reading_file(path);  // contained: the parent learns which file this is (and the test hook fires)
    bool hdf5 = false;
    try {
      hdf5 = H5::H5File::isHdf5(path);
    } catch (const H5::Exception&) {
    }
    if (!hdf5) w.fail("not an HDF5 file");
    H5::H5File h(path, H5F_ACC_RDONLY);
    check_links(h.getId(), "/", GuardWhere{path, "", ""});
    const std::string schema = get_str(h, "schema", true, w);
    if (schema != kSchemaName) w.fail("attribute schema = '" + schema + "', expected '" + kSchemaName + "'");
    f.schema_version = get_i32(h, "schema_version", true, w);
    if (f.schema_version != kSchemaVersion)
      w.fail("schema_version " + std::to_string(f.schema_version) + " is not supported (this reader knows " +
             std::to_string(kSchemaVersion) + ")");
    const std::string kind = get_str(h, "kind", true, w);
    if (kind == "golden") f.kind = FileKind::golden;
    else if (kind == "candidate") f.kind = FileKind::candidate;
    else if (kind == "input") f.kind = FileKind::input;
    else w.fail("attribute kind = '" + kind + "', expected golden, candidate or input");
    f.generator = get_str(h, "generator", f.kind != FileKind::candidate, w);
    f.generator_version = get_str(h, "generator_version", f.kind != FileKind::candidate, w);
    const std::string algo = get_str(h, "checksum_algorithm", false, w, kChecksumAlgorithm);
    if (algo != kChecksumAlgorithm) w.fail("checksum_algorithm '" + algo + "' is not supported (expected sha256)");
    if (!h.nameExists("cases")) w.fail("group /cases missing");
    H5::Group cases = h.openGroup("cases");
    check_links(cases.getId(), "/cases", GuardWhere{path, "", ""});
    for (hsize_t ci = 0; ci < cases.getNumObjs(); ++ci) {
      Case c;
      c.name = cases.getObjnameByIdx(ci);
      w.case_name = c.name;
      w.dataset.clear();
      if (cases.childObjType(c.name) != H5O_TYPE_GROUP) w.fail("not a group");
      H5::Group g = cases.openGroup(c.name);
      check_links(g.getId(), "/cases/" + c.name, GuardWhere{path, c.name, ""});
      c.info = get_info(g, f.kind != FileKind::candidate, w);
      // Before a dataset is opened: the shapes the attributes give bound what the datasets may declare.
      if (f.kind != FileKind::candidate) check_case_attributes(c.info, path, c.name);
      const Case* answers = golden ? golden->find(c.name) : nullptr;
      int64_t case_bytes = 0;
      for (hsize_t di = 0; di < g.getNumObjs(); ++di) {
        const std::string name = g.getObjnameByIdx(di);
        w.dataset = name;
        if (g.childObjType(name) != H5O_TYPE_DATASET) w.fail("not a dataset");
        const ElementBound bound =
            f.kind == FileKind::candidate ? bound_from_golden(answers, name) : bound_from_attributes(name, c.info);
        c.data.emplace(name, get_dataset(g, name, f.kind, opt, bound, file_bytes, case_bytes, w));
      }
      w.dataset.clear();
      if (opt.validate) validate_case(c, f.kind, path);
      f.cases.push_back(std::move(c));
    }
  } catch (const H5::Exception& e) {
    w.fail("HDF5 read failed (truncated or corrupt file?): " + e.getDetailMsg());
  } catch (const std::bad_alloc&) {
    w.fail("out of memory while reading: a malformed file" + reader_memory_note());
  }
  return f;
}

}  // namespace

void write_file(const std::string& path, const File& f) {
  silence_hdf5();
  for (const Case& c : f.cases) validate_case(c, f.kind, path);
  std::vector<uint8_t> image;
  try {
    image = file_image(path + ".in-memory", f);
  } catch (const H5::Exception& e) {
    throw GoldenError(path, "", "",
                      "HDF5 write failed: " + e.getDetailMsg() + "; nothing was written to disk, the old file (if any) is kept");
  }
  const std::string head = user_block_for(image);
  write_atomically(path, {reinterpret_cast<const uint8_t*>(head.data()), head.size()}, image);
}

File read_file(const std::string& path, const ReadOptions& opt) { return read_impl(path, opt, nullptr); }

File read_candidate(const std::string& path, const ReadOptions& opt, const File& golden) {
  return read_impl(path, opt, &golden);
}

}  // namespace mqa::golden
