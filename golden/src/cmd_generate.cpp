// `golden generate`: materialise a suite or a case list, write it atomically and durably
// (write_file: temporary file, fsync, rename; a failed write keeps the old file), and when an
// existing file is replaced (--force) list every dataset whose bytes changed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <ostream>

#include "mqa/golden_cases.hpp"
#include "mqa/golden_cli.hpp"
#include "mqa/validate.hpp"

namespace mqa::golden {
namespace {

using Clock = std::chrono::steady_clock;

void progress_line(std::ostream& err, size_t done, size_t total, double secs) {
  const int width = 30;
  const int filled = total ? int(double(width) * double(done) / double(total)) : width;
  const double rate = secs > 0 ? double(done) / secs : 0.0;
  const double eta = rate > 0 ? double(total - done) / rate : 0.0;
  err << "\r[" << std::string(size_t(filled), '#') << std::string(size_t(width - filled), '.') << "] " << done << "/"
      << total << " cases, " << std::fixed << std::setprecision(1) << rate << " cases/s, ETA " << eta << " s   "
      << std::flush;
}

// Dataset-level differences between the file being replaced and the new content.
// Returns the number of changes (0: same cases, descriptors and dataset bytes).
int report_changes(const File& old_file, const File& next, std::ostream& out) {
  int changed = 0, same = 0;
  for (const Case& c : next.cases) {
    const Case* o = old_file.find(c.name);
    if (!o) {
      out << "  added case " << c.name << "\n";
      ++changed;
      continue;
    }
    int differ = 0;
    std::string lines;
    for (const auto& [n, a] : c.data) {
      auto it = o->data.find(n);
      if (it == o->data.end()) { lines += "  " + c.name + "/" + n + ": added\n"; ++differ; continue; }
      if (it->second.shape != a.shape || it->second.bytes != a.bytes || it->second.compare != a.compare) {
        lines += "  " + c.name + "/" + n + ": changed\n";
        ++differ;
      } else {
        ++same;
      }
    }
    changed += differ;
    if (o->info.descriptor != c.info.descriptor) {  // a different case under the same name
      out << "  " << c.name << ": descriptor changed (" << differ << " dataset(s) differ)\n";
      ++changed;
    } else {
      out << lines;
    }
    for (const auto& [n, a] : o->data)
      if (!c.data.count(n)) { out << "  " << c.name << "/" << n << ": removed\n"; ++changed; }
  }
  for (const Case& o : old_file.cases)
    if (!next.find(o.name)) { out << "  removed case " << o.name << "\n"; ++changed; }
  out << "overwrite: " << changed << " dataset(s)/case(s) changed, " << same << " dataset(s) unchanged\n";
  return changed;
}

}  // namespace

int generate(const GenerateOptions& o, std::ostream& out, std::ostream& err) {
  try {
    if (o.out.empty()) reject("--out", std::string("(none)"), "an output path is required");
    if (o.suite.empty() == o.case_list.empty()) reject("--suite/--cases", std::string(o.suite + o.case_list), "give exactly one of them");
    const bool exists = std::filesystem::exists(o.out);
    if (exists && !o.force) {
      err << "error: " << o.out << " exists; pass --force to overwrite it (the changed datasets are listed)\n";
      return 2;
    }
    std::vector<CaseLine> lines;
    if (o.suite.empty()) lines = read_case_list(o.case_list);
    else
      for (const std::string& d : builtin_suite(o.suite)) lines.push_back(CaseLine{0, d});
    const std::string prefix = o.suite.empty() ? "case" : o.suite;
    std::vector<ToleranceModel> models;
    for (size_t at = 0; !o.bounds.empty() && at <= o.bounds.size();) {
      const size_t comma = std::min(o.bounds.find(',', at), o.bounds.size());
      models.push_back(tolerance_model_from_string(o.bounds.substr(at, comma - at)));
      at = comma + 1;
    }
    File f;
    f.generator_version = generator_version();
    const auto t0 = Clock::now();
    std::map<std::string, int> per_op;
    for (size_t i = 0; i < lines.size(); ++i) {
      try {
        f.cases.push_back(generate_case(case_name(prefix, i), lines[i].descriptor, models));
      } catch (const InvalidInput& e) {
        const std::string where = o.suite.empty() ? "line " + std::to_string(lines[i].line) + ": " : "";
        throw GoldenError(o.suite.empty() ? o.case_list : "suite " + o.suite, case_name(prefix, i), "",
                          where + e.what() + " (descriptor: " + lines[i].descriptor + ")");
      }
      ++per_op[f.cases.back().info.op];
      if (o.progress) progress_line(err, i + 1, lines.size(), std::chrono::duration<double>(Clock::now() - t0).count());
    }
    if (o.progress) err << "\n";
    if (exists) {
      try {
        // Through the integrity gate: a damaged file must not reach HDF5 (which may crash on it);
        // it is then "unreadable" and replaced. Not validated: an older schema's shapes still list.
        const File old_file = read_file(o.out, ReadOptions{true, false, false});
        if (report_changes(old_file, f, out) == 0 && old_file.schema_version == f.schema_version) {
          // Same bits: keep the file (and its provenance) instead of churning it.
          out << "kept " << o.out << ": no dataset changed (generated by " << old_file.generator_version << ")\n";
          return 0;
        }
      } catch (const GoldenError& e) {
        out << "overwrite: the existing file was unreadable (" << e.what() << "); replacing it\n";
      }
    }
    write_file(o.out, f);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    int64_t bytes = 0;
    for (const Case& c : f.cases)
      for (const auto& [n, a] : c.data) bytes += int64_t(a.bytes.size());
    out << "wrote " << o.out << " (" << std::filesystem::file_size(o.out) << " bytes on disk, " << bytes
        << " bytes of data) generator " << f.generator_version << "\n";
    out << std::left << std::setw(16) << "op" << "cases\n";
    for (const auto& [op, n] : per_op) out << std::setw(16) << op << n << "\n";
    out << std::setw(16) << "total" << f.cases.size() << " in " << std::fixed << std::setprecision(2) << secs << " s\n";
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace mqa::golden
