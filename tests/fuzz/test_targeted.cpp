// Targeted campaigns: GenOptions' constraints draw only what they allow (and contradictions
// are rejected naming the option), a kernel with a narrow support set gets cases it runs,
// unsupported cases never count as run or passing, the shrinker says when a limit stopped it,
// and the JSON / JUnit reports and the merge of shards hold what the campaign did.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "mqa/case_random.hpp"
#include "mqa/fuzz.hpp"
#include "mqa/philox.hpp"
#include "mqa/validate.hpp"
#include "../rejected_field.hpp"

using namespace mqa;

namespace {

std::string plugin(const std::string& name) { return std::string(MQA_MUTANT_DIR) + "/lib" + name + ".so"; }

std::string rejected_field(const GenOptions& o) {
  return test::rejected_field([&] { check_gen_options(o); });
}

bool valid(const CaseDescriptor& d) {
  try {
    (void)materialize(d, false);
    return true;
  } catch (const InvalidInput&) {
    return false;
  }
}

// The shapes of DeepGEMM SM90's paged logits kernel (tests/fuzz/mutants/shaped_kut.cpp).
std::string deepgemm_refusal(const CaseDescriptor& d) {
  const bool ok = d.op == CaseOp::paged_logits && d.page_size == 64 && (d.heads == 32 || d.heads == 64) &&
                  d.head_dim == 128 && d.next_n <= 2 && d.layout == PageLayoutKind::standard &&
                  d.encoding == Fp8Encoding::e4m3fn && d.lens_2d && d.profile == Profile::deepgemm_sm90;
  return ok ? std::string() : std::string("not a deepgemm_sm90 shape");
}

GenOptions deepgemm_constraints() {
  GenOptions o;
  o.ops = {CaseOp::paged_logits};
  o.profiles = {Profile::deepgemm_sm90};
  o.layouts = {PageLayoutKind::standard};
  o.page_sizes = {64};
  o.heads = {32, 64};
  o.head_dims = {128};
  o.next_n = {1, 2};
  o.encodings = {Fp8Encoding::e4m3fn};
  o.lens = LensShape::two_d;
  return o;
}

fuzz::CampaignOptions campaign(const std::string& kernel, int64_t cases, uint64_t seed = 11) {
  fuzz::CampaignOptions o;
  o.kernel = kernel;
  o.cases = cases;
  o.seed = seed;
  o.gen.max_tokens = 600;
  o.isolate = 0;  // the test kernels do not crash; in-process keeps the test fast
  o.repro_dir = "";
  o.quiet = true;
  o.shrink_seconds = 1e9;  // only the step limit ends a shrink here: no test depends on the clock
  return o;
}

fuzz::CampaignResult run(const fuzz::CampaignOptions& o) {
  std::ostringstream ignored;
  return fuzz::run_campaign(o, ignored);
}

double fraction_run(const fuzz::CampaignResult& r) { return r.cases ? double(r.ran()) / double(r.cases) : 0.0; }

}  // namespace

// ---- constraints ----------------------------------------------------------------------------

TEST(Constraints, EachListDrawsOnlyItsValuesAndEveryOneOfThem) {
  GenOptions o;
  o.page_sizes = {64, 16};
  o.heads = {32, 64};
  o.head_dims = {128};
  o.next_n = {1, 2};
  o.encodings = {Fp8Encoding::e4m3fnuz};
  o.max_batch = 3;
  o.max_len = 100;
  std::set<int32_t> B, H, n;
  std::set<CaseOp> ops;
  for (uint64_t i = 0; i < 400; ++i) {
    const CaseDescriptor d = random_case(3, i, o);
    ASSERT_TRUE(valid(d)) << to_string(d);
    B.insert(d.page_size);
    if (d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits) H.insert(d.heads);
    n.insert(d.next_n);
    ops.insert(d.op);
    ASSERT_EQ(d.head_dim, 128) << to_string(d);
    ASSERT_EQ(d.encoding, Fp8Encoding::e4m3fnuz) << to_string(d);
    ASSERT_LE(d.batch(), 3) << to_string(d);
    for (int32_t L : d.lens) ASSERT_LE(L, 100) << to_string(d);
  }
  EXPECT_EQ(B, (std::set<int32_t>{16, 64}));
  EXPECT_EQ(H, (std::set<int32_t>{32, 64}));
  EXPECT_EQ(n, (std::set<int32_t>{1, 2}));
  EXPECT_EQ(ops.size(), 4u) << "no op was ruled out";
}

