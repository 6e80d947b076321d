// What a campaign reports: the text summary, the JSON result (`--json`, read back by `fuzz
// merge`), JUnit XML (`--junit`), and the merge of the shards of one campaign.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <set>

#include "fuzz_internal.hpp"
#include "mqa/validate.hpp"

namespace mqa::fuzz {

using nlohmann::json;

// ---- Tally ---------------------------------------------------------------------------------

void Tally::add(const std::string& name, int64_t cases, int64_t failures) {
  auto [it, fresh] = index_.emplace(name, rows_.size());
  if (fresh) rows_.push_back(CoverageRow{name, 0, 0});
  rows_[it->second].cases += cases;
  rows_[it->second].failures += failures;
}

void Tally::add(const std::vector<CoverageRow>& rows) {
  for (const CoverageRow& r : rows) add(r.name, r.cases, r.failures);
}

std::vector<CoverageRow> Tally::rows() const {
  static const char* const kFirst[] = {"L = 0", "partial last page", "L % 256 == 0", "next_n > 1", "2-D lens",
                                       "page id >= 65536", "byte offset >= 2^32", "padded page stride",
                                       "clean_logits"};
  auto rank = [](const std::string& n) {
    for (size_t i = 0; i < std::size(kFirst); ++i)
      if (n == kFirst[i]) return int(i);
    return int(std::size(kFirst));
  };
  std::vector<CoverageRow> r = rows_;
  std::stable_sort(r.begin(), r.end(), [&](const CoverageRow& a, const CoverageRow& b) {
    const int ra = rank(a.name), rb = rank(b.name);
    if (ra != rb) return ra < rb;
    const size_t ea = a.name.find(" = "), eb = b.name.find(" = ");
    if (ea != std::string::npos && ea == eb && a.name.compare(0, ea, b.name, 0, eb) == 0 &&
        a.name.size() != b.name.size())
      return a.name.size() < b.name.size();  // numbers: B = 16 before B = 128
    return a.name < b.name;
  });
  return r;
}

std::vector<CoverageRow> Tally::by_count() const {
  std::vector<CoverageRow> r = rows_;
  std::stable_sort(r.begin(), r.end(), [](const CoverageRow& a, const CoverageRow& b) {
    return a.cases != b.cases ? a.cases > b.cases : a.name < b.name;
  });
  return r;
}

// ---- text ------------------------------------------------------------------------------------

std::string shortfall_text(const CampaignResult& r) {
  if (r.ran() >= r.min_run) return {};
  std::string s = std::to_string(r.ran()) + " of " + std::to_string(r.cases) + " cases ran";
  if (r.unsupported > 0) {
    s += ": " + std::to_string(r.unsupported) + " unsupported (reasons: ";
    for (size_t i = 0; i < r.unsupported_reasons.size() && i < 3; ++i) {
      if (i) s += "; ";
      s += std::to_string(r.unsupported_reasons[i].cases);
      s += "x ";
      s += r.unsupported_reasons[i].name;
    }
    if (r.unsupported_reasons.size() > 3) s += "; " + std::to_string(r.unsupported_reasons.size() - 3) + " more";
    s += ")";
  } else if (r.cases == 0) {
    s += ": no case was drawn";
  }
  if (r.min_run > 1) s += "; --min-run asks for " + std::to_string(r.min_run);
  return s;
}

void print_summary(std::ostream& out, const CampaignResult& r) {
  out << "\n== fuzz summary: kernel " << r.kernel << ", seed " << r.seed << ", ";
  if (r.merged_shards.empty()) {
    out << "shard " << r.shard << "/" << r.shards;
  } else {
    out << "shards ";
    for (size_t i = 0; i < r.merged_shards.size(); ++i) out << (i ? "," : "") << r.merged_shards[i];
    out << " of " << r.shards << " merged";
  }
  out << " ==\n";
  if (!r.constraints.empty()) out << "constraints: " << r.constraints << "\n";
  if (!r.narrowed.empty()) out << "narrowed to the shapes the kernel supports: " << r.narrowed << "\n";
  char line[240];
  std::snprintf(line, sizeof line, "cases %lld: ran %lld (passed %lld, FAILED %lld), unsupported %lld, in %s (%.1f cases/s)\n",
                static_cast<long long>(r.cases), static_cast<long long>(r.ran()), static_cast<long long>(r.passed),
                static_cast<long long>(r.failed), static_cast<long long>(r.unsupported), seconds_text(r.seconds).c_str(),
                r.seconds > 0 ? double(r.cases) / r.seconds : 0.0);
  out << line;
  if (r.skipped_before_draw > 0)
    out << "skipped before the draw: " << r.skipped_before_draw
        << " sub-draws refused by supports(), each replaced by a redraw of the same case\n";
  out << std::left << std::setw(28) << "coverage (cases that ran)" << std::right << std::setw(10) << "cases"
      << std::setw(10) << "failures" << "\n";
  out << std::string(48, '-') << "\n";
  for (const CoverageRow& c : r.coverage)
    out << std::left << std::setw(28) << c.name << std::right << std::setw(10) << c.cases << std::setw(10)
        << c.failures << "\n";
  if (!r.unsupported_reasons.empty()) {
    out << "unsupported by the kernel (cases: reason):\n";
    for (const CoverageRow& u : r.unsupported_reasons) out << std::setw(8) << u.cases << ": " << u.name << "\n";
  }
  if (!r.skipped_reasons.empty()) {
    out << "skipped before the draw (sub-draws: reason):\n";
    for (const CoverageRow& u : r.skipped_reasons) out << std::setw(8) << u.cases << ": " << u.name << "\n";
  }
  for (const Failure& f : r.failures) {
    out << "failure: " << (f.index < 0 ? std::string("the replayed case") : "case #" + std::to_string(f.index)) << " -> "
        << f.replay_command << "\n";
    if (f.shrink_stop != ShrinkStop::minimal)
      out << "  (shrink stopped at its " << (f.shrink_stop == ShrinkStop::step_limit ? "step" : "time")
          << " limit; may not be minimal: " << f.shrink_continue << ")\n";
  }
  if (r.worst_ratio >= 0)
    out << "margin: worst observed/bound of the passing cases " << r.worst_ratio << " (case #" << r.worst_ratio_case
        << ")\n";
  if (r.failed) out << "RESULT: FAIL\n";
  else if (!r.shortfall.empty()) out << "RESULT: INCONCLUSIVE: " << r.shortfall << "\n";
  else out << "RESULT: PASS\n";
}

// ---- JSON ------------------------------------------------------------------------------------

namespace {

constexpr const char* kFormat = "mqa-harness fuzz result v1";

json rows_json(const std::vector<CoverageRow>& rows, const char* key) {
  json a = json::array();
  for (const CoverageRow& c : rows) a.push_back({{key, c.name}, {"cases", c.cases}, {"failures", c.failures}});
  return a;
}

std::vector<CoverageRow> rows_from(const json& a, const char* key) {
  std::vector<CoverageRow> out;
  for (const json& c : a) out.push_back(CoverageRow{c.at(key).get<std::string>(), c.at("cases").get<int64_t>(), c.at("failures").get<int64_t>()});
  return out;
}

Verdict verdict_from(const std::string& s) {
  for (Verdict v : {Verdict::pass, Verdict::fail, Verdict::unsupported, Verdict::crash, Verdict::timeout})
    if (s == to_string(v)) return v;
  throw std::invalid_argument("unknown verdict '" + s + "'");
}

ShrinkStop shrink_stop_from(const std::string& s) {
  for (ShrinkStop v : {ShrinkStop::minimal, ShrinkStop::step_limit, ShrinkStop::time_limit})
    if (s == to_string(v)) return v;
  throw std::invalid_argument("unknown shrink_stop '" + s + "'");
}

}  // namespace

std::string to_json_text(const CampaignResult& r) {
  json j;
  j["format"] = kFormat;
  json& s = j["summary"];
  s["kernel"] = r.kernel;
  s["compare"] = r.compare;
  s["constraints"] = r.constraints;
  s["narrowed"] = r.narrowed;
  s["seed"] = r.seed;
  s["shard"] = r.merged_shards.empty() ? std::to_string(r.shard) + "/" + std::to_string(r.shards) : std::string("merged");
  s["shard_index"] = r.shard;
  s["shards"] = r.shards;
  s["merged_shards"] = r.merged_shards;
  s["cases_total"] = r.cases_total;
  s["min_run"] = r.min_run;
  s["cases"] = r.cases;
  s["ran"] = r.ran();
  s["passed"] = r.passed;
  s["failed"] = r.failed;
  s["unsupported"] = r.unsupported;
  s["skipped_before_draw"] = r.skipped_before_draw;
  s["seconds"] = r.seconds;
  s["result"] = r.result();
  s["shortfall"] = r.shortfall;
  s["worst_ratio"] = r.worst_ratio;
  s["worst_ratio_case"] = r.worst_ratio_case;
  j["unsupported_reasons"] = rows_json(r.unsupported_reasons, "reason");
  j["skipped_reasons"] = rows_json(r.skipped_reasons, "reason");
  json& fs = j["failures"] = json::array();
  for (const Failure& f : r.failures)
    fs.push_back({{"index", f.index},
                  {"verdict", to_string(f.outcome.verdict)},
                  {"original", to_string(f.original)},
                  {"shrunk", to_string(f.shrunk)},
                  {"replay", f.replay_command},
                  {"repro", f.repro_path},
                  {"shrink_steps", f.shrink_steps},
                  {"shrink_stop", to_string(f.shrink_stop)},
                  {"shrink_limit_hit", f.shrink_stop != ShrinkStop::minimal},
                  {"shrink_continue", f.shrink_continue},
                  {"cases_before", f.cases_before},
                  {"passed_before", f.passed_before},
                  {"detail", f.outcome.detail}});
  j["coverage"] = rows_json(r.coverage, "class");
  json& cs = j["cases"] = json::array();
  for (const CaseRecord& c : r.records)
    cs.push_back({{"index", c.index}, {"verdict", to_string(c.verdict)}, {"seconds", c.seconds},
                  {"descriptor", c.descriptor}, {"reason", c.reason}});
  return j.dump(1) + "\n";
}

CampaignResult from_json_text(const std::string& text, const std::string& source) {
  CampaignResult r;
  try {
    const json j = json::parse(text);
    if (j.value("format", "") != kFormat) reject(source, std::string("format"), std::string("not a '") + kFormat + "' file");
    const json& s = j.at("summary");
    r.kernel = s.at("kernel").get<std::string>();
    r.compare = s.at("compare").get<std::string>();
    r.constraints = s.at("constraints").get<std::string>();
    r.narrowed = s.at("narrowed").get<std::string>();
    r.seed = s.at("seed").get<uint64_t>();
    r.shard = s.at("shard_index").get<int32_t>();
    r.shards = s.at("shards").get<int32_t>();
    r.merged_shards = s.at("merged_shards").get<std::vector<int32_t>>();
    r.cases_total = s.at("cases_total").get<int64_t>();
    r.min_run = s.at("min_run").get<int64_t>();
    r.cases = s.at("cases").get<int64_t>();
    r.passed = s.at("passed").get<int64_t>();
    r.failed = s.at("failed").get<int64_t>();
    r.unsupported = s.at("unsupported").get<int64_t>();
    r.skipped_before_draw = s.at("skipped_before_draw").get<int64_t>();
    r.seconds = s.at("seconds").get<double>();
    r.shortfall = s.at("shortfall").get<std::string>();
    r.worst_ratio = s.value("worst_ratio", -1.0);
    r.worst_ratio_case = s.value("worst_ratio_case", int64_t(-1));
    r.unsupported_reasons = rows_from(j.at("unsupported_reasons"), "reason");
    r.skipped_reasons = rows_from(j.at("skipped_reasons"), "reason");
    r.coverage = rows_from(j.at("coverage"), "class");
    for (const json& f : j.at("failures")) {
      Failure x;
      x.index = f.at("index").get<int64_t>();
      x.outcome = Outcome{verdict_from(f.at("verdict").get<std::string>()), f.at("detail").get<std::string>()};
      x.original = parse_case(f.at("original").get<std::string>());
      x.shrunk = parse_case(f.at("shrunk").get<std::string>());
      x.replay_command = f.at("replay").get<std::string>();
      x.repro_path = f.at("repro").get<std::string>();
      x.shrink_steps = f.at("shrink_steps").get<int32_t>();
      x.shrink_stop = shrink_stop_from(f.at("shrink_stop").get<std::string>());
      x.shrink_continue = f.at("shrink_continue").get<std::string>();
      x.cases_before = f.at("cases_before").get<int64_t>();
      x.passed_before = f.at("passed_before").get<int64_t>();
      r.failures.push_back(std::move(x));
    }
    for (const json& c : j.at("cases"))
      r.records.push_back(CaseRecord{c.at("index").get<int64_t>(), c.at("descriptor").get<std::string>(),
                                     verdict_from(c.at("verdict").get<std::string>()), c.at("seconds").get<double>(),
                                     c.at("reason").get<std::string>()});
  } catch (const InvalidInput&) {
    throw;
  } catch (const std::exception& e) {
    reject(source, std::string("(file)"), std::string("not a fuzz result (--json) file: ") + e.what());
  }
  return r;
}

// ---- JUnit XML -------------------------------------------------------------------------------

std::string xml_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default:
        if (c < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') {  // not allowed in XML 1.0, even escaped
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          o += buf;
        } else {
          o += ch;
        }
    }
  }
  return o;
}

