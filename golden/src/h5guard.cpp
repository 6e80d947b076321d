// The reader's checks before HDF5 reads data (h5guard.hpp says what and why). HDF5's C API is
// used directly: these are questions about the file's structure that the C++ wrapper does not ask.
#include "h5guard.hpp"

#include <cstdlib>
#include <limits>

#include "golden_schema.hpp"

namespace mqa::golden {
namespace {

// The case limits of docs/design.md (cases/src/case_materialize.cpp): a case writes at most 2^26
// tokens and mixes in at most 2^20 padding slots, so k_source and slot_mapping have no more rows.
constexpr int64_t kMaxSourceRows = (int64_t(1) << 26) + (int64_t(1) << 20);
constexpr int kMaxRank = 8;                 // the schema's datasets have rank <= 4
constexpr int64_t kDeflateMaxRatio = 1032;  // zlib's bound: one output byte per 1032/1 input

[[noreturn]] void refuse(const GuardWhere& w, const std::string& why) {
  throw GoldenError(w.file, w.case_name, w.dataset, why);
}

std::string dims_string(const std::vector<int64_t>& dims) { return shape_string(dims); }

// MQA_CASE_BYTES_LIMIT, as the fuzzer reads it (a positive number of bytes; default 8 GiB).
int64_t case_bytes_limit() {
  const char* e = std::getenv("MQA_CASE_BYTES_LIMIT");
  if (!e) return int64_t(8) << 30;
  char* end = nullptr;
  const double v = std::strtod(e, &end);
  if (end == e || *end != '\0' || !(v > 0))
    throw GoldenError("", "", "",
                      std::string("MQA_CASE_BYTES_LIMIT = '") + e + "': must be a positive number of bytes");
  return v >= 9.2e18 ? std::numeric_limits<int64_t>::max() : int64_t(v);
}

// Closes an HDF5 id when it goes out of scope (these ids are read-only queries: nothing to flush).
struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Id() {
    if (id >= 0) close(id);
  }
};

struct LinkScan {
  std::string name, kind, target;
};

// H5Literate callback: stops (returns 1) at the first link that is not a hard link.
herr_t first_non_hard_link(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD) return 0;
  auto& scan = *static_cast<LinkScan*>(data);
  scan.name = name;
  scan.kind = info->type == H5L_TYPE_SOFT       ? "a soft link"
              : info->type == H5L_TYPE_EXTERNAL ? "an external link"
                                                : "a user-defined link (type " + std::to_string(int(info->type)) + ")";
  // The target, for the message; a link value is small (an object header message), but cap it.
  const size_t n = info->u.val_size;
  if (info->type != H5L_TYPE_SOFT && info->type != H5L_TYPE_EXTERNAL) return 1;
  if (n == 0 || n > 4096) return 1;
  std::string buf(n, '\0');
  if (H5Lget_val(group, name, buf.data(), n, H5P_DEFAULT) < 0) return 1;
  if (info->type == H5L_TYPE_SOFT) {
    scan.target = " to '" + std::string(buf.c_str()) + "'";
  } else {
    unsigned flags = 0;
    const char *file = nullptr, *path = nullptr;
    if (H5Lunpack_elink_val(buf.data(), n, &flags, &file, &path) >= 0 && file && path)
      scan.target = " to '" + std::string(file) + "' object '" + path + "'";
  }
  return 1;
}

}  // namespace

std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<int64_t> checked_product(const std::vector<int64_t>& dims) {
  std::optional<int64_t> n = 1;
  for (int64_t d : dims)
    if (!(n = checked_mul(*n, d))) return std::nullopt;
  return n;
}

void check_links(hid_t group, const std::string& group_path, const GuardWhere& w) {
  LinkScan scan;
  hsize_t idx = 0;
  const herr_t r = H5Literate(group, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, first_non_hard_link, &scan);
  if (r < 0) refuse(w, "cannot list the links of " + group_path + " (corrupt group?)");
  if (r == 0) return;
  GuardWhere at = w;
  if (!w.case_name.empty()) at.dataset = scan.name;
  refuse(at, "link '" + scan.name + "' in " + group_path + " is " + scan.kind + scan.target +
                 ": refused (schema v1 files hold hard links only; a link may lead the reader into another file)");
}

