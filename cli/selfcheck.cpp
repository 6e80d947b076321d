// `mqa-harness selfcheck`: the reference against independent statements of its contract on the
// built-in edge suite (selfcheck.hpp says which), one mqa::Progress line per group and a summary table.
#include "selfcheck.hpp"

#include <cmath>
#include <cstring>
#include <functional>
#include <iomanip>
#include <ostream>
#include <string>
#include <vector>

#include "mqa/kcache.hpp"
#include "mqa/logits.hpp"
#include "mqa/philox.hpp"
#include "mqa/progress.hpp"
#include "mqa/validate.hpp"

namespace mqa {
namespace {

struct Row {
  std::string name;
  int64_t cases = 0, failures = 0;
  double seconds = 0;
  std::string first_failure;
};

// Runs one group of cases; each case returns "" on success or a description of the failure.
// With opt.progress (a terminal) the group's line (done/total, rate, ETA, failures) is rewritten in place.
Row run_group(std::ostream& out, const std::string& name, const std::vector<std::function<std::string()>>& cases,
              bool progress) {
  Row row{name, 0, 0, 0.0, ""};
  const ProgressOptions line{
      .label = "  " + name, .total = int64_t(cases.size()), .interval_s = 0.2, .rewrite = true, .enabled = progress};
  Progress p(out, line);
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string err = cases[i]();
    ++row.cases;
    if (!err.empty() && row.failures++ == 0) row.first_failure = err;
    p.update(int64_t(i + 1), "failures " + std::to_string(row.failures));
  }
  row.seconds = p.elapsed();
  p.finish("failures " + std::to_string(row.failures));
  return row;
}

std::vector<float> bf16_values(int64_t n, uint64_t seed, float amplitude) {
  const CounterRng rng{seed};
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = bf16_decode(bf16_encode((rng.unit(1, uint64_t(i)) - 0.5f) * amplitude));
  return v;
}

std::string codec_case(Fp8Encoding e) {
  for (int c = 0; c < 256; ++c) {
    const uint8_t code = uint8_t(c);
    const uint8_t back = fp8_encode(fp8_decode(code, e), e);
    if (fp8_is_nan(code, e) ? !fp8_is_nan(back, e) : back != code)
      return std::string(to_string(e)) + " code " + std::to_string(c) + " does not round-trip";
  }
  return "";
}

std::string layout_case(PageLayoutKind kind, int32_t B, int32_t D) {
  const PageLayout p{kind, B, D, D};
  std::vector<uint8_t> seen(size_t(p.natural_page_bytes()), 0);
  for (int32_t t = 0; t < B; ++t)
    for (int32_t d = 0; d < D; ++d) {
      const int64_t off = p.value_offset(t, d);
      // The spec's formula restated on purpose: an oracle independent of layout.hpp, not a second
      // addressing path (nothing reads the cache through it).
      const int64_t naive = kind == PageLayoutKind::standard
                                ? int64_t(t) * D + d
                                : (t / 16) * 16 * int64_t(D) + (d / 16) * 256 + (t % 16) * 16 + d % 16;
      const PageCoord c = p.locate(off);
      if (off != naive || seen[size_t(off)]++ || c.slot != t || c.index != d)
        return std::string(to_string(kind)) + " B=" + std::to_string(B) + " D=" + std::to_string(D) +
               ": (t=" + std::to_string(t) + ", d=" + std::to_string(d) + ") at " + std::to_string(off);
    }
  return "";
}

// One sequence of length L on pages drawn from a pool whose ids pass 65,536 (B=16, D=32 keeps
// such a pool small); quantise-and-cache, gather, compare with quantize_token; convert layout.
std::string write_gather_case(PageLayoutKind kind, int32_t B, int32_t D, int32_t L, bool high_ids, uint64_t seed) {
  const int64_t pages_needed = (L + B - 1) / B;
  const int64_t num_pages = high_ids ? 65536 + pages_needed + 2 : pages_needed + 3;
  const PagedCacheLayout layout{{kind, B, D, D}, PageLayout{kind, B, D, D}.natural_page_bytes(), num_pages};
  KCache cache(layout, 0xA5);
  std::vector<int32_t> table(size_t(pages_needed + 1), -1);
  for (int64_t i = 0; i < pages_needed; ++i) table[size_t(i)] = int32_t(num_pages - 1 - i);  // reversed: high ids first
  std::vector<int64_t> slots(static_cast<size_t>(L));
  for (int32_t s = 0; s < L; ++s) slots[size_t(s)] = int64_t(table[size_t(s / B)]) * B + s % B;
  const std::vector<float> k = bf16_values(int64_t(L) * D, seed, 8.0f);
  quantize_and_cache(k, slots, {}, cache.ref());
  const int32_t lens[] = {L};
  const BlockTableView view{table.data(), 1, int32_t(table.size()), int64_t(table.size())};
  const Gathered g = gather_k_cache(cache.view(), view, lens);
  std::vector<uint8_t> codes(static_cast<size_t>(D));
  float sc;
  for (int32_t r = 0; r < L; ++r) {
    quantize_token(k.data() + int64_t(r) * D, D, D, {}, codes.data(), &sc);
    if (std::memcmp(codes.data(), g.values.data() + int64_t(r) * D, size_t(D)) ||
        std::memcmp(&sc, g.scales.data() + 4 * int64_t(r), 4))
      return "gather row " + std::to_string(r) + " differs (B=" + std::to_string(B) + ", L=" + std::to_string(L) + ")";
  }
  const KCache other = convert_layout(cache, kind == PageLayoutKind::standard ? PageLayoutKind::preshuffle16
                                                                             : PageLayoutKind::standard);
  if (convert_layout(other, kind).bytes != cache.bytes) return "layout conversion is not an involution";
  return "";
}

// Paged logits, fast path against the naive oracle, bitwise, on one edge shape.
std::string logits_case(PageLayoutKind kind, int32_t B, int32_t next_n, int32_t H, int32_t D, int32_t L, uint64_t seed) {
  const int32_t batch = 2;
  const int32_t ctx[batch] = {L, L / 2 + next_n};
  const int64_t max_ctx = std::max(ctx[0], ctx[1]);
  const int32_t max_blocks = int32_t((max_ctx + B - 1) / B) + 1;
  const int64_t num_pages = int64_t(batch) * max_blocks;
  const PagedCacheLayout layout{{kind, B, D, D}, PageLayout{kind, B, D, D}.natural_page_bytes(), num_pages};
  KCache cache(layout, 0);
  std::vector<int32_t> table(size_t(batch * max_blocks));
  for (size_t i = 0; i < table.size(); ++i) table[i] = int32_t(table.size() - 1 - i);
  std::vector<int64_t> slots(size_t(num_pages * B));
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = int64_t(i);
  quantize_and_cache(bf16_values(int64_t(slots.size()) * D, seed, 4.0f), slots, {}, cache.ref());
  const CounterRng rng{seed};
  std::vector<uint8_t> q(size_t(batch) * next_n * H * D);
  for (size_t i = 0; i < q.size(); ++i) {
    q[i] = uint8_t(rng.u32(2, i));
    if (fp8_is_nan(q[i], Fp8Encoding::e4m3fn)) q[i] = 0x38;
  }
  std::vector<float> w(size_t(batch) * next_n * H);
  for (size_t i = 0; i < w.size(); ++i) w[i] = rng.unit(3, i) - 0.25f;
  PagedLogitsProblem p;
  p.cache = layout;
  p.cache_bytes = cache.bytes.data();
  p.q = q.data();
  p.batch = batch;
  p.next_n = next_n;
  p.heads = H;
  p.weights = w.data();
  p.context_lens = ctx;
  p.table = {table.data(), batch, max_blocks, max_blocks};
  p.max_context_len = int32_t(max_ctx);
  p.clean_logits = (seed & 1) != 0;
  const int64_t stride = (max_ctx + 255) / 256 * 256 + 256;
  std::vector<float> fast(size_t(batch * next_n * stride), f32_from_bits(0x7FA5A5A5u));
  std::vector<float> naive = fast;
  paged_mqa_logits(p, fast.data(), stride);
  paged_mqa_logits_naive(p, naive.data(), stride);
  for (size_t i = 0; i < fast.size(); ++i)
    if (f32_bits(fast[i]) != f32_bits(naive[i]))
      return "logits row " + std::to_string(i / size_t(stride)) + " col " + std::to_string(i % size_t(stride)) +
             ": fast " + std::to_string(fast[i]) + " naive " + std::to_string(naive[i]);
  return "";
}

}  // namespace