void write_junit(const CampaignResult& r, std::ostream& out) {
  auto attr = [](const std::string& s) {
    std::string q(1, '"');
    q += xml_escape(s);
    q += '"';
    return q;
  };
  auto num = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", x);
    return std::string(b);
  };
  const bool inconclusive = !r.failed && !r.shortfall.empty();
  const int64_t tests = int64_t(r.records.size()) + (inconclusive ? 1 : 0);
  const int64_t failures = r.failed + (inconclusive ? 1 : 0);
  std::string name = "mqa-harness fuzz: kernel " + r.kernel + ", seed " + std::to_string(r.seed) + ", " +
                     (r.merged_shards.empty() ? "shard " + std::to_string(r.shard) + "/" + std::to_string(r.shards)
                                              : std::to_string(r.merged_shards.size()) + " of " + std::to_string(r.shards) + " shards merged");
  const std::string counts = " tests=\"" + std::to_string(tests) + "\" failures=\"" + std::to_string(failures) +
                             "\" errors=\"0\" skipped=\"" + std::to_string(r.unsupported) + "\" time=\"" + num(r.seconds) + "\"";
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"mqa-harness fuzz\"" << counts << ">\n";
  out << "  <testsuite name=" << attr(name) << counts << ">\n";
  out << "    <properties>\n";
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"kernel", r.kernel}, {"seed", std::to_string(r.seed)}, {"compare", r.compare},
           {"constraints", r.constraints}, {"narrowed", r.narrowed}, {"result", r.result()}})
    out << "      <property name=" << attr(k) << " value=" << attr(v) << "/>\n";
  out << "    </properties>\n";
  for (const CaseRecord& c : r.records) {
    const size_t op_at = c.descriptor.find("op="), op_end = c.descriptor.find(' ', op_at);
    const std::string op = op_at == std::string::npos ? "case" : c.descriptor.substr(op_at + 3, op_end - op_at - 3);
    out << "    <testcase classname=" << attr("mqa_fuzz." + op)
        << " name=" << attr(c.index < 0 ? std::string("replay") : "case " + std::to_string(c.index))
        << " time=\"" << num(c.seconds) << "\">\n";
    if (c.verdict == Verdict::unsupported) {
      out << "      <skipped message=" << attr(c.reason) << "/>\n";
    } else if (is_failure(c.verdict)) {
      const auto f = std::find_if(r.failures.begin(), r.failures.end(), [&](const Failure& x) { return x.index == c.index; });
      std::string body = c.reason;
      if (f != r.failures.end()) {
        body = "original: " + to_string(f->original) + "\nshrunk:   " + to_string(f->shrunk) + "\n" + f->outcome.detail +
               "\nreplay: " + f->replay_command + "\n";
        if (!f->shrink_continue.empty()) body += "the shrink stopped at a limit; continue with: " + f->shrink_continue + "\n";
      }
      out << "      <failure type=" << attr(to_string(c.verdict)) << " message=" << attr(c.reason) << ">"
          << xml_escape(body) << "</failure>\n";
    }
    out << "      <system-out>" << xml_escape(c.descriptor) << "</system-out>\n";
    out << "    </testcase>\n";
  }
  if (inconclusive)  // a campaign that ran too little must not look green
    out << "    <testcase classname=\"mqa_fuzz.campaign\" name=\"enough cases ran\" time=\"0.000\">\n"
        << "      <failure type=\"INCONCLUSIVE\" message=" << attr(r.shortfall) << "/>\n"
        << "    </testcase>\n";
  out << "  </testsuite>\n</testsuites>\n";
}

