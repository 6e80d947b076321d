// Goldens with teeth (issue 11, item 5): a golden case is worth storing only if a plausible
// wrong kernel changes its expected outputs. A `Kernel` is the contract with knobs turned: each
// knob is a wrong (or merely different) way to implement one step that upstream kernels have
// taken. `recompute` runs such a kernel on the STORED inputs of a golden case, independently of
// the reference (its own dot products, epilogues, top-k, quantisation, gather and addressing;
// only the fp8 codecs and the layout functions of layout.hpp, the one addressing library, are
// shared), and returns what it would write for every dataset the case judges. With no knob
// turned it must give the stored bytes exactly (test_golden_teeth.cpp checks that first).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mqa/golden.hpp"
#include "mqa/quant.hpp"

namespace mqa::teeth {

// How the H head terms and the k scale become a logit.
enum class Epilogue : uint8_t {
  profile,            // the case's own profile (exact: pairwise tree; deepgemm_sm90: its fma order)
  exact,              // the exact profile's pairwise tree, whatever the case's profile
  deepgemm_sm90,      // DeepGEMM SM90's order (H % 8 == 0), whatever the case's profile
  sequential,         // t = t_0; t = RN(t + t_h) for h = 1..H-1; RN(t * kscale)
  fp64,               // relu, weights, head sum and scale in double, one rounding at the end
  kscale_in_weights,  // w'_h = RN(w_h * kscale), logit = tree of RN(relu(a_h) * w'_h)
};

// How the top-k consumer orders a row.
enum class TopkRule : uint8_t {
  contract,               // larger first, ties by smaller index, -0 == +0, NaN above +inf
  ties_by_larger_index,   // equal values by LARGER index (golden verify's topk_set accepts this)
  boundary_ties_dropped,  // a tie across the k-th place: only the strictly larger ones, -1 padded
  nan_lowest,             // NaN below -inf (a comparison-based selection)
};

// How the ue8m0 scale is rounded up to a power of two.
enum class Ue8m0Rounding : uint8_t {
  variant,  // what the variant does (exact: on the bits; vllm/aiter/sglang: exp2f(ceilf(log2f)))
  bits,     // exponent + (mantissa != 0): exact for every input
  libm,     // exp2f(ceilf(log2f(sc))): log2f rounds 2^e * (1 + 2^-23) down to e
  nearest,  // exp2f(rintf(log2f(sc))): to the NEAREST power of two, not up
};

struct Kernel {
  // logits: dot products
  bool dot_fp32_d_order = false;  // a_h = fp32 sum over d = 0..D-1 of the exact products
  bool nan_code_as_zero = false;  // an fp8 NaN code of q or k decodes as 0
  // logits: epilogue
  Epilogue epilogue = Epilogue::profile;
  bool relu_fmaxf = false;            // relu(NaN) = 0 (fmaxf) in the exact profile too
  bool skip_inactive_heads = false;   // `if (a > 0) acc += a * w`: no 0*inf, no 0*NaN, no -0 term
  bool weights_nan_to_num = false;    // NaN weight -> 0, +-inf -> +-FLT_MAX before use
  bool scale_nan_to_num = false;      // the same for k scales, in the logits and in the gather
  bool neg_zero_written_as_pos = false;
  // logits: where the values land
  bool rows_past_batch_64_lost = false;  // aiter#1815: the wrong stride past batch 64 writes out of bounds
  bool output_offsets_32bit = false;     // aiter#4244: byte offset of a logit in 32 bits
  // every op: cache addressing
  bool cache_offsets_32bit = false;      // vllm#46222: byte offset page*stride + in_page in 32 bits
  // top-k
  TopkRule topk = TopkRule::contract;
  // quantise-and-cache (every case whose cache comes from k_source)
  std::optional<QuantVariant> quant;  // nullopt: the case's own
  std::optional<bool> ue8m0;          // nullopt: the case's own
  Ue8m0Rounding ue8m0_rounding = Ue8m0Rounding::variant;
  bool scale_by_reciprocal = false;     // sc = amax * RN(1/FMAX) instead of amax / FMAX
  bool quantise_by_reciprocal = false;  // code = sat(k * RN(1/sc)) instead of k / sc

  bool touches_logits() const;
  bool touches_cache() const;
  bool touches_gather() const;
};

struct Perturbation {
  std::string name;       // what the wrong kernel does
  std::string bug_class;  // the row of issue 11's table (or "contract") it stands for
  Kernel kernel;
};

// The perturbations the corpus is measured against, in table order.
std::vector<Perturbation> perturbations();

// Per logits row r, the head dot products a[h] of every token of its valid region (rows
// concatenated: row r's tokens start at token_begin[r]) and each token's k scale, as one choice
// of the dot-product knobs computes them.
struct Dots {
  std::vector<int64_t> token_begin;  // [rows + 1]
  std::vector<float> a;              // [tokens, H]
  std::vector<float> kscale;         // [tokens]
};

// What a Kernel writes for one golden case, for every dataset of the case with a `compare`
// attribute that the kernel's knobs can change (all of them for Kernel{}): name -> array of the
// stored dtype and shape. Reads only the stored inputs; keeps the dot products of each choice
// of dot knobs for the next kernel.
class Recomputer {
 public:
  explicit Recomputer(const golden::Case& c) : c_(c) {}
  std::map<std::string, golden::Array> run(const Kernel& k);

 private:
  const Dots& dots(const Kernel& k);
  const golden::Case& c_;
  std::map<int, Dots> dots_;
};

// The datasets of `recomputed` whose bytes differ from `c`'s, in name order.
std::vector<std::string> changed_datasets(const golden::Case& c, const std::map<std::string, golden::Array>& recomputed);

// ---- shared by the implementation files (teeth_cache.cpp, teeth_logits.cpp) ----

// The stored pool: pages `page_ids` of [P, page_stride] bytes; every other page reads as zero
// (as the harness's sparse pools and mqa_golden's memmaps do) and takes no write.
class StoredPool {
 public:
  // fill: every stored byte holds it (the pool before a write) instead of the stored bytes.
  explicit StoredPool(const golden::Case& c, std::optional<uint8_t> fill = std::nullopt);
  uint8_t read(int64_t byte) const;
  void write(int64_t byte, uint8_t v);
  float read_f32(int64_t byte) const;
  void write_f32(int64_t byte, float v);
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  int64_t page_stride() const { return stride_; }

 private:
  int64_t row_of(int64_t byte) const;  // -1: not a stored page
  std::vector<int64_t> ids_;            // sorted page ids
  std::vector<int64_t> rows_;           // their rows in bytes_
  std::vector<uint8_t> bytes_;
  int64_t stride_ = 0;
};

// What nan_to_num does to a weight or a k scale: NaN -> 0, +-inf -> +-FLT_MAX.
float nan_to_num(float x);

// The byte offset a kernel computes: the true one, or its low 32 bits as an unsigned int.
int64_t kernel_offset(int64_t true_offset, bool offsets_32bit);

std::map<std::string, golden::Array> recompute_cache(const golden::Case& c, const Kernel& k);
std::map<std::string, golden::Array> recompute_gather(const golden::Case& c, const Kernel& k);
Dots compute_dots(const golden::Case& c, const Kernel& k);  // uses the dot and addressing knobs
std::map<std::string, golden::Array> recompute_logits(const golden::Case& c, const Dots& dots, const Kernel& k);

}  // namespace mqa::teeth
