// One-line text form of a CaseDescriptor: to_string and parse_case (exact round trip).
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <sstream>

#include "mqa/case.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace {

std::string quote(const std::string& s);

const char* const kOps[] = {"quant_cache", "gather", "paged_logits", "ragged_logits"};
const char* const kDists[] = {"friendly", "randn", "adversarial", "exact_dot"};
const char* const kRanges[] = {"causal", "random", "full"};
const char* const kKSources[] = {"bf16", "fp16", "fp32"};
const char* const kAmaxEdges[] = {"free", "at", "below", "above", "mix"};

std::string join(const std::vector<int32_t>& v, size_t row, char row_sep) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += (row && i % row == 0) ? row_sep : ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

template <class T>
T parse_int(const std::string& field, const std::string& v) {
  T x{};
  int base = 10;
  const char* b = v.data();
  const char* e = v.data() + v.size();
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) { base = 16; b += 2; }
  const auto r = std::from_chars(b, e, x, base);
  if (v.empty() || r.ec != std::errc() || r.ptr != e) reject(field, quote(v), "not an integer in range");
  return x;
}

bool parse_bool(const std::string& field, const std::string& v) {
  if (v == "0" || v == "false") return false;
  if (v == "1" || v == "true") return true;
  reject(field, quote(v), "expected 0 or 1");
}

// "[a,b|c,d]" -> values, and the number of values per '|'-separated row (0 when no '|').
std::vector<int32_t> parse_list(const std::string& field, const std::string& v, size_t* row_len) {
  if (v.size() < 2 || v.front() != '[' || v.back() != ']')
    reject(field, quote(v), "expected a list like [1,2,3] (rows separated by |)");
  std::vector<int32_t> out;
  size_t row = 0, this_row = 0;
  bool has_rows = false;
  std::string cur;
  auto flush = [&](char sep) {
    if (cur.empty() && !(out.empty() && sep == ']' && !has_rows)) reject(field, quote(v), "empty list element");
    if (!cur.empty()) { out.push_back(parse_int<int32_t>(field, cur)); ++this_row; }
    cur.clear();
    if (sep == '|' || (sep == ']' && has_rows)) {
      if (row == 0) row = this_row;
      else if (row != this_row) reject(field, quote(v), "rows of different lengths");
      this_row = 0;
    }
  };
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    const char c = v[i];
    if (c == ',') flush(',');
    else if (c == '|') { has_rows = true; flush('|'); }
    else cur += c;
  }
  flush(']');
  if (row_len) *row_len = has_rows ? row : 0;
  else if (has_rows) reject(field, quote(v), "rows ('|') are not allowed here");
  return out;
}

template <size_t N>
int lookup(const std::string& field, const std::string& v, const char* const (&names)[N]) {
  for (size_t i = 0; i < N; ++i)
    if (v == names[i]) return int(i);
  std::string all;
  for (size_t i = 0; i < N; ++i) all += (i ? ", " : "") + std::string(names[i]);
  reject(field, quote(v), "expected one of " + all);
}

// Quoted value for error messages (a function: g++ 12 warns falsely on "'" + s + "'" here).
std::string quote(const std::string& s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('\'');
  q.append(s);
  q.push_back('\'');
  return q;
}

std::string hex(uint64_t x) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(x));
  return buf;
}

}  // namespace

const char* to_string(CaseOp op) { return kOps[int(op)]; }
CaseOp case_op_from_string(const std::string& s) { return CaseOp(lookup("op", s, kOps)); }
const char* to_string(ValueDist d) { return kDists[int(d)]; }
ValueDist value_dist_from_string(const std::string& s) { return ValueDist(lookup("dist", s, kDists)); }
const char* to_string(KSource k) { return kKSources[int(k)]; }
KSource k_source_from_string(const std::string& s) { return KSource(lookup("ksrc", s, kKSources)); }
const char* to_string(AmaxEdge a) { return kAmaxEdges[int(a)]; }
AmaxEdge amax_edge_from_string(const std::string& s) { return AmaxEdge(lookup("amax", s, kAmaxEdges)); }

int32_t CaseDescriptor::batch() const {
  if (!lens_2d) return int32_t(lens.size());
  return next_n > 0 ? int32_t(lens.size()) / next_n : 0;
}