int run_selfcheck(std::ostream& out, const SelfcheckOptions& opt) {
  out << "mqa-harness selfcheck: the reference against its contract on the built-in edge suite\n";
  std::vector<Row> rows;

  rows.push_back(run_group(out, "fp8 codecs (256 codes)", {[] { return codec_case(Fp8Encoding::e4m3fn); },
                                                          [] { return codec_case(Fp8Encoding::e4m3fnuz); }}, opt.progress));

  std::vector<std::function<std::string()>> layouts;
  for (int32_t D : {32, 64, 128}) {
    layouts.push_back([D] { return layout_case(PageLayoutKind::standard, 1, D); });
    for (int32_t B = 16; B <= 512; B += opt.quick ? 112 : 16)
      for (PageLayoutKind k : {PageLayoutKind::standard, PageLayoutKind::preshuffle16})
        layouts.push_back([=] { return layout_case(k, B, D); });
  }
  rows.push_back(run_group(out, "layout bijection+inverse", layouts, opt.progress));

  std::vector<std::function<std::string()>> writes;
  uint64_t seed = 1;
  const std::vector<int32_t> page_sizes = opt.quick ? std::vector<int32_t>{16, 64} : std::vector<int32_t>{16, 32, 64, 128, 256};
  for (int32_t B : page_sizes)
    for (int32_t L : {0, 1, B - 1, B, B + 1, 255, 256, 257, 509})
      for (PageLayoutKind k : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
        // B=16, D=32 pages are 576 bytes: a pool past 65,536 pages is 38 MB, so two lengths suffice
        const bool high = B == 16 && (L == B + 1 || L == 509);
        const int32_t D = B == 16 ? 32 : 128;
        writes.push_back([=] { return write_gather_case(k, B, D, L, high, seed); });
        ++seed;
      }
  rows.push_back(run_group(out, "write->gather, convert", writes, opt.progress));

  std::vector<std::function<std::string()>> logits;
  for (int32_t B : {16, 64})
    for (int32_t L : {1, B - 1, B + 1, 256, 257})
      for (int32_t next_n : {1, 2})
        for (PageLayoutKind k : {PageLayoutKind::standard, PageLayoutKind::preshuffle16}) {
          const int32_t H = opt.quick ? 8 : 64;
          logits.push_back([=] { return logits_case(k, B, next_n, H, 128, L, seed); });
          ++seed;
        }
  logits.push_back([&] { return logits_case(PageLayoutKind::standard, 1, 1, 16, 64, 77, seed++); });
  rows.push_back(run_group(out, "paged logits fast==naive", logits, opt.progress));

  int failures = 0;
  out << "\n" << std::left << std::setw(30) << "check" << std::right << std::setw(8) << "cases" << std::setw(10)
      << "failures" << std::setw(10) << "seconds" << "\n" << std::string(58, '-') << "\n";
  for (const Row& r : rows) {
    out << std::left << std::setw(30) << r.name << std::right << std::setw(8) << r.cases << std::setw(10) << r.failures
        << std::setw(10) << std::fixed << std::setprecision(2) << r.seconds << "\n";
    failures += int(r.failures);
  }
  for (const Row& r : rows)
    if (r.failures) out << "FIRST FAILURE in " << r.name << ": " << r.first_failure << "\n";
  out << (failures ? "SELFCHECK FAILED" : "SELFCHECK PASSED: every case bit-exact") << "\n";
  return failures;
}

}  // namespace mqa
