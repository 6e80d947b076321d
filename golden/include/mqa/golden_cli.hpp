// `mqa-harness golden generate|verify|diff|inspect`. add_cli() registers the subcommands on the
// harness's CLI11 app; each subcommand ends by throwing CLI::RuntimeError(code) when its exit
// code is not 0, so the caller's usual `catch (const CLI::ParseError& e) { return app.exit(e); }`
// returns it. Exit codes: 0 pass / identical, 1 mismatch / different, 2 bad input (unreadable,
// corrupt or inconsistent files, bad arguments), with one clear message on stderr.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mqa::golden {

void add_cli(CLI::App& app);

// A golden-only program: `<argv0> golden ...` (used by golden/tools/mqa-golden and the tests).
// CLI usage errors also return 2.
int run_cli(int argc, const char* const* argv);

// The library entries behind the subcommands (return the exit code; never throw).
struct GenerateOptions {
  std::string suite;      // built-in suite name, or
  std::string case_list;  // a file of descriptors
  std::string bounds;     // "fp32,fp8_mma": tolerance bounds stored next to the logits
  std::string out;
  bool force = false;
  bool progress = true;
};
int generate(const GenerateOptions& o, std::ostream& out, std::ostream& err);

struct VerifyOptions {
  std::string golden, candidate;
  bool json = false;
  bool subset = false;       // compare only the cases the candidate holds (at least one)
  std::string logits_mode;   // overrides every logits output's mode (e.g. "tolerance")
  int max_listed = 10;
  bool unchecked = false;    // accept files without the header / dataset checksums (ReadOptions)
  double* worst_ratio = nullptr;  // out, when set: the largest observed/bound of the compared
                                  // logits (tolerance modes; 0 when bit-exact, -1 when none)
  // Datasets every candidate case must hold (e.g. the exec route's "logits": a file holding only a
  // copy of an input would otherwise compare equal); missing -> exit 1 naming the case and dataset.
  std::vector<std::string> required;
};
int verify(const VerifyOptions& o, std::ostream& out, std::ostream& err);

struct DiffOptions {
  std::string a, b;
  bool json = false;
  int max_listed = 10;
  bool unchecked = false;
};
int diff(const DiffOptions& o, std::ostream& out, std::ostream& err);

struct InspectOptions {
  std::string file;
  std::string case_name;  // only this case
  int64_t byte = -1;      // with case_name: describe this cache byte
  bool maps = true;       // draw the page map of each distinct page layout
  bool no_verify = false; // skip checksum verification (forensics)
  bool unchecked = false; // accept a file without the header / dataset checksums
};
int inspect(const InspectOptions& o, std::ostream& out, std::ostream& err);

}  // namespace mqa::golden