TEST(Constraints, LensTwoDDrawsOnlyPagedCasesWithTwoDLens) {
  GenOptions o;
  o.lens = LensShape::two_d;
  EXPECT_EQ(drawable_ops(o), std::vector<CaseOp>{CaseOp::paged_logits});
  for (uint64_t i = 0; i < 200; ++i) {
    const CaseDescriptor d = random_case(4, i, o);
    ASSERT_TRUE(d.lens_2d && d.op == CaseOp::paged_logits) << to_string(d);
  }
  o.lens = LensShape::one_d;
  for (uint64_t i = 0; i < 200; ++i) ASSERT_FALSE(random_case(4, i, o).lens_2d);
}

TEST(Constraints, AForcedProfileDrawsOnlyThatProfile) {
  GenOptions o;
  o.profiles = {Profile::deepgemm_sm90};
  EXPECT_EQ(drawable_ops(o), (std::vector<CaseOp>{CaseOp::paged_logits, CaseOp::ragged_logits}));
  std::set<CaseOp> ops;
  for (uint64_t i = 0; i < 500; ++i) {
    const CaseDescriptor d = random_case(5, i, o);
    ASSERT_EQ(d.profile, Profile::deepgemm_sm90) << to_string(d);
    ASSERT_EQ(d.heads % 8, 0) << to_string(d);
    if (i < 100) {
      ASSERT_TRUE(valid(d)) << to_string(d);
    }
    ops.insert(d.op);
  }
  EXPECT_EQ(ops.size(), 2u);
  o.size = 1;  // RapidCheck's smallest size still reaches H = 8
  for (uint64_t i = 0; i < 50; ++i) ASSERT_EQ(random_case(5, i, o).profile, Profile::deepgemm_sm90);
  GenOptions e;
  e.profiles = {Profile::exact};
  for (uint64_t i = 0; i < 100; ++i) ASSERT_EQ(random_case(5, i, e).profile, Profile::exact);
}

TEST(Constraints, ContradictionsAndBadValuesAreRejectedNamingTheOption) {
  auto with = [](auto f) {
    GenOptions o;
    f(o);
    return rejected_field(o);
  };
  EXPECT_EQ(with([](GenOptions& o) { o.profiles = {Profile::deepgemm_sm90}; o.ops = {CaseOp::paged_logits, CaseOp::quant_cache}; }), "--ops");
  EXPECT_EQ(with([](GenOptions& o) { o.next_n = {2}; o.ops = {CaseOp::gather}; }), "--ops");
  EXPECT_EQ(with([](GenOptions& o) { o.lens = LensShape::two_d; o.ops = {CaseOp::ragged_logits}; }), "--ops");
  EXPECT_EQ(with([](GenOptions& o) { o.layouts = {PageLayoutKind::preshuffle16}; o.page_sizes = {1, 8}; }), "--layouts");
  EXPECT_EQ(with([](GenOptions& o) { o.heads = {1, 2}; o.profiles = {Profile::deepgemm_sm90}; }), "--heads");
  EXPECT_EQ(with([](GenOptions& o) { o.max_heads = 4; o.profiles = {Profile::deepgemm_sm90}; }), "--max-heads");
  EXPECT_EQ(with([](GenOptions& o) { o.heads = {3}; }), "--heads");
  EXPECT_EQ(with([](GenOptions& o) { o.head_dims = {48}; }), "--head-dims");
  EXPECT_EQ(with([](GenOptions& o) { o.page_sizes = {0}; }), "--page-sizes");
  EXPECT_EQ(with([](GenOptions& o) { o.next_n = {0}; }), "--next-n");
  EXPECT_EQ(with([](GenOptions& o) { o.max_len = -2; }), "--max-len");
  EXPECT_EQ(with([](GenOptions& o) { o.max_batch = 0; }), "--batch");
  // implicit ops: what the constraints leave; preshuffle16 silently left out when no B fits it
  EXPECT_EQ(with([](GenOptions& o) { o.next_n = {2}; o.page_sizes = {1}; }), "(accepted)");
  GenOptions o;
  o.next_n = {2};
  EXPECT_EQ(drawable_ops(o), std::vector<CaseOp>{CaseOp::paged_logits});
  o.page_sizes = {1};
  for (uint64_t i = 0; i < 50; ++i) ASSERT_EQ(random_case(6, i, o).layout, PageLayoutKind::standard);
  GenOptions bad;
  bad.heads = {3};
  EXPECT_THROW(random_case(1, 0, bad), InvalidInput);
  try {
    GenOptions c;
    c.profiles = {Profile::deepgemm_sm90};
    c.ops = {CaseOp::gather};
    check_gen_options(c);
    ADD_FAILURE() << "accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("--profile deepgemm_sm90"), std::string::npos) << e.what();
  }
}