std::string to_string(const CaseDescriptor& d) {
  std::ostringstream o;
  o << "op=" << to_string(d.op) << " layout=" << to_string(d.layout) << " B=" << d.page_size
    << " D=" << d.head_dim << " Qb=" << d.quant_block << " H=" << d.heads << " next_n=" << d.next_n
    << " lens=" << (d.lens_2d ? "2d:" : "1d:") << join(d.lens, d.lens_2d ? size_t(d.next_n) : 0, '|');
  o << " pages=" << (d.pool_pages ? std::to_string(d.pool_pages) : "auto")
    << " stride=" << (d.page_stride ? std::to_string(d.page_stride) : "natural")
    << " max_blocks=" << (d.max_blocks ? std::to_string(d.max_blocks) : "auto");
  o << " table=" << (d.table.empty() ? "perm" : join(d.table, size_t(int64_t(d.max_blocks) + d.table_pad), '|'))
    << " tpad=" << d.table_pad << " pad_slots=" << d.pad_slots
    << " max_ctx=" << (d.max_context_len ? std::to_string(d.max_context_len) : "auto")
    << " out_pad=" << d.out_pad << " enc=" << to_string(d.encoding) << " quant=" << to_string(d.quant)
    << " ue8m0=" << int(d.ue8m0) << " profile=" << to_string(d.profile) << " clean=" << int(d.clean_logits)
    << " dist=" << to_string(d.dist) << " M=" << d.M << " ranges=";
  if (d.ranges == RangeGen::explicit_list) {
    o << '[';
    for (size_t i = 0; i < d.ks.size(); ++i) o << (i ? "," : "") << d.ks[i] << ':' << d.ke[i];
    o << ']';
  } else {
    o << kRanges[int(d.ranges)];
  }
  o << " topk=" << d.topk << " seed=" << hex(d.seed);
  // the value keys, only where they differ from the defaults (older lines print as they did)
  if (d.ksrc != KSource::bf16) o << " ksrc=" << to_string(d.ksrc);
  if (d.amax != AmaxEdge::free) o << " amax=" << to_string(d.amax);
  if (d.nan_codes) o << " nan_codes=1";
  if (d.odd_weights) o << " odd_weights=1";
  if (d.odd_scales) o << " odd_scales=1";
  return o.str();
}

std::ostream& operator<<(std::ostream& os, const CaseDescriptor& d) { return os << to_string(d); }

