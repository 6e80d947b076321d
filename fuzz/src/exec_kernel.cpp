// The exec kernels: any program (a Python script calling aiter or DeepGEMM, a CUDA binary)
// through golden-schema HDF5 files (fuzz/README.md "exec protocol").
//
// `exec:CMD {in} {out}`: per case, the harness writes {in}, an INPUT file (kind = input: the
// case's inputs, no expected output, the op's output buffer pre-filled with its sentinel) and
// runs `sh -c CMD` in a process group of its own. The program writes the candidate file {out}
// and exits 0; 77 = unsupported case; any other status is a failure. `exec-worker:CMD` keeps
// one process: per case one line "IN OUT" on its stdin, one answer line on its stdout ("ok",
// "unsupported REASON", "error MSG") after it wrote OUT.
//
// The expected outputs never reach the program: the harness writes the golden file of the case
// only after the command's process group is dead, and judges the candidate with `golden verify`
// in the campaign's mode, with the sentinel checked outside the region the kernel may write
// (--writes), as the plugin route does. A timeout kills the whole group (grandchildren too).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "exec_process.hpp"
#include "fuzz_internal.hpp"
#include "mqa/golden.hpp"
#include "mqa/golden_cases.hpp"
#include "mqa/golden_cli.hpp"

namespace mqa::fuzz {

namespace fs = std::filesystem;

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

std::string seconds_str(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%g s", s);
  return b;
}

// The input file's case: the golden case less every expected output; the op's output buffer
// holds the sentinel the plugin route pre-fills (logits) or the pool before the write (cache).
golden::Case input_case(golden::Case c) {
  const std::string& op = c.info.op;
  if (op == "paged_logits" || op == "gather") {  // the gather of the pages would bypass the paging
    c.data.erase("gathered_values");
    c.data.erase("gathered_scales");
  }
  if (op == "paged_logits" || op == "ragged_logits") {
    c.data.erase("topk");
    golden::Array& l = c.data.at("logits");
    const uint32_t bits = c.info.logits_sentinel;
    for (size_t i = 0; i + 4 <= l.bytes.size(); i += 4) std::memcpy(l.bytes.data() + i, &bits, 4);
    l.compare.clear();
  }
  if (op == "quant_cache") {
    golden::Array& cache = c.data.at("cache");
    std::fill(cache.bytes.begin(), cache.bytes.end(), uint8_t(c.info.cache_fill));
    cache.compare.clear();
  }
  for (auto it = c.data.begin(); it != c.data.end();)
    it = it->first.rfind("logits_bound_", 0) == 0 ? c.data.erase(it) : std::next(it);
  return c;
}

// What a candidate must hold: the op's own outputs (a file holding only a copy of an input,
// e.g. `cache` of a paged case, would otherwise compare equal and pass).
std::vector<std::string> required_outputs(const std::string& op) {
  if (op == "quant_cache") return {"cache"};
  if (op == "gather") return {"gathered_values", "gathered_scales"};
  return {"logits"};
}

// The logits mode of the campaign plus what the plugin route adds: the sentinel outside the
// region the kernel may write (--writes) and -inf past L_r with clean_logits.
std::string logits_mode(const RunOptions& o, const golden::CaseInfo& info) {
  char sentinel[32];
  std::snprintf(sentinel, sizeof sentinel, ",sentinel:0x%08X", info.logits_sentinel);
  return o.compare + (info.clean_logits ? ",clean" : "") + sentinel +
         (o.writes == WriteScope::defined ? ",writes:defined" : ",writes:columns");
}

class ExecKernel final : public Kernel {
 public:
  ExecKernel(std::string spec, bool worker) : spec_(std::move(spec)), worker_(worker) {
    cmd_ = spec_.substr(spec_.find(':') + 1);
    const bool has_in = cmd_.find("{in}") != std::string::npos, has_out = cmd_.find("{out}") != std::string::npos;
    if (cmd_.find_first_not_of(" \t") == std::string::npos)
      throw std::runtime_error("invalid --kernel = '" + spec_ + "': no command after '" + spec_.substr(0, spec_.find(':') + 1) + "'");
    if (!worker_ && (!has_in || !has_out))
      throw std::runtime_error("invalid --kernel = '" + spec_ + "': an exec command needs both {in} and {out}");
    if (worker_ && (has_in || has_out))
      throw std::runtime_error("invalid --kernel = '" + spec_ +
                               "': an exec-worker command takes no {in} / {out} (it reads 'IN OUT' lines on stdin)");
    char tmpl[] = "/tmp/mqa-fuzz-exec-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("kernel '" + spec_ + "': cannot create a temp directory");
    dir_ = tmpl;
  }
  ~ExecKernel() override {
    stop_worker();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& spec() const override { return spec_; }
  bool trusted() const override { return false; }
  bool isolates_itself() const override { return true; }

  Outcome run(const CaseTensors& t, const RunOptions& o) const override {
    const std::string in = dir_ + "/case.h5", out = dir_ + "/candidate.h5", gold = dir_ + "/golden.h5";
    std::error_code ec;
    fs::remove(out, ec);
    golden::File f;
    f.generator_version = golden::generator_version();
    f.cases.push_back(golden::case_from_tensors("repro", t));
    try {
      golden::File input = f;
      input.kind = golden::FileKind::input;
      input.cases[0] = input_case(f.cases[0]);
      golden::write_file(in, input);
    } catch (const std::exception& e) {
      return Outcome{Verdict::fail, std::string("cannot write the case file: ") + e.what()};
    }
    Outcome ran = worker_ ? run_worker(in, out, o.timeout_s) : run_command(in, out, o.timeout_s);
    fs::remove(in, ec);
    if (ran.verdict != Verdict::pass) return ran;
    Outcome judged = judge(f, gold, out, o);
    fs::remove(out, ec);
    fs::remove(gold, ec);
    return judged;
  }

 private:
  Outcome run_command(const std::string& in, const std::string& out, double timeout_s) const {
    const std::string cmd = replace_all(replace_all(cmd_, "{in}", in), "{out}", out);
    std::string why;
    const pid_t pid = spawn_in_group({"/bin/sh", "-c", cmd}, SpawnFds{}, &why);
    if (pid < 0) return Outcome{Verdict::crash, why};
    const GroupEnd e = wait_group(pid, timeout_s);
    if (e.timed_out)
      return Outcome{Verdict::timeout, "command '" + cmd + "' ran past the case timeout (--case-timeout " +
                                           seconds_str(timeout_s) + "); its process group was killed"};
    if (!e.exited)
      return Outcome{Verdict::crash, "command '" + cmd + "' was killed by signal " + std::to_string(e.signal) + " (" +
                                         strsignal(e.signal) + ")"};
    if (e.code == 77) return Outcome{Verdict::unsupported, "command exited 77 (unsupported)"};
    if (e.code != 0) return Outcome{Verdict::fail, "command '" + cmd + "' exited " + std::to_string(e.code)};
    return Outcome{};
  }

  // exec-worker: one line to the worker, one line back, under the deadline; a worker that hangs
  // or dies is killed (its group) and the next case starts a new one.
  Outcome run_worker(const std::string& in, const std::string& out, double timeout_s) const {
    if (pid_ > 0 && exited(pid_)) stop_worker();  // it quit after its last answer
    if (pid_ <= 0) {
      if (Outcome o = start_worker(); o.verdict != Verdict::pass) return o;
    }
    const std::string line = in + " " + out + "\n";
    struct sigaction ignore{}, old{};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old);  // a dead worker: EPIPE, not the end of the harness
    bool sent = true;
    for (size_t off = 0; off < line.size();) {
      const ssize_t n = write(to_worker_, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        sent = false;
        break;
      }
      off += size_t(n);
    }
    sigaction(SIGPIPE, &old, nullptr);
    std::string answer;
    auto answered = [&] {
      char buf[4096];
      for (;;) {
        const ssize_t n = read(from_worker_, buf, sizeof buf);
        if (n > 0) {
          reply_.append(buf, size_t(n));
          continue;
        }
        break;
      }
      const size_t nl = reply_.find('\n');
      if (nl == std::string::npos) return false;
      answer = reply_.substr(0, nl);
      reply_.erase(0, nl + 1);
      return true;
    };
    const GroupEnd e = sent ? wait_group(pid_, timeout_s, answered) : wait_group(pid_, 1e-9);
    if (!e.answered) {
      pid_ = -1;
      close_pipes();
      if (e.timed_out && sent)
        return Outcome{Verdict::timeout, "worker '" + cmd_ + "' gave no answer within the case timeout (--case-timeout " +
                                             seconds_str(timeout_s) + "); its process group was killed"};
      return Outcome{Verdict::crash, "worker '" + cmd_ + "' ended before answering (" +
                                         (e.exited ? "exit status " + std::to_string(e.code)
                                                   : "signal " + std::to_string(e.signal)) +
                                         "); the next case starts a new one"};
    }
    if (answer == "ok") return Outcome{};
    if (answer.rfind("unsupported", 0) == 0)
      return Outcome{Verdict::unsupported, answer.size() > 12 ? answer.substr(12) : "worker said unsupported"};
    if (answer.rfind("error", 0) == 0) return Outcome{Verdict::fail, "worker '" + cmd_ + "' answered: " + answer};
    return Outcome{Verdict::fail, "worker '" + cmd_ + "' answered '" + answer.substr(0, 200) +
                                      "', expected 'ok', 'unsupported REASON' or 'error MSG' (logs belong on stderr)"};
  }

