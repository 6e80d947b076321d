// Targeted campaigns: checking GenOptions' constraints, the ops they leave, the kernel-visible
// shapes they can draw, and narrowing them to the shapes a kernel supports.
#include <algorithm>
#include <set>
#include <sstream>

#include "case_constraints.hpp"
#include "mqa/case_tiers.hpp"
#include "mqa/validate.hpp"

namespace mqa {

namespace gen {

namespace {

constexpr CaseOp kAllOps[] = {CaseOp::quant_cache, CaseOp::gather, CaseOp::paged_logits, CaseOp::ragged_logits};
constexpr PageLayoutKind kAllLayouts[] = {PageLayoutKind::standard, PageLayoutKind::preshuffle16};

bool is_logits(CaseOp op) { return op == CaseOp::paged_logits || op == CaseOp::ragged_logits; }

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

template <class T, class F>
std::string join(const std::vector<T>& v, F&& name) {
  std::string s;
  for (const T& x : v) {
    if (!s.empty()) s += ',';
    s += name(x);
  }
  return s;
}
std::string join_ints(const std::vector<int32_t>& v) {
  return join(v, [](int32_t x) { return std::to_string(x); });
}
std::string join_profiles(const std::vector<Profile>& v) {
  return join(v, [](Profile p) { return to_string(p); });
}

void check_each(const char* option, const std::vector<int32_t>& v, bool (*ok)(int32_t), const char* why) {
  for (int32_t x : v)
    if (!ok(x)) reject(option, x, why);
}

// Why op cannot be drawn under opt ("" when it can).
std::string why_not(CaseOp op, const GenOptions& opt, const DrawSets& s) {
  if (s.need8 && !is_logits(op))
    return std::string(to_string(op)) + " takes no profile, and --profile " + join_profiles(opt.profiles) +
           " leaves out exact";
  if (!opt.next_n.empty() && op != CaseOp::paged_logits && !contains(opt.next_n, 1))
    return std::string(to_string(op)) + " has next_n = 1 only, and --next-n " + join_ints(opt.next_n) + " leaves out 1";
  if (opt.lens == LensShape::two_d && op != CaseOp::paged_logits)
    return std::string(to_string(op)) + " has 1-D lens only, and --lens-2d on asks for 2-D lens";
  return {};
}

}  // namespace

bool page_size_fits(PageLayoutKind layout, int32_t B) {
  return layout == PageLayoutKind::standard ? B >= 1 : B >= 16 && B % 16 == 0;
}

std::vector<int32_t> allowed_page_sizes(const GenOptions& opt, PageLayoutKind layout) {
  std::vector<int32_t> out;
  for (int32_t B : opt.page_sizes)
    if (page_size_fits(layout, B)) out.push_back(B);
  return out;
}

int32_t default_max_heads(const GenOptions& opt, const DrawSets& s, CaseOp op) {
  const int32_t size = std::clamp(opt.size, 1, 100);
  int32_t hmax = std::max(1, opt.max_heads * size / 100);
  if (op == CaseOp::ragged_logits) hmax = std::min(hmax, kRaggedMaxHeads);
  if (s.need8) hmax = std::max(hmax, kGroupHeads);  // small RapidCheck sizes still reach H = 8
  return hmax;
}

DrawSets resolve(const GenOptions& opt) {
  check_each("--page-sizes", opt.page_sizes, [](int32_t B) { return B >= 1 && B <= 1024; }, "a page size must be in [1, 1024]");
  check_each("--heads", opt.heads, [](int32_t H) { return H >= 1 && H <= 1024 && (H & (H - 1)) == 0; },
             "H must be a power of two in [1, 1024] (the head sum is a pairwise tree)");
  check_each("--head-dims", opt.head_dims, [](int32_t D) { return D >= 32 && D <= 1024 && D % 32 == 0; },
             "D must be a multiple of 32 in [32, 1024] (quant blocks of D, D/2 and 32 must divide it)");
  check_each("--next-n", opt.next_n, [](int32_t n) { return n >= 1 && n <= 16; }, "next_n must be in [1, 16]");
  if (opt.max_tokens < 0) reject("--max-tokens", opt.max_tokens, "must be >= 0");
  if (opt.max_batch < 1) reject("--batch", opt.max_batch, "at least one sequence per case");
  if (opt.max_len < -1) reject("--max-len", opt.max_len, "must be >= 0 (or -1: no limit but --max-tokens)");
  if (opt.max_heads < 1) reject("--max-heads", opt.max_heads, "must be >= 1");
  if (opt.max_rows < 0) reject("--max-rows", opt.max_rows, "must be >= 0");
  if (opt.max_ragged_tokens < 0) reject("--max-ragged-tokens", opt.max_ragged_tokens, "must be >= 0");
  if (opt.size_spread < 0 || opt.size_spread > 30) reject("size_spread", opt.size_spread, "must be in [0, 30]");
  if (opt.wide_logits_percent < 0 || opt.wide_logits_percent > 100)
    reject("--wide-logits", opt.wide_logits_percent, "must be in [0, 100]");

  DrawSets s;
  s.profiles = opt.profiles.empty() ? std::vector<Profile>{Profile::exact, Profile::deepgemm_sm90} : opt.profiles;
  s.need8 = !contains(s.profiles, Profile::exact);
  if (s.need8) {
    const std::string forced = "--profile " + join_profiles(opt.profiles);
    if (!opt.heads.empty() && std::none_of(opt.heads.begin(), opt.heads.end(), [](int32_t H) { return H % kGroupHeads == 0; }))
      reject("--heads", join_ints(opt.heads), forced + " needs H to be a multiple of 8 (groups of 8 heads)");
    if (opt.heads.empty() && opt.max_heads < kGroupHeads)
      reject("--max-heads", opt.max_heads, forced + " needs H to be a multiple of 8 (groups of 8 heads)");
  }

  const bool explicit_layouts = !opt.layouts.empty();
  for (PageLayoutKind l : explicit_layouts ? opt.layouts : std::vector<PageLayoutKind>(std::begin(kAllLayouts), std::end(kAllLayouts))) {
    if (opt.page_sizes.empty() || !allowed_page_sizes(opt, l).empty()) {
      s.layouts.push_back(l);
    } else if (explicit_layouts) {
      reject("--layouts", std::string(to_string(l)),
             "needs a page size that is a multiple of 16, and --page-sizes " + join_ints(opt.page_sizes) + " has none");
    }
  }

  const bool explicit_ops = !opt.ops.empty();
  for (CaseOp op : explicit_ops ? opt.ops : std::vector<CaseOp>(std::begin(kAllOps), std::end(kAllOps))) {
    const std::string why = why_not(op, opt, s);
    if (why.empty()) s.ops.push_back(op);
    else if (explicit_ops) reject("--ops", std::string(to_string(op)), why);
  }
  if (s.ops.empty()) reject("--ops", std::string("(any)"), "the constraints leave no op to draw");  // paged_logits always fits
  return s;
}

}  // namespace gen

void check_gen_options(const GenOptions& opt) { (void)gen::resolve(opt); }

std::vector<CaseOp> drawable_ops(const GenOptions& opt) { return gen::resolve(opt).ops; }

std::string describe_constraints(const GenOptions& opt) {
  std::ostringstream s;
  auto list = [&](const char* option, const std::string& values) {
    if (!values.empty()) s << (s.tellp() > 0 ? " " : "") << option << " " << values;
  };
  list("--ops", gen::join(opt.ops, [](CaseOp op) { return to_string(op); }));
  list("--profile", gen::join_profiles(opt.profiles));
  list("--layouts", gen::join(opt.layouts, [](PageLayoutKind l) { return to_string(l); }));
  list("--page-sizes", gen::join_ints(opt.page_sizes));
  list("--heads", gen::join_ints(opt.heads));
  list("--head-dims", gen::join_ints(opt.head_dims));
  list("--next-n", gen::join_ints(opt.next_n));
  list("--encodings", gen::join(opt.encodings, [](Fp8Encoding e) { return to_string(e); }));
  if (opt.lens != LensShape::any) list("--lens-2d", opt.lens == LensShape::two_d ? "on" : "off");
  const GenOptions def = tier_options(opt.tier);  // sizes are told as overrides of the tier's
  if (opt.tier != Tier::small) list("--tier", to_string(opt.tier));
  if (opt.max_batch != def.max_batch) list("--batch", std::to_string(opt.max_batch));
  if (opt.max_len != def.max_len) list("--max-len", std::to_string(opt.max_len));
  if (opt.max_tokens != def.max_tokens) list("--max-tokens", std::to_string(opt.max_tokens));
  if (opt.max_heads != def.max_heads) list("--max-heads", std::to_string(opt.max_heads));
  if (opt.max_rows != def.max_rows) list("--max-rows", std::to_string(opt.max_rows));
  if (opt.max_ragged_tokens != def.max_ragged_tokens) list("--max-ragged-tokens", std::to_string(opt.max_ragged_tokens));
  if (opt.wide_logits_percent != def.wide_logits_percent) list("--wide-logits", std::to_string(opt.wide_logits_percent));
  if (!opt.high_page_ids) s << (s.tellp() > 0 ? " " : "") << "--no-high-ids";
  if (!opt.special_values) s << (s.tellp() > 0 ? " " : "") << "--no-special-values";
  return s.str();
}

CaseDescriptor kernel_shape(const CaseDescriptor& d) {
  const bool paged = d.op == CaseOp::paged_logits, ragged = d.op == CaseOp::ragged_logits;
  const bool logits = paged || ragged;
  CaseDescriptor s;
  s.op = d.op;
  s.layout = ragged ? PageLayoutKind::standard : d.layout;
  s.page_size = ragged ? 64 : d.page_size;
  s.head_dim = d.head_dim;
  s.quant_block = d.quant_block;
  s.encoding = d.encoding;
  s.heads = logits ? d.heads : 64;
  s.next_n = paged ? d.next_n : 1;
  s.lens_2d = paged && d.lens_2d;
  s.profile = logits ? d.profile : Profile::exact;
  s.clean_logits = logits && d.clean_logits;
  s.quant = d.op == CaseOp::quant_cache ? d.quant : QuantVariant::exact;
  s.ue8m0 = d.op == CaseOp::quant_cache && d.ue8m0;
  return s;
}

std::vector<CaseDescriptor> drawable_shapes(const GenOptions& opt) {
  const gen::DrawSets s = gen::resolve(opt);
  auto unique = [](auto v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  const std::vector<int32_t> dims = unique(opt.head_dims.empty() ? std::vector<int32_t>(std::begin(gen::kHeadDims), std::end(gen::kHeadDims)) : opt.head_dims);
  const std::vector<int32_t> next_n = unique(opt.next_n.empty() ? std::vector<int32_t>(std::begin(gen::kNextN), std::end(gen::kNextN)) : opt.next_n);
  const std::vector<Fp8Encoding> encs = unique(opt.encodings.empty() ? std::vector<Fp8Encoding>{Fp8Encoding::e4m3fn, Fp8Encoding::e4m3fnuz} : opt.encodings);
  std::vector<bool> lens2d;
  if (opt.lens != LensShape::two_d) lens2d.push_back(false);
  if (opt.lens != LensShape::one_d) lens2d.push_back(true);

  std::vector<CaseDescriptor> out;
  for (CaseOp op : unique(s.ops)) {
    const bool paged = op == CaseOp::paged_logits, ragged = op == CaseOp::ragged_logits, logits = paged || ragged;
    std::vector<std::pair<PageLayoutKind, int32_t>> pages;
    for (PageLayoutKind l : unique(s.layouts)) {
      std::vector<int32_t> sizes = opt.page_sizes.empty()
                                       ? (l == PageLayoutKind::standard ? std::vector<int32_t>(std::begin(gen::kPageSizesStandard), std::end(gen::kPageSizesStandard))
                                                                        : std::vector<int32_t>(std::begin(gen::kPageSizesPreshuffle), std::end(gen::kPageSizesPreshuffle)))
                                       : gen::allowed_page_sizes(opt, l);
      for (int32_t B : unique(sizes)) pages.emplace_back(l, B);
    }
    if (ragged) pages = {{PageLayoutKind::standard, 64}};  // not used by the op (kernel_shape)
    std::vector<int32_t> heads{64};
    if (logits) {
      heads.clear();
      const int32_t hmax = gen::default_max_heads(opt, s, op);
      for (int32_t H : opt.heads.empty() ? std::vector<int32_t>(std::begin(gen::kHeads), std::end(gen::kHeads)) : opt.heads)
        if ((!opt.heads.empty() || H <= hmax) && (!s.need8 || H % gen::kGroupHeads == 0)) heads.push_back(H);
      heads = unique(heads);
    }
    for (int32_t D : dims) {
      const std::vector<int32_t> blocks = logits ? std::vector<int32_t>{D} : unique(std::vector<int32_t>{D, D / 2, 32});
      for (const auto& [layout, B] : pages)
        for (int32_t Qb : blocks)
          for (int32_t H : heads)
            for (int32_t n : paged ? next_n : std::vector<int32_t>{1})
              for (bool l2 : paged ? lens2d : std::vector<bool>{false})
                for (Fp8Encoding e : encs) {
                  std::vector<Profile> profiles{Profile::exact};
                  if (logits && H % gen::kGroupHeads == 0) profiles = unique(s.profiles);
                  for (Profile p : profiles)
                    for (bool clean : logits ? std::vector<bool>{false, true} : std::vector<bool>{false})
                      for (int qv = 0; qv < (op == CaseOp::quant_cache ? 8 : 1); ++qv) {
                        CaseDescriptor c;
                        c.op = op;
                        c.layout = layout;
                        c.page_size = B;
                        c.head_dim = D;
                        c.quant_block = Qb;
                        c.heads = H;
                        c.next_n = n;
                        c.lens_2d = l2;
                        c.encoding = e;
                        c.profile = p;
                        c.clean_logits = clean;
                        c.quant = QuantVariant(qv / 2);
                        c.ue8m0 = qv % 2 != 0;
                        out.push_back(kernel_shape(c));
                      }
                }
    }
  }
  return out;
}

GenOptions narrow_to_supported(const GenOptions& opt, const std::vector<CaseDescriptor>& shapes,
                               const std::vector<bool>& supported) {
  if (shapes.size() != supported.size()) reject("supported", supported.size(), "one answer per shape expected");
  const size_t n_supported = size_t(std::count(supported.begin(), supported.end(), true));
  if (n_supported == 0 || n_supported == shapes.size()) return opt;
  // The values each field takes over all shapes and over the supported ones, where the op uses
  // the field (kernel_shape fixes the others).
  struct Values {
    std::set<CaseOp> ops;
    std::set<PageLayoutKind> layouts;
    std::set<int32_t> page_sizes, heads, head_dims, next_n;
    std::set<Fp8Encoding> encodings;
    std::set<bool> lens_2d;
    std::set<Profile> profiles;
  } all, sup;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const CaseDescriptor& c = shapes[i];
    const bool logits = c.op == CaseOp::paged_logits || c.op == CaseOp::ragged_logits;
    for (Values* v : {&all, supported[i] ? &sup : nullptr}) {
      if (!v) continue;
      v->ops.insert(c.op);
      if (c.op != CaseOp::ragged_logits) {
        v->layouts.insert(c.layout);
        v->page_sizes.insert(c.page_size);
      }
      v->head_dims.insert(c.head_dim);
      if (logits) v->heads.insert(c.heads);
      v->next_n.insert(c.next_n);      // 1 for the ops without next_n
      v->lens_2d.insert(c.lens_2d);    // 1-D for the ops without 2-D lens
      v->encodings.insert(c.encoding);
      v->profiles.insert(c.profile);   // exact for the ops without a profile
    }
  }
  GenOptions n = opt;
  auto narrow = [](auto& field, const auto& all_values, const auto& sup_values) {
    if (!sup_values.empty() && sup_values != all_values) field.assign(sup_values.begin(), sup_values.end());
  };
  narrow(n.ops, all.ops, sup.ops);
  narrow(n.layouts, all.layouts, sup.layouts);
  narrow(n.page_sizes, all.page_sizes, sup.page_sizes);
  narrow(n.heads, all.heads, sup.heads);
  narrow(n.head_dims, all.head_dims, sup.head_dims);
  narrow(n.next_n, all.next_n, sup.next_n);
  narrow(n.encodings, all.encodings, sup.encodings);
  narrow(n.profiles, all.profiles, sup.profiles);
  if (sup.lens_2d != all.lens_2d) n.lens = *sup.lens_2d.begin() ? LensShape::two_d : LensShape::one_d;
  try {
    check_gen_options(n);
  } catch (const InvalidInput&) {
    return opt;  // cannot happen (every supported shape is drawable under n); never narrow into an error
  }
  return n;
}

}  // namespace mqa
