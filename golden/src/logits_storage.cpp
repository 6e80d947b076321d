// Logits by regions (SCHEMA.md, logits_storage = regions): a case's logits held as the runs of
// its rows ([valid_begin, future_end)) with the rest implied, and the conversions from and to
// the dense [rows, logits_row_stride] buffer. The generator stores a case by regions when its
// dense logits pass 2^31 bytes (cases.cpp); the tests convert every stored case both ways.
#include <cstring>
#include <stdexcept>

#include "golden_schema.hpp"

namespace mqa::golden {
namespace {

constexpr uint32_t kNegInfBits = 0xFF800000u;

bool stored_like_logits(const std::string& name) { return name == "logits" || name.rfind("logits_bound_", 0) == 0; }

}  // namespace

uint32_t implied_logit_bits(const CaseInfo& i, int64_t c) {
  return i.clean_logits && c < i.logits_cols ? kNegInfBits : i.logits_sentinel;
}

std::vector<int64_t> regions_runs(const Case& c) {
  const auto rg = c.at("logits_regions").view<int64_t>();
  std::vector<int64_t> off{0};
  for (int64_t r = 0; r < c.info.rows; ++r) off.push_back(off.back() + rg[size_t(3 * r + 2)] - rg[size_t(3 * r)]);
  return off;
}

Case logits_by_regions(const Case& dense, int64_t row_stride) {
  const CaseInfo& i = dense.info;
  if (!is_logits_op(i.op) || i.regions_storage()) throw std::logic_error(dense.name + ": not a dense logits case");
  if (row_stride < i.logits_row_stride) throw std::logic_error(dense.name + ": a row stride below the dense one");
  const auto rg = dense.at("logits_regions").view<int64_t>();
  const std::vector<int64_t> off = regions_runs(dense);
  const int64_t S = i.logits_row_stride;
  Case out = dense;
  out.info.logits_storage = "regions";
  out.info.logits_row_stride = row_stride;
  for (auto& [name, a] : out.data) {
    if (!stored_like_logits(name)) continue;
    const auto v = dense.at(name).view<float>();
    std::vector<float> runs(size_t(off.back()));
    for (int64_t r = 0; r < i.rows; ++r)
      for (int64_t col = 0; col < S; ++col) {
        const float x = v[size_t(r * S + col)];
        if (col >= rg[size_t(3 * r)] && col < rg[size_t(3 * r + 2)]) {
          runs[size_t(off[size_t(r)] + col - rg[size_t(3 * r)])] = x;
          continue;
        }
        uint32_t bits;
        std::memcpy(&bits, &x, 4);
        const uint32_t want = name == "logits" ? implied_logit_bits(i, col) : 0u;
        if (bits != want)
          throw std::logic_error(dense.name + "/" + name + ": row " + std::to_string(r) + " column " +
                                 std::to_string(col) + " is outside the runs and not the implied value");
      }
    a = Array::of<float>({off.back()}, std::span<const float>(runs), a.role, a.encoding, a.compare);
  }
  return out;
}

Case logits_dense(const Case& c) {
  const CaseInfo& i = c.info;
  if (!i.regions_storage()) throw std::logic_error(c.name + ": not a case by regions");
  const auto rg = c.at("logits_regions").view<int64_t>();
  const std::vector<int64_t> off = regions_runs(c);
  const int64_t S = i.logits_row_stride;
  Case out = c;
  out.info.logits_storage = "dense";
  for (auto& [name, a] : out.data) {
    if (!stored_like_logits(name)) continue;
    const auto runs = c.at(name).view<float>();
    std::vector<uint32_t> d(size_t(i.rows * S));
    for (int64_t r = 0; r < i.rows; ++r)
      for (int64_t col = 0; col < S; ++col) {
        const int64_t vb = rg[size_t(3 * r)];
        uint32_t bits = name == "logits" ? implied_logit_bits(i, col) : 0u;
        if (col >= vb && col < rg[size_t(3 * r + 2)]) std::memcpy(&bits, &runs[size_t(off[size_t(r)] + col - vb)], 4);
        d[size_t(r * S + col)] = bits;
      }
    a.shape = {i.rows, S};
    a.bytes.resize(d.size() * 4);
    std::memcpy(a.bytes.data(), d.data(), a.bytes.size());
  }
  return out;
}

}  // namespace mqa::golden
