// The wrong kernels the golden corpus is measured against (issue 11, item 5, and the bug classes
// of its table), and the Recomputer that runs one of them on a stored case.
#include <cfloat>
#include <cmath>
#include <stdexcept>

#include "teeth.hpp"

namespace mqa::teeth {

bool Kernel::touches_logits() const {
  return dot_fp32_d_order || nan_code_as_zero || epilogue != Epilogue::profile || relu_fmaxf || skip_inactive_heads ||
         weights_nan_to_num || scale_nan_to_num || neg_zero_written_as_pos || rows_past_batch_64_lost ||
         output_offsets_32bit || cache_offsets_32bit || topk != TopkRule::contract;
}

bool Kernel::touches_cache() const {
  return quant || ue8m0 || ue8m0_rounding != Ue8m0Rounding::variant || scale_by_reciprocal || quantise_by_reciprocal ||
         cache_offsets_32bit;
}

// A kernel that sanitises the k scales it reads does so in its gather too: there (gather copies
// bytes, numerics.md) every scale is defined, NaN and inf included, while the logits ops reject a
// non-finite scale that some row reads, so only the gathered bytes can show it.
bool Kernel::touches_gather() const { return cache_offsets_32bit || scale_nan_to_num; }

float nan_to_num(float x) {
  if (std::isnan(x)) return 0.0f;
  if (std::isinf(x)) return std::copysign(FLT_MAX, x);
  return x;
}

namespace {

const char* const kContractEpilogue = "contract: the epilogue";
const char* const kNonFinite = "NaN codes, non-finite weights or scales";
const char* const kScaleRounding = "rounding of the scale near a power of two";

Perturbation make(std::string name, std::string bug_class, void (*set)(Kernel&)) {
  Perturbation p{std::move(name), std::move(bug_class), Kernel{}};
  set(p.kernel);
  return p;
}

}  // namespace

std::vector<Perturbation> perturbations() {
  std::vector<Perturbation> p = {
      make("profile: exact instead of deepgemm_sm90", kContractEpilogue,
           [](Kernel& k) { k.epilogue = Epilogue::exact; }),
      make("profile: deepgemm_sm90 instead of exact", kContractEpilogue,
           [](Kernel& k) { k.epilogue = Epilogue::deepgemm_sm90; }),
      make("epilogue: sequential head sum", kContractEpilogue, [](Kernel& k) { k.epilogue = Epilogue::sequential; }),
      make("epilogue: fp64, one rounding", kContractEpilogue, [](Kernel& k) { k.epilogue = Epilogue::fp64; }),
      make("epilogue: kscale folded into the weights", kContractEpilogue,
           [](Kernel& k) { k.epilogue = Epilogue::kscale_in_weights; }),
      make("dot: fp32 q.k accumulated in d order", "contract: the dot product",
           [](Kernel& k) { k.dot_fp32_d_order = true; }),
      make("relu: fmaxf (NaN -> 0) in the exact profile", kNonFinite, [](Kernel& k) { k.relu_fmaxf = true; }),
      make("NaN fp8 code decoded as 0", kNonFinite, [](Kernel& k) { k.nan_code_as_zero = true; }),
      make("inactive heads skipped (if a > 0: acc += a*w)", kNonFinite,
           [](Kernel& k) { k.skip_inactive_heads = true; }),
      make("non-finite weights replaced (nan_to_num)", kNonFinite, [](Kernel& k) { k.weights_nan_to_num = true; }),
      make("non-finite k scales replaced (nan_to_num)", kNonFinite, [](Kernel& k) { k.scale_nan_to_num = true; }),
      make("-0 logit written as +0", "a -0 logit turned +0", [](Kernel& k) { k.neg_zero_written_as_pos = true; }),
      make("rows of batch >= 64 written out of bounds", "output row stride wrong past batch 64",
           [](Kernel& k) { k.rows_past_batch_64_lost = true; }),
      make("32-bit output byte offsets", "32-bit output store offset",
           [](Kernel& k) { k.output_offsets_32bit = true; }),
      make("32-bit cache byte offsets (read and write)", "int32 overflow in cache insert / gather",
           [](Kernel& k) { k.cache_offsets_32bit = true; }),
  };
  const QuantVariant variants[] = {QuantVariant::exact, QuantVariant::vllm, QuantVariant::aiter, QuantVariant::sglang};
  const char* names[] = {"exact", "vllm", "aiter", "sglang"};
  for (int v = 0; v < 4; ++v)
    for (bool u : {false, true}) {
      Perturbation q{std::string("quant=") + names[v] + " ue8m0=" + (u ? "1" : "0") + " instead of the case's",
                     kScaleRounding, Kernel{}};
      q.kernel.quant = variants[v];
      q.kernel.ue8m0 = u;
      p.push_back(q);
    }
  p.push_back(make("ue8m0 by exp2f(ceilf(log2f(sc))) (the case's variant)", kScaleRounding,
                   [](Kernel& k) { k.ue8m0_rounding = Ue8m0Rounding::libm; }));
  p.push_back(make("ue8m0 rounded on the bits (the case's variant)", kScaleRounding,
                   [](Kernel& k) { k.ue8m0_rounding = Ue8m0Rounding::bits; }));
  p.push_back(make("ue8m0 to the nearest power of two", kScaleRounding,
                   [](Kernel& k) { k.ue8m0_rounding = Ue8m0Rounding::nearest; }));
  p.push_back(make("scale = amax * RN(1/FMAX)", kScaleRounding, [](Kernel& k) { k.scale_by_reciprocal = true; }));
  p.push_back(make("code = sat(k * RN(1/sc))", kScaleRounding, [](Kernel& k) { k.quantise_by_reciprocal = true; }));
  p.push_back(make("top-k: ties by larger index (topk_set accepts it)", "top-k ties",
                   [](Kernel& k) { k.topk = TopkRule::ties_by_larger_index; }));
  p.push_back(make("top-k: a tie across the k-th place dropped", "top-k ties",
                   [](Kernel& k) { k.topk = TopkRule::boundary_ties_dropped; }));
  p.push_back(make("top-k: NaN ranked below -inf", kNonFinite, [](Kernel& k) { k.topk = TopkRule::nan_lowest; }));
  return p;
}

const Dots& Recomputer::dots(const Kernel& k) {
  const int key = int(k.dot_fp32_d_order) | int(k.nan_code_as_zero) << 1 | int(k.cache_offsets_32bit) << 2;
  auto it = dots_.find(key);
  if (it == dots_.end()) it = dots_.emplace(key, compute_dots(c_, k)).first;
  return it->second;
}

std::map<std::string, golden::Array> Recomputer::run(const Kernel& k) {
  // DeepGEMM's order exists for groups of 8 heads only: such a kernel refuses the other cases,
  // and a case it cannot run cannot tell it apart.
  if (k.epilogue == Epilogue::deepgemm_sm90 && c_.info.heads % 8 != 0) return {};
  const bool all = !k.touches_logits() && !k.touches_cache() && !k.touches_gather();
  std::map<std::string, golden::Array> out;
  if (all || k.touches_cache()) out.merge(recompute_cache(c_, k));
  if (all || k.touches_gather()) out.merge(recompute_gather(c_, k));
  if ((all || k.touches_logits()) && (c_.info.op == "paged_logits" || c_.info.op == "ragged_logits"))
    out.merge(recompute_logits(c_, dots(k), k));
  return out;
}

std::vector<std::string> changed_datasets(const golden::Case& c, const std::map<std::string, golden::Array>& recomputed) {
  std::vector<std::string> changed;
  for (const auto& [name, a] : recomputed) {
    if (!c.data.count(name)) {  // what the stored form cannot hold (floats written outside the runs)
      changed.push_back(name);
      continue;
    }
    const golden::Array& s = c.at(name);
    if (a.dtype != s.dtype || a.shape != s.shape) throw std::logic_error(c.name + "/" + name + ": recomputed shape differs");
    if (a.bytes != s.bytes) changed.push_back(name);
  }
  return changed;
}

}  // namespace mqa::teeth
