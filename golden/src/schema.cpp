// The schema v1 dataset table (names, dtypes, roles, shapes in terms of the case attributes) and
// the checks every file goes through before it is written and after it is read.
#include <functional>
#include <sstream>

#include "case_ranges.hpp"
#include "golden_schema.hpp"

namespace mqa::golden {

GoldenError::GoldenError(std::string file, std::string case_name, std::string dataset, const std::string& why)
    : std::runtime_error([&] {
        std::string m;
        if (!file.empty()) m += file + ": ";
        if (!case_name.empty()) m += "case '" + case_name + "': ";
        if (!dataset.empty()) m += "dataset '" + dataset + "': ";
        return m + why;
      }()),
      file_(std::move(file)),
      case_(std::move(case_name)),
      dataset_(std::move(dataset)) {}

const char* to_string(DType t) {
  switch (t) {
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::f32: return "float32";
  }
  return "?";
}

int32_t size_of(DType t) {
  switch (t) {
    case DType::u8: return 1;
    case DType::u16: return 2;
    case DType::i32: case DType::f32: return 4;
    case DType::i64: return 8;
  }
  return 0;
}

const char* to_string(Role r) { return r == Role::input ? "input" : r == Role::output ? "output" : "meta"; }
const char* to_string(FileKind k) {
  return k == FileKind::golden ? "golden" : k == FileKind::candidate ? "candidate" : "input";
}

namespace {
// The output buffers an input file may hold (pre-filled with the case's sentinel; the kernel
// fills them and returns them whole). Every other output would hand the kernel its answer.
bool prefilled_buffer(const std::string& dataset, const CaseInfo& info) {
  return info.op == "quant_cache" ? dataset == "cache" : is_logits_op(info.op) && dataset == "logits";
}
}  // namespace

int64_t Array::elements() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

void Array::check_type(DType want) const {
  if (dtype != want)
    throw std::logic_error(std::string("golden::Array holds ") + to_string(dtype) + ", viewed as " + to_string(want));
}

void Array::check_size() const {
  for (int64_t s : shape)
    if (s < 0) throw std::logic_error("golden::Array: negative extent");
  if (int64_t(bytes.size()) != elements() * size_of(dtype))
    throw std::logic_error("golden::Array: " + std::to_string(bytes.size()) + " bytes for " +
                           std::to_string(elements()) + " elements of " + to_string(dtype));
}

const Array& Case::at(const std::string& dataset, const std::string& file) const {
  auto it = data.find(dataset);
  if (it == data.end()) throw GoldenError(file, name, dataset, "missing");
  return it->second;
}

const Case* File::find(const std::string& name) const {
  for (const Case& c : cases)
    if (c.name == name) return &c;
  return nullptr;
}

std::string shape_string(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << (s[i] < 0 ? std::string("*") : std::to_string(s[i]));
  return os.str() + ']';
}

namespace {

using Shape = std::vector<int64_t>;
constexpr int64_t kAny = -1;

Need when(bool required, bool allowed = true) { return required ? Need::required : allowed ? Need::optional : Need::absent; }

std::vector<DatasetSpec> make_specs() {
  auto D = [](const CaseInfo& i) { return int64_t(i.head_dim); };
  auto scale_row = [](const CaseInfo& i) { return i.quant_block > 0 ? 4 * int64_t(i.head_dim / i.quant_block) : kAny; };
  auto logits_op = [](const CaseInfo& i) { return is_logits_op(i.op); };
  auto source = [](const CaseInfo& i) { return when(i.cache_from_source, i.cache_from_source); };
  auto table = [](const CaseInfo& i) { return when(i.op != "quant_cache"); };
  auto gathered = [](const CaseInfo& i) { return when(i.op == "gather" || i.op == "ragged_logits"); };
  // dense [rows, logits_row_stride]; by regions [V], V checked against logits_regions (case_ranges.cpp)
  auto logits_shape = [](const CaseInfo& i) {
    return i.regions_storage() ? Shape{kAny} : Shape{i.rows, i.logits_row_stride};
  };
  return {
      {"k_source", DType::u16, "k_source", source, [=](const CaseInfo& i) { return Shape{kAny, D(i)}; }},
      {"slot_mapping", DType::i64, "", source, [](const CaseInfo&) { return Shape{kAny}; }},
      {"cache", DType::u8, "fp8", [](const CaseInfo&) { return Need::required; },
       [](const CaseInfo& i) { return Shape{kAny, i.page_stride}; }},
      {"page_ids", DType::i64, "", [](const CaseInfo&) { return Need::required; },
       [](const CaseInfo&) { return Shape{kAny}; }},
      {"block_table", DType::i32, "", table, [](const CaseInfo& i) { return Shape{i.batch, kAny}; }},
      {"context_lens", DType::i32, "", table,
       [](const CaseInfo& i) { return i.lens_2d ? Shape{i.batch, i.next_n} : Shape{i.batch}; }},
      {"gathered_values", DType::u8, "fp8", gathered,
       [=](const CaseInfo& i) { return Shape{i.op == "ragged_logits" ? i.logits_cols : kAny, D(i)}; }},
      {"gathered_scales", DType::u8, "", gathered,
       [=](const CaseInfo& i) { return Shape{i.op == "ragged_logits" ? i.logits_cols : kAny, scale_row(i)}; }},
      {"q", DType::u8, "fp8", [=](const CaseInfo& i) { return when(logits_op(i), logits_op(i)); },
       [=](const CaseInfo& i) {
         return i.op == "paged_logits" ? Shape{i.batch, i.next_n, i.heads, D(i)} : Shape{i.rows, i.heads, D(i)};
       }},
      {"weights", DType::f32, "", [=](const CaseInfo& i) { return when(logits_op(i), logits_op(i)); },
       [](const CaseInfo& i) { return Shape{i.rows, i.heads}; }},
      {"ks", DType::i32, "", [](const CaseInfo& i) { return when(i.op == "ragged_logits", i.op == "ragged_logits"); },
       [](const CaseInfo& i) { return Shape{i.rows}; }},
      {"ke", DType::i32, "", [](const CaseInfo& i) { return when(i.op == "ragged_logits", i.op == "ragged_logits"); },
       [](const CaseInfo& i) { return Shape{i.rows}; }},
      {"logits", DType::f32, "", [=](const CaseInfo& i) { return when(logits_op(i), logits_op(i)); }, logits_shape},
      {"logits_regions", DType::i64, "", [=](const CaseInfo& i) { return when(logits_op(i), logits_op(i)); },
       [](const CaseInfo& i) { return Shape{i.rows, 3}; }},
      {"topk", DType::i32, "", [=](const CaseInfo& i) { return when(logits_op(i), logits_op(i)); },
       [](const CaseInfo& i) { return Shape{i.rows, i.topk}; }},
      {"logits_bound_fp32", DType::f32, "", [=](const CaseInfo& i) { return when(false, logits_op(i)); }, logits_shape},
      {"logits_bound_fp8_mma", DType::f32, "", [=](const CaseInfo& i) { return when(false, logits_op(i)); },
       logits_shape},
      // candidates only, beside logits by regions: the floats outside the runs a kernel left
      // other than the implied value, (flat index, bits) (SCHEMA.md "Candidate files")
      {"logits_outside", DType::i64, "", [](const CaseInfo&) { return Need::absent; },
       [](const CaseInfo&) { return Shape{kAny, 2}; }},
  };
}

bool shape_matches(const Shape& want, const Shape& got) {
  if (want.size() != got.size()) return false;
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != kAny && want[i] != got[i]) return false;
  return true;
}

}  // namespace