TEST(Constraints, RandomCombinationsDrawValidCasesThatHonourThemOrAreRejected) {
  const CounterRng rng{77};
  auto pick_some = [&](uint64_t k, std::vector<int32_t> all) {
    std::vector<int32_t> out;
    const uint32_t mask = rng.u32(k, 0);
    if (mask % 3 == 0) return out;  // no constraint
    for (size_t i = 0; i < all.size(); ++i)
      if (mask >> (i + 2) & 1) out.push_back(all[i]);
    return out;
  };
  int accepted = 0;
  for (uint64_t c = 0; c < 120; ++c) {
    GenOptions o;
    o.max_tokens = 300;
    const uint64_t k = c * 16;
    for (int32_t op : pick_some(k + 0, {0, 1, 2, 3})) o.ops.push_back(CaseOp(op));
    for (int32_t p : pick_some(k + 1, {0, 1})) o.profiles.push_back(Profile(p));
    for (int32_t l : pick_some(k + 2, {0, 1})) o.layouts.push_back(PageLayoutKind(l));
    o.page_sizes = pick_some(k + 3, {1, 16, 24, 64, 256});
    o.heads = pick_some(k + 4, {1, 2, 8, 32, 64});
    o.head_dims = pick_some(k + 5, {32, 64, 128, 256});
    o.next_n = pick_some(k + 6, {1, 2, 3});
    for (int32_t e : pick_some(k + 7, {0, 1})) o.encodings.push_back(Fp8Encoding(e));
    o.lens = LensShape(rng.below(k + 8, 0, 3));
    o.max_len = rng.below(k + 9, 0, 2) ? -1 : int32_t(rng.below(k + 9, 1, 200));
    o.max_batch = 1 + int32_t(rng.below(k + 10, 0, 5));
    try {
      check_gen_options(o);
    } catch (const InvalidInput& e) {
      ASSERT_EQ(std::string(e.field()).rfind("--", 0), 0u) << "the message names an option: " << e.what();
      continue;
    }
    ++accepted;
    auto in = [](const auto& list, auto x) { return list.empty() || std::find(list.begin(), list.end(), x) != list.end(); };
    for (uint64_t i = 0; i < 10; ++i) {
      const CaseDescriptor d = random_case(c, i, o);
      const std::string line = describe_constraints(o) + " drew " + to_string(d);
      ASSERT_TRUE(valid(d)) << line;
      const bool logits = d.op == CaseOp::paged_logits || d.op == CaseOp::ragged_logits;
      ASSERT_TRUE(in(o.ops, d.op) && in(o.layouts, d.layout) && in(o.page_sizes, d.page_size)) << line;
      ASSERT_TRUE(in(o.head_dims, d.head_dim) && in(o.next_n, d.next_n) && in(o.encodings, d.encoding)) << line;
      ASSERT_TRUE(!logits || (in(o.heads, d.heads) && in(o.profiles, d.profile))) << line;
      ASSERT_TRUE(o.lens == LensShape::any || d.lens_2d == (o.lens == LensShape::two_d)) << line;
      ASSERT_LE(d.batch(), o.max_batch) << line;
      for (int32_t L : d.lens) ASSERT_TRUE(o.max_len < 0 || L <= o.max_len) << line;
    }
  }
  std::printf("%d of 120 random constraint combinations accepted\n", accepted);
  EXPECT_GT(accepted, 30);
}