  Outcome start_worker() const {
    int to[2], from[2];
    if (pipe(to) != 0) return Outcome{Verdict::crash, std::string("pipe: ") + std::strerror(errno)};
    if (pipe(from) != 0) {
      close(to[0]);
      close(to[1]);
      return Outcome{Verdict::crash, std::string("pipe: ") + std::strerror(errno)};
    }
    fcntl(to[1], F_SETFD, FD_CLOEXEC);
    fcntl(from[0], F_SETFD, FD_CLOEXEC);
    std::string why;
    pid_ = spawn_in_group({"/bin/sh", "-c", cmd_}, SpawnFds{to[0], from[1], {to[1], from[0]}}, &why);
    close(to[0]);
    close(from[1]);
    to_worker_ = to[1];
    from_worker_ = from[0];
    fcntl(from_worker_, F_SETFL, fcntl(from_worker_, F_GETFL) | O_NONBLOCK);
    reply_.clear();
    if (pid_ < 0) {
      close_pipes();
      return Outcome{Verdict::crash, why};
    }
    return Outcome{};
  }

  void close_pipes() const {
    if (to_worker_ >= 0) close(to_worker_);
    if (from_worker_ >= 0) close(from_worker_);
    to_worker_ = from_worker_ = -1;
  }

  void stop_worker() const {
    if (pid_ > 0) kill_group(pid_);
    pid_ = -1;
    close_pipes();
  }

