// Validation helpers, regions clean-up, the worker pool and the fp8 -> double table shared by
// the paged and ragged references.
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <thread>

#include "logits_internal.hpp"
#include "mqa/validate.hpp"

namespace mqa {

const char* to_string(Profile p) { return p == Profile::exact ? "exact" : "deepgemm_sm90"; }

Profile profile_from_string(const std::string& s) {
  if (s == "exact") return Profile::exact;
  if (s == "deepgemm_sm90") return Profile::deepgemm_sm90;
  reject("profile", "'" + s + "'", "expected 'exact' or 'deepgemm_sm90'");
}

namespace {
std::atomic<int> g_threads{0};
}

void set_logits_threads(int threads) { g_threads.store(threads < 0 ? 0 : threads); }

int logits_threads() {
  const int t = g_threads.load();
  if (t > 0) return t;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

namespace logits_detail {

// The exactness argument of the fast path (numerics.md) holds for D <= 2^10 products per sum.
constexpr int32_t kMaxHeadDim = 1024;

void validate_heads_and_dim(int32_t heads, int32_t head_dim, Profile profile) {
  if (profile != Profile::exact && profile != Profile::deepgemm_sm90)
    reject("profile", int(profile), "unknown profile");
  if (heads < 1 || heads > 1024 || (heads & (heads - 1)) != 0)
    reject("heads", heads, "must be a power of two in [1, 1024] (the head sum is a pairwise tree)");
  if (profile == Profile::deepgemm_sm90 && heads % 8 != 0)
    reject("heads", heads, "the deepgemm_sm90 profile needs a multiple of 8 (groups of 8 heads)");
  if (head_dim < 1 || head_dim > kMaxHeadDim)
    reject("head_dim", head_dim, "must be in [1, 1024] (exact dot products are proven up to 2^10 terms)");
}

std::string float_text(float x) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", double(x));
  return buf;
}

void validate_scale(float s, const std::string& where) {
  if (!std::isfinite(s)) reject(where, float_text(s), "NaN/Inf scale of a token that the op reads");
}

void clean_outside_valid(const LogitsRegions& regions, float* out) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < regions.rows; ++r) {
    float* row = out + r * regions.row_stride;
    const RowRegion& g = regions.row[size_t(r)];
    for (int64_t c = 0; c < g.valid_begin; ++c) row[c] = ninf;
    for (int64_t c = g.valid_end; c < regions.cols; ++c) row[c] = ninf;
  }
}

void parallel_for(int64_t n, const std::function<void(int64_t, Scratch&)>& fn) {
  if (n <= 0) return;
  const int64_t workers = std::min<int64_t>(logits_threads(), n);
  std::atomic<int64_t> next{0};
  auto work = [&] {
    Scratch scratch;
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i, scratch);
  };
  if (workers == 1) return work();
  std::vector<std::thread> pool;
  pool.reserve(size_t(workers - 1));
  for (int64_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

namespace {
std::array<double, 256> make_table(Fp8Encoding e) {
  std::array<double, 256> t{};
  for (int c = 0; c < 256; ++c) t[size_t(c)] = double(fp8_decode(uint8_t(c), e));
  return t;
}
}  // namespace

const double* fp8_to_f64_table(Fp8Encoding e) {
  static const std::array<double, 256> fn = make_table(Fp8Encoding::e4m3fn);
  static const std::array<double, 256> fnuz = make_table(Fp8Encoding::e4m3fnuz);
  return e == Fp8Encoding::e4m3fn ? fn.data() : fnuz.data();
}

}  // namespace logits_detail
}  // namespace mqa