// ---- drawing what a kernel supports ---------------------------------------------------------

TEST(SupportedDraws, EveryDrawnCaseHasADrawableShape) {
  for (const GenOptions& o : {GenOptions{}, deepgemm_constraints()}) {
    const std::vector<CaseDescriptor> shapes = drawable_shapes(o);
    std::set<std::string> keys;
    for (const CaseDescriptor& s : shapes) ASSERT_TRUE(keys.insert(to_string(s)).second) << "twice: " << to_string(s);
    for (uint64_t i = 0; i < 1500; ++i) {
      const CaseDescriptor d = random_case(8, i, o);
      ASSERT_TRUE(keys.count(to_string(kernel_shape(d)))) << to_string(d);
    }
  }
}

TEST(SupportedDraws, NarrowingLeavesOptionsUnchangedWhenEverythingOrNothingIsSupported) {
  const GenOptions o;
  const std::vector<CaseDescriptor> shapes = drawable_shapes(o);
  for (bool answer : {true, false}) {
    const GenOptions n = narrow_to_supported(o, shapes, std::vector<bool>(shapes.size(), answer));
    EXPECT_EQ(describe_constraints(n), describe_constraints(o));
    for (uint64_t i = 0; i < 200; ++i) ASSERT_EQ(random_case(9, i, n), random_case(9, i, o));
  }
}

TEST(SupportedDraws, ADeepGemmShapedKernelGetsCasesItRuns) {
  const GenOptions o;
  const std::vector<CaseDescriptor> shapes = drawable_shapes(o);
  std::vector<bool> supported;
  for (const CaseDescriptor& s : shapes) supported.push_back(deepgemm_refusal(s).empty());
  const GenOptions narrowed = narrow_to_supported(o, shapes, supported);
  EXPECT_EQ(describe_constraints(narrowed),
            "--ops paged_logits --profile deepgemm_sm90 --layouts standard --page-sizes 64 --heads 32,64 "
            "--head-dims 128 --next-n 1,2 --encodings e4m3fn --lens-2d on");
  constexpr int kCases = 400;
  int plain = 0, redrawn = 0, targeted = 0;
  for (uint64_t i = 0; i < kCases; ++i) {
    plain += deepgemm_refusal(random_case(10, i, o)).empty();
    redrawn += random_supported_case(10, i, o, deepgemm_refusal, 64).supported;
    const SupportedDraw s = random_supported_case(10, i, narrowed, deepgemm_refusal, 64);
    ASSERT_TRUE(deepgemm_refusal(s.desc).empty() || !s.supported);
    ASSERT_EQ(s.desc, random_supported_case(10, i, narrowed, deepgemm_refusal, 64).desc) << "deterministic";
    targeted += s.supported;
  }
  std::printf("deepgemm_sm90 shapes, %d draws: plain %d, 64 redraws %d, narrowed + redraws %d\n", kCases, plain,
              redrawn, targeted);
  EXPECT_GE(targeted, kCases * 9 / 10);
  EXPECT_LT(redrawn, kCases / 10) << "redraws alone were expected not to be enough (why narrowing exists)";
}