  // The golden file is written now that no process of the kernel runs any more. The candidate
  // (the kernel's file) is read only inside verify's contained child: a file that crashes HDF5
  // fails this case, never the harness.
  Outcome judge(const golden::File& f, const std::string& gold, const std::string& out, const RunOptions& o) const {
    const golden::Case& g = f.cases[0];
    try {
      golden::write_file(gold, f);
    } catch (const std::exception& e) {
      return Outcome{Verdict::fail, std::string("bad candidate file: ") + e.what()};
    }
    golden::VerifyOptions vo;
    vo.golden = gold;
    vo.candidate = out;
    vo.max_listed = o.max_listed;
    vo.required = required_outputs(g.info.op);
    if (is_logits_op_name(g.info.op)) vo.logits_mode = logits_mode(o, g.info);
    std::ostringstream text, err;
    double worst_ratio = -1;
    vo.worst_ratio = &worst_ratio;
    const int rc = golden::verify(vo, text, err);
    if (rc == 0) {  // tolerance modes: the margin, for the campaign's summary
      Outcome ok;
      if (worst_ratio >= 0) ok.detail = kMarginPrefix + std::to_string(worst_ratio);
      return ok;
    }
    return Outcome{Verdict::fail, (rc == 2 ? "bad candidate file: " : "") + err.str() + text.str()};
  }

  static bool is_logits_op_name(const std::string& op) { return op == "paged_logits" || op == "ragged_logits"; }

  std::string spec_, cmd_, dir_;
  bool worker_ = false;
  mutable pid_t pid_ = -1;  // the worker (exec-worker), started by the first case
  mutable int to_worker_ = -1, from_worker_ = -1;
  mutable std::string reply_;
};

}  // namespace

std::unique_ptr<Kernel> make_exec_kernel(const std::string& spec) {
  return std::make_unique<ExecKernel>(spec, spec.rfind("exec-worker:", 0) == 0);
}

}  // namespace mqa::fuzz
