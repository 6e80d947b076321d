// How the campaign draws its cases for one kernel: the kernel's supports() is asked once about
// every shape the options can draw (mqa::drawable_shapes), the options are narrowed to the
// values its supported shapes use, and a case it still refuses is redrawn (sub-draws of the
// same index, so case i stays a pure function of seed, i, options and the kernel's answers).
//
// supports() is asked in a child process when the kernel runs isolated: a plugin that
// initialises its GPU in supports() must not do so in the harness, whose forked children could
// not use that context.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "fuzz_internal.hpp"

namespace mqa::fuzz {

namespace {

// Wider constraint grids are not probed (cases are then drawn without asking first).
constexpr size_t kMaxProbedShapes = 200000;

// The answers, each ended by NUL (a C-string message holds none).
std::string ask_all(const Kernel& k, const std::vector<CaseDescriptor>& shapes) {
  std::string out;
  for (const CaseDescriptor& s : shapes) {
    out += k.refusal(s);
    out.push_back('\0');
  }
  return out;
}

}  // namespace

DrawPlan::DrawPlan(const Kernel& k, const CampaignOptions& o, bool isolate) : seed_(o.seed), gen_(o.gen) {
  check_gen_options(o.gen);
  if (o.redraws <= 0 || !k.answers_supports()) return;
  const std::vector<CaseDescriptor> shapes = drawable_shapes(o.gen);
  if (shapes.size() > kMaxProbedShapes) {
    note_ = "supports() not asked in advance: the options allow " + std::to_string(shapes.size()) +
            " shapes (more than " + std::to_string(kMaxProbedShapes) + ")";
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string answers;
  if (isolate) {
    const ChildOutput c = run_in_child([&] { return ask_all(k, shapes); }, o.case_timeout_s);
    if (!c.ok) {
      note_ = "supports() could not be asked in advance (" + c.error + "); cases are drawn without it";
      return;
    }
    answers = c.payload;
  } else {
    answers = ask_all(k, shapes);
  }
  std::vector<bool> supported;
  size_t pos = 0;
  for (const CaseDescriptor& s : shapes) {
    const size_t end = answers.find('\0', pos);
    if (end == std::string::npos) {
      refusals_.clear();
      note_ = "supports() answers were cut short; cases are drawn without them";
      return;
    }
    std::string why = answers.substr(pos, end - pos);
    pos = end + 1;
    supported.push_back(why.empty());
    refusals_.emplace(to_string(s), std::move(why));
  }
  const size_t n = size_t(std::count(supported.begin(), supported.end(), true));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  attempts_ = o.redraws;
  if (seconds > 1) {  // a slow supports() (one that queries the device each time) shows here
    char took[96];
    std::snprintf(took, sizeof took, "asking supports() about %zu shapes took %.1fs", shapes.size(), seconds);
    note_ = took;
  }
  if (n == shapes.size()) return;  // a kernel that takes everything draws exactly as without asking
  note_ += (note_.empty() ? "" : "; ") + std::string("supports() takes ") + std::to_string(n) + " of the " +
           std::to_string(shapes.size()) + " shapes the options can draw";
  if (n == 0) {  // nothing to redraw into: every case counts as unsupported, with its reason
    attempts_ = 1;
    return;
  }
  gen_ = narrow_to_supported(o.gen, shapes, supported);
  const std::string before = describe_constraints(o.gen), after = describe_constraints(gen_);
  if (after != before) {
    narrowed_ = after;
    note_ += "; drawing narrowed to: " + after;
  }
}

SupportedDraw DrawPlan::draw(uint64_t index) const {
  if (refusals_.empty()) return random_supported_case(seed_, index, gen_, nullptr, 1);
  const ShapeRefusal refusal = [this](const CaseDescriptor& d) {
    const auto it = refusals_.find(to_string(kernel_shape(d)));
    return it == refusals_.end() ? std::string() : it->second;  // not probed: running the case decides
  };
  return random_supported_case(seed_, index, gen_, refusal, attempts_);
}

}  // namespace mqa::fuzz