bool check_storage(hid_t dataset, const GuardWhere& w) {
  const Id dcpl{H5Dget_create_plist(dataset), H5Pclose};
  if (dcpl.id < 0) refuse(w, "cannot read the dataset's creation properties (corrupt header?)");
  if (H5Pget_layout(dcpl.id) == H5D_VIRTUAL)
    refuse(w,
           "is a virtual dataset (its data is mapped from other datasets or files): refused, the reader reads only "
           "the file it is given");
  const int external = H5Pget_external_count(dcpl.id);
  if (external != 0) {
    char name[1024] = {};
    off_t offset = 0;
    hsize_t size = 0;
    const bool named = external > 0 && H5Pget_external(dcpl.id, 0, sizeof name - 1, name, &offset, &size) >= 0;
    refuse(w, "is stored in " +
                  (named ? "the external file '" + std::string(name) + "'" : std::string("external files")) +
                  " (HDF5 external storage, " + std::to_string(external) +
                  " file(s)): refused, the reader reads only the file it is given");
  }
  const int nfilters = H5Pget_nfilters(dcpl.id);
  if (nfilters < 0) refuse(w, "cannot read the dataset's filter pipeline (corrupt header?)");
  int deflates = 0;
  for (int i = 0; i < nfilters; ++i) {
    unsigned flags = 0, config = 0;
    size_t nvalues = 0;
    char name[64] = {};
    const H5Z_filter_t id = H5Pget_filter2(dcpl.id, unsigned(i), &flags, &nvalues, nullptr, sizeof name, name, &config);
    deflates += id == H5Z_FILTER_DEFLATE;
    if ((id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE && id != H5Z_FILTER_FLETCHER32) || deflates > 1)
      refuse(w, "uses HDF5 filter " + std::to_string(int(id)) + " ('" + name +
                    "'): refused (schema v1 datasets use deflate once, shuffle and fletcher32 only; other filters load "
                    "plugins or expand without a known bound)");
  }
  return deflates > 0;
}

ElementBound bound_from_attributes(const std::string& dataset, const CaseInfo& info) {
  const DatasetSpec* spec = find_spec(dataset);
  if (!spec || spec->need(info) == Need::absent) return {};  // validate_case names what is wrong
  std::vector<int64_t> want = spec->shape(info), bound = want;
  std::string shown = "[";
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] < 0) {
      if (i == 0 && (dataset == "cache" || dataset == "page_ids"))
        bound[i] = info.num_pages;
      else if (i == 0 && (dataset == "k_source" || dataset == "slot_mapping"))
        bound[i] = kMaxSourceRows;
      else if (i == 0 && info.regions_storage() && (dataset == "logits" || dataset.rfind("logits_bound_", 0) == 0))
        bound[i] = checked_mul(info.rows, info.logits_cols).value_or(-1);  // runs lie in [0, logits_cols)
      else
        return {};  // an extent the attributes leave open: the budget bounds it
      shown += (i ? ", <=" : "<=") + std::to_string(bound[i]);
    } else {
      shown += (i ? ", " : "") + std::to_string(want[i]);
    }
    bound[i] = std::max<int64_t>(bound[i], 0);  // a negative attribute allows nothing
  }
  const std::optional<int64_t> n = checked_product(bound);
  if (!n) return {};
  return {*n, "its case attributes (shape " + shown + "], " + std::to_string(*n) + " elements)"};
}