TEST(SupportedDraws, RefusedSubDrawsAreRecordedAndAttemptZeroIsTheCase) {
  const GenOptions o;
  const SupportedDraw all = random_supported_case(12, 7, o, nullptr, 64);
  EXPECT_TRUE(all.supported);
  EXPECT_EQ(all.desc, random_case(12, 7, o));
  const SupportedDraw none = random_supported_case(12, 7, o, [](const CaseDescriptor&) { return std::string("no"); }, 5);
  EXPECT_FALSE(none.supported);
  EXPECT_EQ(none.refusals, std::vector<std::string>(5, "no"));
  const SupportedDraw paged = random_supported_case(
      12, 7, o, [](const CaseDescriptor& d) { return d.op == CaseOp::paged_logits ? "" : std::string("paged only"); }, 64);
  ASSERT_TRUE(paged.supported);
  EXPECT_EQ(paged.desc.op, CaseOp::paged_logits);
  EXPECT_EQ(paged.desc, random_case_attempt(12, 7, uint32_t(paged.refusals.size()), o));
}

// ---- the shrinker's limits ------------------------------------------------------------------

TEST(Shrink, SaysWhichLimitStoppedIt) {
  const CaseDescriptor d = parse_case("op=paged_logits B=64 D=128 H=64 next_n=2 lens=1d:[300,150,700] dist=randn seed=0x3");
  auto fails = [](const CaseDescriptor& c) {
    return std::any_of(c.lens.begin(), c.lens.end(), [](int32_t L) { return L >= 100; });
  };
  const ShrinkResult full = shrink_bounded(d, fails, 5000);
  EXPECT_EQ(full.stop, ShrinkStop::minimal);
  EXPECT_EQ(full.desc.lens, std::vector<int32_t>{100});
  const ShrinkResult two = shrink_bounded(d, fails, 2);
  EXPECT_EQ(two.stop, ShrinkStop::step_limit);
  EXPECT_EQ(two.steps, 2);
  const ShrinkResult late = shrink_bounded(d, fails, 5000, [] { return true; });
  EXPECT_EQ(late.stop, ShrinkStop::time_limit);
  EXPECT_EQ(late.desc, d);
  ShrinkStop stop = ShrinkStop::step_limit;
  int steps = 0;
  (void)shrink_case(d, fails, full.steps, &steps, &stop);  // exactly enough: the last pass completes
  EXPECT_EQ(steps, full.steps);
  EXPECT_EQ(stop, ShrinkStop::minimal);
  (void)shrink_case(d, fails, full.steps - 1, &steps, &stop);  // one short: the last pass is cut
  EXPECT_EQ(steps, full.steps - 1);
  EXPECT_EQ(stop, ShrinkStop::step_limit);
}

// ---- honest counts ----------------------------------------------------------------------------