bool is_logits_op(const std::string& op) { return op == "paged_logits" || op == "ragged_logits"; }

Role role_for(const std::string& dataset, const CaseInfo& info) {
  if (dataset == "page_ids" || dataset == "logits_regions" || dataset.rfind("logits_bound_", 0) == 0) return Role::meta;
  if (info.op == "quant_cache") return dataset == "cache" ? Role::output : Role::input;
  if (info.op == "gather") return dataset.rfind("gathered_", 0) == 0 ? Role::output : Role::input;
  return dataset == "logits" || dataset == "topk" ? Role::output : Role::input;
}

const std::vector<DatasetSpec>& dataset_specs() {
  static const std::vector<DatasetSpec> specs = make_specs();
  return specs;
}

const DatasetSpec* find_spec(const std::string& name) {
  for (const DatasetSpec& s : dataset_specs())
    if (s.name == name) return &s;
  return nullptr;
}

void validate_case(const Case& c, FileKind kind, const std::string& file) {
  auto fail = [&](const std::string& ds, const std::string& why) { throw GoldenError(file, c.name, ds, why); };
  const bool name_ok = !c.name.empty() && c.name != "." && c.name != ".." &&
                       c.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
                           std::string::npos;
  if (!name_ok) fail("", "invalid case name (letters, digits, '_', '.', '-' only)");
  const CaseInfo& i = c.info;
  if (kind != FileKind::candidate) check_case_attributes(i, file, c.name);  // the reader made them before reading too
  for (const auto& [name, a] : c.data) {
    const DatasetSpec* s = find_spec(name);
    if (!s) fail(name, "not a schema v1 dataset name");
    // k_source: uint16 with encoding bf16 or fp16, or float32 with encoding fp32 (its dtype)
    const bool source_f32 = s->encoding == "k_source" && a.dtype == DType::f32;
    if (a.dtype != s->dtype && !source_f32)
      fail(name, std::string("dtype ") + to_string(a.dtype) + ", expected " + to_string(s->dtype) +
                     (s->encoding == "k_source" ? " or float32" : ""));
    if (int64_t(a.bytes.size()) != a.elements() * size_of(a.dtype))
      fail(name, "holds " + std::to_string(a.bytes.size()) + " bytes for shape " + shape_string(a.shape));
    if (kind == FileKind::candidate) continue;  // shapes are checked against the golden case
    if (s->need(i) == Need::absent) fail(name, "not part of a " + i.op + " case");
    const Role want_role = role_for(name, i);
    if (kind == FileKind::input && want_role == Role::output && !prefilled_buffer(name, i))
      fail(name, "an input file holds no expected output (only the pre-filled buffer of the op)");
    if (a.role != want_role) fail(name, std::string("role ") + to_string(a.role) + ", expected " + to_string(want_role));
    const Shape want = s->shape(i);
    if (!shape_matches(want, a.shape)) fail(name, "shape " + shape_string(a.shape) + ", expected " + shape_string(want));
    if (s->encoding == "k_source") {
      const bool ok = source_f32 ? a.encoding == "fp32" : a.encoding == "bf16" || a.encoding == "fp16";
      if (!ok)
        fail(name, "attribute encoding = '" + a.encoding + "', expected " +
                       (source_f32 ? "'fp32' (float32 data)" : "'bf16' or 'fp16' (uint16 data)"));
    } else {
      const std::string enc = s->encoding == "fp8" ? i.encoding : s->encoding;
      if (a.encoding != enc) fail(name, "attribute encoding = '" + a.encoding + "', expected '" + enc + "'");
    }
    if (a.role == Role::output && a.compare.empty() && kind == FileKind::golden)
      fail(name, "output without a compare attribute");
  }
  if (kind == FileKind::candidate) {
    if (c.data.empty()) fail("", "candidate case holds no dataset");
    return;
  }
  for (const DatasetSpec& s : dataset_specs()) {
    const bool expected_output = role_for(s.name, i) == Role::output && !prefilled_buffer(s.name, i);
    if (s.need(i) == Need::required && !c.data.count(s.name) && !(kind == FileKind::input && expected_output))
      fail(s.name, "missing");
  }
  if (c.at("page_ids", file).shape[0] != c.at("cache", file).shape[0])
    fail("page_ids", "length differs from the pages stored in cache");
  auto gv = c.data.find("gathered_values"), gs = c.data.find("gathered_scales");
  if ((gv == c.data.end()) != (gs == c.data.end())) fail("gathered_scales", "stored without gathered_values or vice versa");
  if (gv != c.data.end() && gv->second.shape[0] != gs->second.shape[0])
    fail("gathered_scales", "rows differ from gathered_values rows");
  auto ksrc = c.data.find("k_source"), slots = c.data.find("slot_mapping");
  if (ksrc != c.data.end() && ksrc->second.shape[0] != slots->second.shape[0])
    fail("slot_mapping", "length differs from k_source rows");
  check_case_values(c, file);  // the indices point where they may (the shapes are the schema's by now)
}

}  // namespace mqa::golden