ElementBound bound_from_golden(const Case* golden_case, const std::string& dataset) {
  if (!golden_case) return {};
  const CaseInfo& info = golden_case->info;
  // Against logits by regions a candidate may still answer densely, [rows, logits_row_stride];
  // its floats outside the runs are at most that buffer's floats, two int64 each.
  const std::optional<int64_t> dense = checked_mul(info.rows, info.logits_row_stride);
  if (dataset == "logits_outside" && dense && is_logits_op(info.op))
    return {checked_mul(*dense, 2).value_or(-1),
            "two per float of the golden's [rows, logits_row_stride] logits (" + std::to_string(*dense) + " floats)"};
  if (dataset == "logits" && dense && info.regions_storage())
    return {*dense, "the golden's [rows, logits_row_stride] logits (" + std::to_string(*dense) + " floats)"};
  auto it = golden_case->data.find(dataset);
  if (it == golden_case->data.end()) return {};
  return {it->second.elements(), "the golden dataset it answers (shape " + dims_string(it->second.shape) + ", " +
                                     std::to_string(it->second.elements()) + " elements)"};
}

std::vector<int64_t> check_declared_size(hid_t dataset, int64_t element_size, const ElementBound& bound, bool deflated,
                                         int64_t file_bytes, int64_t& case_bytes, const GuardWhere& w) {
  const Id space{H5Dget_space(dataset), H5Sclose};
  if (space.id < 0) refuse(w, "cannot read the dataspace (corrupt header?)");
  const H5S_class_t cls = H5Sget_simple_extent_type(space.id);
  if (cls != H5S_SIMPLE && cls != H5S_SCALAR) refuse(w, "has a null or unknown dataspace (no array to read)");
  const int rank = H5Sget_simple_extent_ndims(space.id);
  if (rank < 0 || rank > kMaxRank) refuse(w, "declares rank " + std::to_string(rank) + " (at most 8)");
  std::vector<hsize_t> raw(size_t(rank > 0 ? rank : 1));
  if (rank > 0 && H5Sget_simple_extent_dims(space.id, raw.data(), nullptr) != rank)
    refuse(w, "cannot read the dataspace dims");
  std::vector<int64_t> dims;
  for (int i = 0; i < rank; ++i) {
    if (raw[size_t(i)] > hsize_t(std::numeric_limits<int64_t>::max()))
      refuse(w, "declares extent " + std::to_string(raw[size_t(i)]) + " in dimension " + std::to_string(i) +
                    " (past int64)");
    dims.push_back(int64_t(raw[size_t(i)]));
  }
  const std::optional<int64_t> elements = checked_product(dims);
  const std::optional<int64_t> bytes = elements ? checked_mul(*elements, element_size) : std::nullopt;
  if (!bytes) refuse(w, "declares shape " + dims_string(dims) + ": its byte count overflows int64");
  if (bound.elements >= 0 && *elements > bound.elements)
    refuse(w, "declares shape " + dims_string(dims) + " (" + std::to_string(*elements) + " elements), more than " +
                  bound.from);
  const int64_t budget = case_bytes_limit();
  if (*bytes > budget || (case_bytes += *bytes) > budget)
    refuse(w, "declares shape " + dims_string(dims) + " (" + std::to_string(*bytes) + " bytes; " +
                  std::to_string(case_bytes) + " for the case so far), more than MQA_CASE_BYTES_LIMIT = " +
                  std::to_string(budget) + " bytes a case may hold");
  const hsize_t stored_raw = H5Dget_storage_size(dataset);
  const int64_t stored = stored_raw > hsize_t(std::numeric_limits<int64_t>::max()) ? -1 : int64_t(stored_raw);
  if (stored < 0 || stored > file_bytes)
    refuse(w, "claims " + std::to_string(stored_raw) + " bytes of storage, more than the whole file holds (" +
                  std::to_string(file_bytes) + " bytes)");
  const int64_t capacity = deflated ? checked_mul(stored, kDeflateMaxRatio).value_or(0) : stored;
  if (*bytes > capacity)
    refuse(w, "declares shape " + dims_string(dims) + " (" + std::to_string(*bytes) + " bytes) but stores " +
                  std::to_string(stored) + " bytes" + (deflated ? " deflated (at most 1032x that)" : "") +
                  ": the rest would be HDF5's fill value, or the dataspace is forged");
  return dims;
}

}  // namespace mqa::golden