TEST(Campaign, AKernelThatSupportsNothingIsNeverAPass) {
  fuzz::CampaignOptions o = campaign(plugin("mqa_shaped_none"), 30);
  o.quiet = false;
  std::ostringstream out;
  fuzz::CampaignResult r = fuzz::run_campaign(o, out);
  EXPECT_EQ(r.ran(), 0);
  EXPECT_EQ(r.unsupported, 30);
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_STREQ(r.result(), "inconclusive");
  EXPECT_EQ(r.shortfall, "0 of 30 cases ran: 30 unsupported (reasons: 30x this test kernel supports no case)");
  EXPECT_TRUE(r.coverage.empty());
  EXPECT_EQ(out.str().find("RESULT: PASS"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("RESULT: INCONCLUSIVE"), std::string::npos) << out.str();
  o.min_run = 0;  // asked for explicitly: nothing has to run
  o.quiet = true;
  EXPECT_EQ(fuzz::run_campaign(o, out).exit_code(), 0);
}

TEST(Campaign, ADeepGemmShapedPluginRunsNineTenthsOfItsCasesWithoutConstraints) {
  fuzz::CampaignOptions o = campaign(plugin("mqa_shaped_deepgemm_sm90"), 100);
  o.gen.max_tokens = 256;  // the scalar control is slow at H = 64, D = 128
  o.max_failures = 1000;   // measure the fraction over all cases, whatever they do
  o.shrink = false;
  const fuzz::CampaignResult r = run(o);
  o.gen = deepgemm_constraints();
  const fuzz::CampaignResult c = run(o);
  o.gen = {};
  o.gen.max_tokens = 256;
  o.redraws = 0;
  const fuzz::CampaignResult plain = run(o);
  std::printf("deepgemm_sm90-shaped plugin, 100 cases: ran %lld without constraints (narrowed to: %s), %lld with "
              "them, %lld with plain draws (--redraws 0)\n",
              static_cast<long long>(r.ran()), r.narrowed.c_str(), static_cast<long long>(c.ran()),
              static_cast<long long>(plain.ran()));
  EXPECT_GE(fraction_run(r), 0.9);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(c.ran(), 100);
  EXPECT_LT(fraction_run(plain), 0.1);
  EXPECT_EQ(plain.unsupported, plain.cases - plain.ran());
  EXPECT_EQ(plain.skipped_before_draw, 0);
}

TEST(Campaign, RedrawsAreCountedApartAndNeverRun) {
  const fuzz::CampaignResult r = run(campaign(plugin("mqa_shaped_mixed"), 120));
  EXPECT_GT(r.skipped_before_draw, 0) << "the mixed support set is no product: some sub-draws must be refused";
  EXPECT_GE(fraction_run(r), 0.9);
  int64_t skipped = 0;
  for (const fuzz::CoverageRow& s : r.skipped_reasons) skipped += s.cases;
  EXPECT_EQ(skipped, r.skipped_before_draw);
  EXPECT_EQ(int64_t(r.records.size()), r.cases);
}

TEST(Campaign, UnsupportedCasesAreNeitherCoverageNorPassingCases) {
  fuzz::CampaignOptions o = campaign(plugin("mqa_shaped_paged_off_by_one"), 200);
  o.redraws = 0;  // plain draws: the other ops are unsupported
  o.shrink = false;
  const fuzz::CampaignResult r = run(o);
  ASSERT_EQ(r.failures.size(), 1u);
  const fuzz::Failure& f = r.failures[0];
  ASSERT_GT(r.unsupported, 0) << "the test needs unsupported cases before the failure";
  EXPECT_EQ(f.passed_before, r.passed);
  EXPECT_EQ(f.cases_before, r.passed);
  EXPECT_EQ(r.cases, f.index + 1);
  int64_t op_rows = 0;
  for (const fuzz::CoverageRow& c : r.coverage)
    if (c.name.rfind("op ", 0) == 0) op_rows += c.cases;
  EXPECT_EQ(op_rows, r.ran()) << "the coverage table counts only cases that ran";
  std::ostringstream text;
  fuzz::print_summary(text, r);
  EXPECT_NE(text.str().find("RESULT: FAIL"), std::string::npos);
}

// ---- reports and merging shards ---------------------------------------------------------------

TEST(Reports, JsonHoldsTheSummaryFailuresShrinkLimitAndCoverage) {
  fuzz::CampaignOptions o = campaign(plugin("mqa_mutant_page_off_by_one"), 100);
  o.shrink_steps = 2;
  o.quiet = false;
  std::ostringstream out;
  const fuzz::CampaignResult r = fuzz::run_campaign(o, out);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(out.str().find("shrink stopped at the 2-step limit after 2 steps; the case may not be minimal"),
            std::string::npos)
      << out.str();
  const nlohmann::json j = nlohmann::json::parse(fuzz::to_json_text(r));
  const nlohmann::json& s = j.at("summary");
  EXPECT_EQ(s.at("kernel"), o.kernel);
  EXPECT_EQ(s.at("seed"), 11);
  EXPECT_EQ(s.at("shard"), "0/1");
  EXPECT_EQ(s.at("compare"), "bitwise");
  EXPECT_EQ(s.at("result"), "fail");
  EXPECT_EQ(s.at("cases"), r.cases);
  EXPECT_EQ(s.at("ran"), r.ran());
  EXPECT_EQ(s.at("failed"), 1);
  for (const char* key : {"passed", "unsupported", "skipped_before_draw", "seconds", "shards", "cases_total"})
    EXPECT_TRUE(s.contains(key)) << key;
  const nlohmann::json& f = j.at("failures").at(0);
  EXPECT_EQ(f.at("index"), r.failures[0].index);
  EXPECT_EQ(f.at("shrink_steps"), 2);
  EXPECT_EQ(f.at("shrink_stop"), "step_limit");
  EXPECT_EQ(f.at("shrink_limit_hit"), true);
  const std::string cont = f.at("shrink_continue");
  EXPECT_NE(cont.find("--replay '" + to_string(r.failures[0].shrunk) + "'"), std::string::npos) << cont;
  EXPECT_NE(cont.find("--shrink-steps 2000"), std::string::npos) << cont;
  for (const char* key : {"original", "shrunk", "verdict", "replay", "repro", "detail"}) EXPECT_TRUE(f.contains(key)) << key;
  EXPECT_EQ(j.at("coverage").size(), r.coverage.size());
  EXPECT_EQ(j.at("cases").size(), size_t(r.cases));

  // the continuation: replaying the shrunk case with a bigger budget shrinks on to a minimum
  fuzz::CampaignOptions more = campaign(o.kernel, 0);
  more.replay = to_string(r.failures[0].shrunk);
  more.shrink_replay = true;
  more.shrink_steps = 2000;
  const fuzz::CampaignResult m = run(more);
  ASSERT_EQ(m.failures.size(), 1u);
  EXPECT_EQ(m.failures[0].shrink_stop, ShrinkStop::minimal);
  EXPECT_LT(case_size(m.failures[0].shrunk), case_size(r.failures[0].shrunk));

  // and the JSON reads back
  const fuzz::CampaignResult back = fuzz::from_json_text(fuzz::to_json_text(r), "r.json");
  EXPECT_EQ(fuzz::to_json_text(back), fuzz::to_json_text(r));
}

TEST(Reports, TimeLimitOfTheShrinkIsReported) {
  fuzz::CampaignOptions o = campaign(plugin("mqa_mutant_page_off_by_one"), 100);
  o.shrink_seconds = 0;  // expired before the first candidate
  const fuzz::CampaignResult r = run(o);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].shrink_stop, ShrinkStop::time_limit);
  EXPECT_NE(r.failures[0].shrink_continue.find("--shrink-time 300s"), std::string::npos) << r.failures[0].shrink_continue;
}