// ---- merge -----------------------------------------------------------------------------------

CampaignResult merge_results(const std::vector<CampaignResult>& shards, const std::vector<std::string>& sources,
                             int64_t min_run) {
  if (shards.empty()) reject("merge", std::string("(no files)"), "give the --json files of the shards");
  auto source = [&](size_t i) { return i < sources.size() ? sources[i] : "input " + std::to_string(i + 1); };
  const CampaignResult& a = shards[0];
  auto same = [&](size_t i, const char* field, const std::string& x, const std::string& y) {
    if (x != y)
      reject(field, "'" + y + "' in " + source(i), "differs from '" + x + "' in " + source(0) + ": not shards of one campaign");
  };
  CampaignResult m;
  m.kernel = a.kernel;
  m.compare = a.compare;
  m.constraints = a.constraints;
  m.narrowed = a.narrowed;
  m.seed = a.seed;
  m.shard = -1;
  m.shards = a.shards;
  m.cases_total = a.cases_total;
  m.min_run = min_run;
  Tally cov, unsupported, skipped;
  std::map<int32_t, size_t> seen;  // shard -> input
  for (size_t i = 0; i < shards.size(); ++i) {
    const CampaignResult& s = shards[i];
    same(i, "kernel", a.kernel, s.kernel);
    same(i, "seed", std::to_string(a.seed), std::to_string(s.seed));
    same(i, "shards", std::to_string(a.shards), std::to_string(s.shards));
    same(i, "cases_total", std::to_string(a.cases_total), std::to_string(s.cases_total));
    same(i, "compare", a.compare, s.compare);
    same(i, "constraints", a.constraints, s.constraints);
    for (int32_t k : s.merged_shards.empty() ? std::vector<int32_t>{s.shard} : s.merged_shards) {
      const auto [it, fresh] = seen.emplace(k, i);
      if (!fresh)
        reject("shard", std::to_string(k) + "/" + std::to_string(a.shards),
               "is in both " + source(it->second) + " and " + source(i));
    }
    if (min_run < 0) m.min_run = std::max(m.min_run, s.min_run);
    m.cases += s.cases;
    m.passed += s.passed;
    if (s.worst_ratio > m.worst_ratio) { m.worst_ratio = s.worst_ratio; m.worst_ratio_case = s.worst_ratio_case; }
    m.failed += s.failed;
    m.unsupported += s.unsupported;
    m.skipped_before_draw += s.skipped_before_draw;
    m.seconds += s.seconds;
    cov.add(s.coverage);
    unsupported.add(s.unsupported_reasons);
    skipped.add(s.skipped_reasons);
    m.failures.insert(m.failures.end(), s.failures.begin(), s.failures.end());
    m.records.insert(m.records.end(), s.records.begin(), s.records.end());
  }
  for (const auto& [k, i] : seen) m.merged_shards.push_back(k);
  std::stable_sort(m.failures.begin(), m.failures.end(), [](const Failure& x, const Failure& y) { return x.index < y.index; });
  std::stable_sort(m.records.begin(), m.records.end(), [](const CaseRecord& x, const CaseRecord& y) { return x.index < y.index; });
  m.coverage = cov.rows();
  m.unsupported_reasons = unsupported.by_count();
  m.skipped_reasons = skipped.by_count();
  std::string missing;
  for (int32_t k = 0; k < m.shards; ++k)
    if (!seen.count(k)) {
      if (!missing.empty()) missing += ", ";
      missing += std::to_string(k);
      missing += "/";
      missing += std::to_string(m.shards);
    }
  m.shortfall = shortfall_text(m);
  if (!missing.empty()) m.shortfall = "missing shards " + missing + (m.shortfall.empty() ? "" : "; " + m.shortfall);
  return m;
}

}  // namespace mqa::fuzz