CaseDescriptor parse_case(const std::string& line) {
  CaseDescriptor d;
  std::map<std::string, std::string> kv;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) {
    const size_t eq = tok.find('=');
    if (eq == std::string::npos || eq == 0) reject("descriptor", quote(tok), "expected key=value");
    const std::string key = tok.substr(0, eq);
    if (!kv.emplace(key, tok.substr(eq + 1)).second) reject(key, quote(tok.substr(eq + 1)), "given twice");
  }
  auto take = [&](const char* key) -> const std::string* {
    const auto it = kv.find(key);
    return it == kv.end() ? nullptr : &it->second;
  };
  auto auto_int = [&](const char* key, const char* auto_word, auto& dst) {
    if (const std::string* v = take(key))
      dst = (*v == auto_word) ? 0 : parse_int<std::remove_reference_t<decltype(dst)>>(key, *v);
  };
  if (const auto* v = take("op")) d.op = case_op_from_string(*v);
  if (const auto* v = take("layout")) d.layout = page_layout_from_string(*v);
  if (const auto* v = take("B")) d.page_size = parse_int<int32_t>("B", *v);
  if (const auto* v = take("D")) d.head_dim = parse_int<int32_t>("D", *v);
  if (const auto* v = take("Qb")) d.quant_block = parse_int<int32_t>("Qb", *v);
  else d.quant_block = d.head_dim;
  if (const auto* v = take("H")) d.heads = parse_int<int32_t>("H", *v);
  if (const auto* v = take("next_n")) d.next_n = parse_int<int32_t>("next_n", *v);
  if (d.next_n < 1) reject("next_n", d.next_n, "must be >= 1");
  if (const auto* v = take("lens")) {
    const bool is2d = v->rfind("2d:", 0) == 0;
    if (!is2d && v->rfind("1d:", 0) != 0) reject("lens", quote(*v), "expected 1d:[...] or 2d:[...|...]");
    d.lens_2d = is2d;
    size_t row = 0;
    d.lens = parse_list("lens", v->substr(3), is2d ? &row : nullptr);
    if (is2d && !d.lens.empty() && row != size_t(d.next_n) && !(row == 0 && d.next_n == int32_t(d.lens.size())))
      reject("lens", quote(*v), "2d rows must have next_n = " + std::to_string(d.next_n) + " entries");
  }
  auto_int("pages", "auto", d.pool_pages);
  auto_int("stride", "natural", d.page_stride);
  auto_int("max_blocks", "auto", d.max_blocks);
  if (const auto* v = take("tpad")) d.table_pad = parse_int<int32_t>("tpad", *v);
  if (const auto* v = take("table"); v && *v != "perm") {
    size_t row = 0;
    d.table = parse_list("table", *v, &row);
    const int64_t want = int64_t(d.max_blocks) + d.table_pad;  // no int32 overflow at max_blocks = 2^31 - 1
    if (d.max_blocks == 0 || int64_t(row ? row : d.table.size()) != want)
      reject("table", quote(*v), "an explicit table needs max_blocks set and rows of max_blocks + tpad = " +
                                          std::to_string(want) + " entries");
  }
  if (const auto* v = take("pad_slots")) d.pad_slots = parse_int<int32_t>("pad_slots", *v);
  auto_int("max_ctx", "auto", d.max_context_len);
  if (const auto* v = take("out_pad")) d.out_pad = parse_int<int32_t>("out_pad", *v);
  if (const auto* v = take("enc")) d.encoding = fp8_encoding_from_string(*v);
  if (const auto* v = take("quant")) d.quant = quant_variant_from_string(*v);
  if (const auto* v = take("ue8m0")) d.ue8m0 = parse_bool("ue8m0", *v);
  if (const auto* v = take("profile")) d.profile = profile_from_string(*v);
  if (const auto* v = take("clean")) d.clean_logits = parse_bool("clean", *v);
  if (const auto* v = take("dist")) d.dist = value_dist_from_string(*v);
  if (const auto* v = take("M")) d.M = parse_int<int32_t>("M", *v);
  if (const auto* v = take("ranges")) {
    if (!v->empty() && v->front() == '[') {
      d.ranges = RangeGen::explicit_list;
      std::string flat = *v;
      for (char& c : flat) if (c == ':') c = ',';
      const std::vector<int32_t> pairs = parse_list("ranges", flat, nullptr);
      if (pairs.size() % 2) reject("ranges", quote(*v), "expected [ks:ke,...]");
      for (size_t i = 0; i < pairs.size(); i += 2) { d.ks.push_back(pairs[i]); d.ke.push_back(pairs[i + 1]); }
      if (d.M != int32_t(d.ks.size()))
        reject("ranges", quote(*v), "needs M = " + std::to_string(d.M) + " pairs, has " + std::to_string(d.ks.size()));
    } else {
      d.ranges = RangeGen(lookup("ranges", *v, kRanges));
    }
  }
  if (const auto* v = take("topk")) d.topk = parse_int<int32_t>("topk", *v);
  if (const auto* v = take("seed")) d.seed = parse_int<uint64_t>("seed", *v);
  if (const auto* v = take("ksrc")) d.ksrc = k_source_from_string(*v);
  if (const auto* v = take("amax")) d.amax = amax_edge_from_string(*v);
  if (const auto* v = take("nan_codes")) d.nan_codes = parse_bool("nan_codes", *v);
  if (const auto* v = take("odd_weights")) d.odd_weights = parse_bool("odd_weights", *v);
  if (const auto* v = take("odd_scales")) d.odd_scales = parse_bool("odd_scales", *v);
  for (const char* key : {"op", "layout", "B", "D", "Qb", "H", "next_n", "lens", "pages", "stride", "max_blocks",
                          "table", "tpad", "pad_slots", "max_ctx", "out_pad", "enc", "quant", "ue8m0", "profile",
                          "clean", "dist", "M", "ranges", "topk", "seed", "ksrc", "amax", "nan_codes",
                          "odd_weights", "odd_scales"})
    kv.erase(key);
  if (!kv.empty()) reject(kv.begin()->first, quote(kv.begin()->second), "unknown descriptor key");
  return d;
}

}  // namespace mqa