TEST(Reports, JunitHasATestcasePerCaseAndEscapesXml) {
  EXPECT_EQ(fuzz::xml_escape("a<b>&\"c'\x01\n"), "a&lt;b&gt;&amp;&quot;c&apos;\\x01\n");
  fuzz::CampaignResult r;
  r.kernel = "k&<>";
  r.cases = 3;
  r.passed = 1;
  r.failed = 1;
  r.unsupported = 1;
  r.records = {{0, "op=paged_logits B=64", fuzz::Verdict::pass, 0.5, ""},
               {1, "op=gather B=16", fuzz::Verdict::unsupported, 0, "needs <B> & \"D\""},
               {2, "op=quant_cache B=1", fuzz::Verdict::fail, 0.1, "cache <differs>"}};
  std::ostringstream x;
  fuzz::write_junit(r, x);
  const std::string s = x.str();
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<testsuite "), 1u);
  EXPECT_EQ(count("<testcase "), 3u);
  EXPECT_EQ(count("<skipped "), 1u);
  EXPECT_EQ(count("<failure "), 1u);
  EXPECT_NE(s.find("message=\"needs &lt;B&gt; &amp; &quot;D&quot;\""), std::string::npos) << s;
  EXPECT_NE(s.find("kernel k&amp;&lt;&gt;"), std::string::npos) << s;
  EXPECT_NE(s.find("classname=\"mqa_fuzz.quant_cache\""), std::string::npos) << s;
  // an inconclusive campaign carries a failing testcase, so a CI reading the XML is not green
  fuzz::CampaignResult none;
  none.cases = none.unsupported = 1;
  none.records = {{0, "op=gather", fuzz::Verdict::unsupported, 0, "no GPU"}};
  none.shortfall = fuzz::to_string(fuzz::Verdict::unsupported);
  std::ostringstream y;
  fuzz::write_junit(none, y);
  EXPECT_NE(y.str().find("type=\"INCONCLUSIVE\""), std::string::npos) << y.str();
}

