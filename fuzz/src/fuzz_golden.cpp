// The campaign's use of golden files: repro files, and the `exec:` kernel that runs any program
// (a Python script calling aiter or DeepGEMM, a CUDA binary) through golden-schema HDF5 files.
//
// exec protocol: the harness writes one case to {in} (a golden file: inputs AND expected
// outputs, schema v1) and runs `sh -c CMD` with {in} and {out} replaced by the two paths. The
// program writes a candidate file {out} with its outputs under the same case name, and exits 0;
// exit status 77 means "unsupported case" (skipped, like automake's SKIP); any other status is a
// failure. The candidate is judged by `golden verify` in each output's golden mode.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "fuzz_internal.hpp"
#include "mqa/golden.hpp"
#include "mqa/golden_cases.hpp"
#include "mqa/golden_cli.hpp"

namespace mqa::fuzz {

namespace fs = std::filesystem;

bool write_case_file(const std::string& path, const CaseTensors& t, std::string* why) {
  try {
    golden::File f;
    f.generator_version = golden::generator_version();
    f.cases.push_back(golden::case_from_tensors("repro", t));
    golden::write_file(path, f);
    return true;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return false;
  }
}

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

class ExecKernel final : public Kernel {
 public:
  explicit ExecKernel(std::string spec) : spec_(std::move(spec)), cmd_(spec_.substr(5)) {
    if (cmd_.find("{in}") == std::string::npos || cmd_.find("{out}") == std::string::npos)
      throw std::runtime_error("kernel '" + spec_ + "': an exec command needs both {in} and {out}");
    char tmpl[] = "/tmp/mqa-fuzz-exec-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("kernel '" + spec_ + "': cannot create a temp directory");
    dir_ = tmpl;
  }
  ~ExecKernel() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& spec() const override { return spec_; }
  bool trusted() const override { return true; }  // the program already runs in its own process
  Outcome run(const CaseTensors& t, const RunOptions& o) const override {
    // per process (isolated children share the directory)
    const std::string tag = std::to_string(getpid());
    const std::string in = dir_ + "/case-" + tag + ".h5", out = dir_ + "/candidate-" + tag + ".h5";
    std::string why;
    if (!write_case_file(in, t, &why)) return Outcome{Verdict::fail, "cannot write the case file: " + why};
    std::error_code ec;
    fs::remove(out, ec);
    const std::string cmd = replace_all(replace_all(cmd_, "{in}", in), "{out}", out);
    const int status = std::system(cmd.c_str());
    if (status == -1 || !WIFEXITED(status))
      return Outcome{Verdict::crash, "command '" + cmd + "' did not exit normally (status " + std::to_string(status) + ")"};
    if (WEXITSTATUS(status) == 77) return Outcome{Verdict::unsupported, "command exited 77 (unsupported)"};
    if (WEXITSTATUS(status) != 0)
      return Outcome{Verdict::fail, "command '" + cmd + "' exited " + std::to_string(WEXITSTATUS(status))};
    golden::VerifyOptions vo;
    vo.golden = in;
    vo.candidate = out;
    vo.max_listed = o.max_listed;
    if (o.compare != "bitwise") vo.logits_mode = o.compare;
    std::ostringstream text, err;
    const int rc = golden::verify(vo, text, err);
    fs::remove(in, ec);
    fs::remove(out, ec);
    if (rc == 0) return Outcome{};
    return Outcome{Verdict::fail, (rc == 2 ? "bad candidate file: " : "") + err.str() + text.str()};
  }

 private:
  std::string spec_, cmd_, dir_;
};

}  // namespace

std::unique_ptr<Kernel> make_exec_kernel(const std::string& spec) { return std::make_unique<ExecKernel>(spec); }

}  // namespace mqa::fuzz
