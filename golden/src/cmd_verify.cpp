// `golden verify GOLDEN CANDIDATE` and `golden diff A B`. Exit 0 pass/identical, 1 mismatch,
// 2 bad input (with the message naming file, case and dataset). Both read files from elsewhere,
// so each runs whole in a contained child (contain.hpp).
#include <algorithm>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "compare_case.hpp"
#include "contain.hpp"
#include "golden_schema.hpp"
#include "mqa/compare.hpp"
#include "mqa/golden_cli.hpp"
#include "read_candidate.hpp"

namespace mqa::golden {
namespace {

void summary_table(const std::vector<OutputResult>& rs, std::ostream& out) {
  size_t wc = 4, wd = 7, wm = 4;
  for (const auto& r : rs) {
    wc = std::max(wc, r.case_name.size());
    wd = std::max(wd, r.dataset.size());
    wm = std::max(wm, r.mode.size());
  }
  out << std::left << std::setw(int(wc) + 2) << "case" << std::setw(int(wd) + 2) << "dataset" << std::setw(int(wm) + 2)
      << "mode" << "verdict  margin\n";
  for (const auto& r : rs)
    out << std::setw(int(wc) + 2) << r.case_name << std::setw(int(wd) + 2) << r.dataset << std::setw(int(wm) + 2)
        << r.mode << (r.pass ? "PASS   " : "FAIL   ") << (r.margin.empty() ? "" : "  " + r.margin) << "\n";
}

nlohmann::json results_json(const std::vector<OutputResult>& rs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rs)
    a.push_back({{"case", r.case_name}, {"dataset", r.dataset}, {"mode", r.mode}, {"pass", r.pass}, {"report", r.json}});
  return a;
}

std::string checkable_list(const Case& g) {
  std::string s;
  for (const auto& [n, a] : g.data)
    if (!a.compare.empty()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Shared ending: text or JSON, exit code from the results.
int finish(const std::string& what, const std::vector<OutputResult>& rs, nlohmann::json j, bool json,
           std::ostream& out, const std::vector<std::string>& notes) {
  int failed = 0;
  for (const auto& r : rs) failed += !r.pass;
  const int rc = failed ? 1 : 0;
  if (json) {
    j["verdict"] = failed ? "mismatch" : "pass";
    j["exit_code"] = rc;
    j["outputs"] = results_json(rs);
    j["notes"] = notes;
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return rc;
  }
  for (const auto& n : notes) out << "note: " << n << "\n";
  for (const auto& r : rs)
    if (!r.pass) out << r.text << "\n";
  summary_table(rs, out);
  out << what << ": " << (failed ? "FAIL" : "PASS") << " (" << rs.size() - size_t(failed) << " of " << rs.size()
      << " outputs match)\n";
  return rc;
}

int bad_input(const std::exception& e, bool json, nlohmann::json j, std::ostream& out, std::ostream& err) {
  err << "error: " << e.what() << "\n";
  if (json) {
    j["verdict"] = "error";
    j["exit_code"] = 2;
    j["error"] = e.what();
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 2;
}

int verify_here(const VerifyOptions& o, std::ostream& out, std::ostream& err) {
  nlohmann::json j = {{"golden", o.golden}, {"candidate", o.candidate}};
  try {
    const ReadOptions ro{true, true, o.unchecked};
    const File g = read_file(o.golden, ro);
    if (g.kind != FileKind::golden) throw GoldenError(o.golden, "", "", std::string("kind = ") + to_string(g.kind) + "; expected a golden file");
    const File c = read_candidate(o.candidate, ro, g);  // its declared sizes bounded by the golden's
    if (c.kind != FileKind::candidate)
      throw GoldenError(o.candidate, "", "", std::string("kind = ") + to_string(c.kind) +
                                                 "; expected a candidate file (use `golden diff` for two goldens)");
    for (const Case& cc : c.cases)
      if (!g.find(cc.name)) throw GoldenError(o.candidate, cc.name, "", "case is not in the golden file " + o.golden);
    std::vector<OutputResult> rs;
    std::vector<std::string> notes;
    if (!o.logits_mode.empty()) notes.push_back("logits compared in mode '" + o.logits_mode + "' (--mode), not the golden's");
    size_t skipped = 0;
    for (const Case& gc : g.cases) {
      const Case* cc = c.find(gc.name);
      if (!cc) {
        if (!o.subset) throw GoldenError(o.candidate, gc.name, "", "missing: the candidate has no group for this golden case");
        ++skipped;
        continue;
      }
      for (const std::string& name : o.required)
        if (!cc->data.count(name))
          throw GoldenError(o.candidate, gc.name, name, "missing (a " + gc.info.op + " candidate must hold it)");
      const auto outside = cc->data.find("logits_outside");
      if (outside != cc->data.end() && !cc->data.count("logits"))
        throw GoldenError(o.candidate, gc.name, "logits_outside",
                          "only beside logits by regions (the candidate has no logits)");
      for (const auto& [name, a] : cc->data) {
        if (name == "logits_outside") continue;  // judged with the logits it belongs to
        auto it = gc.data.find(name);
        if (it == gc.data.end() || it->second.compare.empty())
          throw GoldenError(o.candidate, gc.name, name, "not a checkable output of this case (checkable: " + checkable_list(gc) + ")");
        rs.push_back(compare_dataset(gc, name, a, name == "logits" ? o.logits_mode : "", o.candidate, o.max_listed,
                                     name == "logits" && outside != cc->data.end() ? &outside->second : nullptr));
      }
    }
    if (rs.empty()) throw GoldenError(o.candidate, "", "", "no output compared (the candidate holds no golden case)");
    if (skipped) notes.push_back("--subset: " + std::to_string(skipped) + " golden case(s) not in the candidate were skipped");
    if (o.worst_ratio) {
      *o.worst_ratio = -1;
      for (const OutputResult& r : rs)
        if (r.dataset == "logits" && r.mode.rfind("tolerance", 0) == 0) {
          const auto w = r.json.find("worst");
          const bool has = w != r.json.end() && w->contains("ratio") && (*w)["ratio"]["ratio"].is_number();
          *o.worst_ratio = std::max(*o.worst_ratio, has ? (*w)["ratio"]["ratio"].get<double>() : 0.0);
        }
    }
    return finish("verify", rs, j, o.json, out, notes);
  } catch (const std::exception& e) {
    return bad_input(e, o.json, j, out, err);
  }
}

int diff_here(const DiffOptions& o, std::ostream& out, std::ostream& err) {
  nlohmann::json j = {{"a", o.a}, {"b", o.b}};
  try {
    const ReadOptions ro{true, true, o.unchecked};
    const File A = read_file(o.a, ro), B = read_file(o.b, ro);
    std::vector<OutputResult> rs;
    std::vector<std::string> notes;
    if (A.generator_version != B.generator_version)
      notes.push_back("generator_version " + A.generator_version + " vs " + B.generator_version);
    std::set<std::string> names;
    for (const Case& c : A.cases) names.insert(c.name);
    for (const Case& c : B.cases) names.insert(c.name);
    for (const std::string& n : names) {
      const Case *ca = A.find(n), *cb = B.find(n);
      if (!ca || !cb) {
        rs.push_back(OutputResult{n, "*", "-", false, n + ": case only in " + (ca ? o.a : o.b), {}, {}});
        continue;
      }
      if (ca->info.descriptor != cb->info.descriptor)
        notes.push_back(n + ": descriptor '" + ca->info.descriptor + "' vs '" + cb->info.descriptor + "'");
      std::set<std::string> ds;
      for (const auto& [d, a] : ca->data) ds.insert(d);
      for (const auto& [d, a] : cb->data) ds.insert(d);
      for (const std::string& d : ds) {
        auto ia = ca->data.find(d), ib = cb->data.find(d);
        if (ia == ca->data.end() || ib == cb->data.end()) {
          rs.push_back(OutputResult{n, d, "-", false, n + "/" + d + ": only in " + (ia != ca->data.end() ? o.a : o.b), {}, {}});
          continue;
        }
        const Array &a = ia->second, &b = ib->second;
        if (a.dtype != b.dtype || a.shape != b.shape) {
          rs.push_back(OutputResult{n, d, "-", false,
                                    n + "/" + d + ": " + to_string(a.dtype) + " " + shape_string(a.shape) + " vs " +
                                        to_string(b.dtype) + " " + shape_string(b.shape),
                                    {}, {}});
          continue;
        }
        if (a.bytes == b.bytes) {
          rs.push_back(OutputResult{n, d, "identical", true, {}, {{"identical", true}}, {}});
          continue;
        }
        // A golden A explains differences in each dataset's own mode; anything else byte by byte.
        if (A.kind == FileKind::golden && !a.compare.empty()) rs.push_back(compare_dataset(*ca, d, b, "", o.b, o.max_listed));
        else rs.push_back(compare_raw(n, d, a, b, o.max_listed));
      }
    }
    int failed = 0;
    for (const auto& r : rs) failed += !r.pass;
    if (!o.json) {
      for (const auto& n : notes) out << "note: " << n << "\n";
      for (const auto& r : rs)
        if (!r.pass) out << r.text << "\n";
      summary_table(rs, out);
      out << "diff: " << (failed ? "DIFFERENT" : "IDENTICAL") << " (" << failed << " of " << rs.size()
          << " datasets differ)\n";
      return failed ? 1 : 0;
    }
    j["verdict"] = failed ? "different" : "identical";
    j["exit_code"] = failed ? 1 : 0;
    j["datasets"] = results_json(rs);
    j["notes"] = notes;
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    return bad_input(e, o.json, j, out, err);
  }
}

}  // namespace

int verify(const VerifyOptions& o, std::ostream& out, std::ostream& err) {
  double ratio = -1;  // the child's worst ratio comes back through run_contained's extra
  VerifyOptions inner = o;
  if (o.worst_ratio) inner.worst_ratio = &ratio;
  const nlohmann::json j = {{"golden", o.golden}, {"candidate", o.candidate}};
  auto failed = [&](const std::string& why, std::ostream& fo, std::ostream& fe) {
    return bad_input(std::runtime_error(why), o.json, j, fo, fe);
  };
  const int rc = run_contained(
      "golden verify", {o.golden, o.candidate}, out, err,
      [&](std::ostream& co, std::ostream& ce) { return verify_here(inner, co, ce); }, failed,
      o.worst_ratio ? &ratio : nullptr);
  if (o.worst_ratio) *o.worst_ratio = ratio;
  return rc;
}

int diff(const DiffOptions& o, std::ostream& out, std::ostream& err) {
  const nlohmann::json j = {{"a", o.a}, {"b", o.b}};
  auto failed = [&](const std::string& why, std::ostream& fo, std::ostream& fe) {
    return bad_input(std::runtime_error(why), o.json, j, fo, fe);
  };
  return run_contained("golden diff", {o.a, o.b}, out, err,
                       [&](std::ostream& co, std::ostream& ce) { return diff_here(o, co, ce); }, failed);
}

}  // namespace mqa::golden