TEST(Merge, ThreeShardsMergeToTheUnshardedCampaign) {
  for (const std::string& kernel : {std::string("builtin-ref"), plugin("mqa_shaped_mixed")}) {
    fuzz::CampaignOptions o = campaign(kernel, 45, 21);
    const fuzz::CampaignResult whole = run(o);
    std::vector<fuzz::CampaignResult> parts;
    std::vector<std::string> names;
    o.shards = 3;
    for (int32_t i : {2, 0, 1}) {  // any order
      o.shard = i;
      parts.push_back(fuzz::from_json_text(fuzz::to_json_text(run(o)), "s.json"));
      names.push_back("shard" + std::to_string(i) + ".json");
    }
    const fuzz::CampaignResult m = fuzz::merge_results(parts, names);
    EXPECT_EQ(m.cases, whole.cases) << kernel;
    EXPECT_EQ(m.passed, whole.passed);
    EXPECT_EQ(m.failed, whole.failed);
    EXPECT_EQ(m.unsupported, whole.unsupported);
    EXPECT_EQ(m.skipped_before_draw, whole.skipped_before_draw);
    EXPECT_EQ(m.merged_shards, (std::vector<int32_t>{0, 1, 2}));
    EXPECT_TRUE(m.shortfall.empty()) << m.shortfall;
    EXPECT_EQ(m.exit_code(), 0);
    ASSERT_EQ(m.coverage.size(), whole.coverage.size());
    for (size_t i = 0; i < m.coverage.size(); ++i) {
      EXPECT_EQ(m.coverage[i].name, whole.coverage[i].name);
      EXPECT_EQ(m.coverage[i].cases, whole.coverage[i].cases) << m.coverage[i].name;
    }
    ASSERT_EQ(m.records.size(), whole.records.size());
    for (size_t i = 0; i < m.records.size(); ++i) {
      EXPECT_EQ(m.records[i].index, whole.records[i].index);
      EXPECT_EQ(m.records[i].descriptor, whole.records[i].descriptor);
    }
    int64_t skipped = 0;
    for (const fuzz::CoverageRow& s : m.skipped_reasons) skipped += s.cases;
    EXPECT_EQ(skipped, whole.skipped_before_draw);
  }
}

TEST(Merge, RejectsShardsOfDifferentCampaignsAndSaysWhichAreMissing) {
  fuzz::CampaignOptions o = campaign("builtin-ref", 12, 21);
  o.shards = 3;
  o.shard = 0;
  const fuzz::CampaignResult a = run(o);
  o.shard = 2;
  const fuzz::CampaignResult c = run(o);
  const fuzz::CampaignResult partial = fuzz::merge_results({a, c}, {"a.json", "c.json"});
  EXPECT_EQ(partial.shortfall, "missing shards 1/3");
  EXPECT_EQ(partial.exit_code(), 1);
  EXPECT_STREQ(partial.result(), "inconclusive");
  auto field = [](const std::vector<fuzz::CampaignResult>& v) {
    return test::rejected_field([&] { (void)fuzz::merge_results(v, {"a.json", "b.json"}); });
  };
  EXPECT_EQ(field({a, a}), "shard");
  fuzz::CampaignResult other = c;
  other.seed = 22;
  EXPECT_EQ(field({a, other}), "seed");
  other = c;
  other.kernel = "builtin-hip";
  EXPECT_EQ(field({a, other}), "kernel");
  other = c;
  other.shards = 4;
  EXPECT_EQ(field({a, other}), "shards");
  other = c;
  other.constraints = "--ops gather";
  EXPECT_EQ(field({a, other}), "constraints");
  EXPECT_THROW(fuzz::from_json_text("{\"format\": 1}", "x.json"), InvalidInput);
}
