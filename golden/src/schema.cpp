// The schema v1 dataset table (names, dtypes, roles, shapes in terms of the case attributes) and
// the checks every file goes through before it is written and after it is read.
#include <functional>
#include <sstream>

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
const char* to_string(FileKind k) { return k == FileKind::golden ? "golden" : "candidate"; }

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

std::vector<DatasetSpec> make_specs() {
  auto D = [](const CaseInfo& i) { return int64_t(i.head_dim); };
  auto scale_row = [](const CaseInfo& i) { return i.quant_block > 0 ? 4 * int64_t(i.head_dim / i.quant_block) : kAny; };
  return {
      {"k_source", DType::u16, Role::input, "bf16", "", true, [=](const CaseInfo& i) { return Shape{kAny, D(i)}; }},
      {"slot_mapping", DType::i64, Role::input, "", "", true, [](const CaseInfo&) { return Shape{kAny}; }},
      {"cache", DType::u8, Role::output, "fp8", "bitwise", true,
       [](const CaseInfo& i) { return Shape{i.num_pages, i.page_stride}; }},
      {"block_table", DType::i32, Role::input, "", "", true,
       [](const CaseInfo& i) { return Shape{i.batch, kAny}; }},
      {"context_lens", DType::i32, Role::input, "", "", true,
       [](const CaseInfo& i) {
         if (i.op == "paged_logits" && i.lens_2d) return Shape{i.batch, i.next_n};
         return Shape{i.batch};
       }},
      {"gathered_values", DType::u8, Role::output, "fp8", "bitwise", true,
       [=](const CaseInfo& i) { return Shape{i.op == "ragged_logits" ? i.logits_cols : kAny, D(i)}; }},
      {"gathered_scales", DType::u8, Role::output, "", "bitwise", true,
       [=](const CaseInfo& i) { return Shape{i.op == "ragged_logits" ? i.logits_cols : kAny, scale_row(i)}; }},
      {"q", DType::u8, Role::input, "fp8", "", true,
       [=](const CaseInfo& i) {
         if (i.op == "paged_logits") return Shape{i.batch, i.next_n, i.heads, D(i)};
         return Shape{i.rows, i.heads, D(i)};
       }},
      {"weights", DType::f32, Role::input, "", "", true, [](const CaseInfo& i) { return Shape{i.rows, i.heads}; }},
      {"ks", DType::i32, Role::input, "", "", false, [](const CaseInfo& i) { return Shape{i.rows}; }},
      {"ke", DType::i32, Role::input, "", "", false, [](const CaseInfo& i) { return Shape{i.rows}; }},
      {"logits", DType::f32, Role::output, "", "bitwise", true,
       [](const CaseInfo& i) { return Shape{i.rows, i.logits_row_stride}; }},
      {"logits_regions", DType::i64, Role::meta, "", "", true, [](const CaseInfo& i) { return Shape{i.rows, 3}; }},
      {"topk", DType::i32, Role::output, "", "topk_set", true, [](const CaseInfo& i) { return Shape{i.rows, i.topk}; }},
  };
}

bool shape_matches(const Shape& want, const Shape& got) {
  if (want.size() != got.size()) return false;
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != kAny && want[i] != got[i]) return false;
  return true;
}

}  // namespace

const std::vector<DatasetSpec>& dataset_specs() {
  static const std::vector<DatasetSpec> specs = make_specs();
  return specs;
}

const DatasetSpec* find_spec(const std::string& name) {
  for (const DatasetSpec& s : dataset_specs())
    if (s.name == name) return &s;
  return nullptr;
}

bool spec_applies(const DatasetSpec& s, const std::string& op) {
  if (s.name == "ks" || s.name == "ke") return op == "ragged_logits";
  return true;
}

void validate_case(const Case& c, FileKind kind, const std::string& file) {
  auto fail = [&](const std::string& ds, const std::string& why) { throw GoldenError(file, c.name, ds, why); };
  if (c.name.empty() || c.name.find('/') != std::string::npos || c.name == "." || c.name == "..")
    fail("", "invalid case name (must be non-empty, without '/')");
  const CaseInfo& i = c.info;
  if (kind == FileKind::golden) {
    if (i.op != "paged_logits" && i.op != "ragged_logits")
      fail("", "attribute op = '" + i.op + "': expected paged_logits or ragged_logits");
    if (i.encoding != "e4m3fn" && i.encoding != "e4m3fnuz")
      fail("", "attribute encoding = '" + i.encoding + "': expected e4m3fn or e4m3fnuz");
    if (i.layout != "standard" && i.layout != "preshuffle16")
      fail("", "attribute layout = '" + i.layout + "': expected standard or preshuffle16");
  }
  for (const auto& [name, a] : c.data) {
    const DatasetSpec* s = find_spec(name);
    if (!s) fail(name, "not a schema v1 dataset name");
    if (kind == FileKind::candidate && s->role != Role::output)
      fail(name, std::string("a candidate holds only outputs; this is an ") + to_string(s->role));
    if (a.dtype != s->dtype)
      fail(name, std::string("dtype ") + to_string(a.dtype) + ", expected " + to_string(s->dtype));
    if (kind == FileKind::golden) {
      if (a.role != s->role) fail(name, std::string("role ") + to_string(a.role) + ", expected " + to_string(s->role));
      const Shape want = s->shape(i);
      if (!shape_matches(want, a.shape))
        fail(name, "shape " + shape_string(a.shape) + ", expected " + shape_string(want));
      const std::string enc = s->encoding == "fp8" ? i.encoding : s->encoding;
      if (a.encoding != enc) fail(name, "attribute encoding = '" + a.encoding + "', expected '" + enc + "'");
      if (s->role == Role::output && a.compare.empty()) fail(name, "output without a compare attribute");
    }
    if (int64_t(a.bytes.size()) != a.elements() * size_of(a.dtype))
      fail(name, "holds " + std::to_string(a.bytes.size()) + " bytes for shape " + shape_string(a.shape));
  }
  if (kind == FileKind::golden) {
    for (const DatasetSpec& s : dataset_specs())
      if (s.required_in_golden && spec_applies(s, i.op) && !c.data.count(s.name)) fail(s.name, "missing");
    if (i.op == "ragged_logits")
      for (const char* n : {"ks", "ke"})
        if (!c.data.count(n)) fail(n, "missing");
    const auto& gv = c.at("gathered_values", file);
    const auto& gs = c.at("gathered_scales", file);
    if (gv.shape[0] != gs.shape[0])
      fail("gathered_scales", "rows " + std::to_string(gs.shape[0]) + " != gathered_values rows " +
                                  std::to_string(gv.shape[0]));
    if (c.at("k_source", file).shape[0] != c.at("slot_mapping", file).shape[0])
      fail("slot_mapping", "length differs from k_source rows");
  } else if (c.data.empty()) {
    fail("", "candidate case holds no output dataset");
  }
}

}  // namespace mqa::golden
