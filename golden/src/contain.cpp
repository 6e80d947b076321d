// Contained reads (contain.hpp says why). The child runs the whole command into string streams
// and sends back framed records through a pipe: 'R' path (a file it starts to read), then 'O'
// stdout text, 'E' stderr text, 'X' the extra value, 'C' the exit code. A child that dies before
// 'C' gave no answer, and the parent says which file it was reading.
#include "contain.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <ostream>
#include <sstream>
#include <stdexcept>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MQA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define MQA_SANITIZED 1
#endif
#endif

namespace mqa::golden {
namespace {

int g_report_fd = -1;         // inside a contained child: the pipe to the parent
int64_t g_memory_limit = -1;  // inside a contained child: the address space it may add

struct Limits {
  bool contain = true;
  int seconds = 120;      // wall clock
  int cpu_seconds = 120;  // RLIMIT_CPU (MQA_READER_CPU; default the wall-clock limit)
  int64_t memory = -1;
};

int64_t env_number(const char* name, const char* v, bool byte_suffix) {
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v, &end, 10);
  int shift = 0;
  if (byte_suffix && end && *end && !end[1]) shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
  if (shift > 0) ++end;
  if (end == v || *end || errno || n <= 0 || shift < 0 || n > (int64_t(1) << (62 - shift)))
    throw std::runtime_error(std::string(name) + " = '" + v + "': expected a positive " +
                             (byte_suffix ? "number of bytes (suffix K, M or G allowed)" : "number of seconds"));
  return int64_t(n) << shift;
}

Limits limits_for(const std::vector<std::string>& files) {
  Limits l;
  if (const char* c = std::getenv("MQA_READER_CONTAIN")) l.contain = std::string(c) != "0";
  if (const char* t = std::getenv("MQA_READER_TIMEOUT"))
    l.seconds = int(std::min<int64_t>(env_number("MQA_READER_TIMEOUT", t, false), 86400));
  l.cpu_seconds = l.seconds;
  if (const char* t = std::getenv("MQA_READER_CPU"))
    l.cpu_seconds = int(std::min<int64_t>(env_number("MQA_READER_CPU", t, false), 86400));
  if (const char* m = std::getenv("MQA_READER_MEMORY")) {
    l.memory = env_number("MQA_READER_MEMORY", m, true);
  } else {  // enough for the data of both files several times over; an allocation storm is far more
    int64_t bytes = 0;
    for (const std::string& f : files) {
      std::error_code ec;
      const auto n = std::filesystem::file_size(f, ec);
      if (!ec) bytes += int64_t(std::min<uintmax_t>(n, uintmax_t(1) << 40));
    }
    l.memory = (int64_t(4) << 30) + 8 * bytes;
  }
  return l;
}

// Address space the process holds now (the child inherits the parent's mappings, e.g. a sparse
// pool of the fuzz campaign, so its limit is this plus its allowance).
[[maybe_unused]] int64_t address_space_now() {  // (unused under ASan: no limit there)
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long long pages = 0;
  if (f) {
    if (std::fscanf(f, "%lld", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return int64_t(pages) * int64_t(sysconf(_SC_PAGESIZE));
}

void send(char tag, const std::string& payload) {
  std::string rec(1, tag);
  const uint64_t n = payload.size();
  rec.append(reinterpret_cast<const char*>(&n), sizeof n);
  rec += payload;
  for (size_t at = 0; at < rec.size();) {
    const ssize_t w = ::write(g_report_fd, rec.data() + at, rec.size() - at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);  // the parent is gone: nobody to answer
    at += size_t(w);
  }
}

[[noreturn]] void run_child(int fd, const Limits& l, const ContainedBody& body, double* extra) {
  g_report_fd = fd;
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // a parent killed while waiting takes its reader along
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);  // a crash on a hostile file leaves no core file behind
  const rlimit cpu{rlim_t(l.cpu_seconds), rlim_t(l.cpu_seconds) + 1};  // SIGXCPU, then SIGKILL a second later
  setrlimit(RLIMIT_CPU, &cpu);
  // The limits must end the child: the parent's handlers and mask (the fuzz campaign catches
  // SIGINT/SIGTERM) are inherited by fork, so restore the default actions.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGALRM, SIGXCPU, SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    signal(sig, SIG_DFL);
    sigaddset(&set, sig);
  }
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  g_memory_limit = l.memory;
#ifndef MQA_SANITIZED
  const rlim_t as = rlim_t(address_space_now() + l.memory);
  const rlimit mem{as, as};
  setrlimit(RLIMIT_AS, &mem);
#endif
  alarm(unsigned(l.seconds));
  std::ostringstream out, err;
  int rc = 2;
  try {
    rc = body(out, err);
  } catch (const std::bad_alloc&) {
    err << "error: out of memory" << reader_memory_note() << "\n";
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
  }
  send('O', out.str());
  send('E', err.str());
  if (extra) send('X', std::string(reinterpret_cast<const char*>(extra), sizeof *extra));
  send('C', std::to_string(rc));
  _exit(0);
}

// Reads the child's records until it closes the pipe, or kills it at the deadline.
bool drain(int fd, pid_t pid, int seconds, std::string& buf) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds + 5);  // backstop of alarm()
  char chunk[1 << 16];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, int(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(chunk, size_t(n));
  }
}

std::multimap<char, std::string> parse_records(const std::string& buf) {
  std::multimap<char, std::string> recs;
  for (size_t at = 0; at + 9 <= buf.size();) {
    uint64_t n = 0;
    std::memcpy(&n, buf.data() + at + 1, sizeof n);
    if (n > buf.size() - at - 9) break;  // cut off by the child's death
    recs.emplace(buf[at], buf.substr(at + 9, size_t(n)));
    at += 9 + size_t(n);
  }
  return recs;
}

std::string what_happened(int status, bool killed_by_us, const Limits& l) {
  const std::string why =
      "; the file is malformed (HDF5 loops on some damaged metadata) or larger than the limit allows";
  const std::string wall = "took more than " + std::to_string(l.seconds) + " s (MQA_READER_TIMEOUT)" + why;
  if (killed_by_us) return wall;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGALRM) return wall;
    if (sig == SIGXCPU)
      return "used more than " + std::to_string(l.cpu_seconds) + " s of CPU time (RLIMIT_CPU, MQA_READER_CPU)" + why;
    if (sig == SIGKILL) return "was killed (signal 9: out of memory, or killed from outside)";
    return "crashed inside the HDF5 library (signal " + std::to_string(sig) + ", " + strsignal(sig) +
           "); the file is malformed";
  }
  return "ended without an answer (exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
}

}  // namespace

int run_contained(const std::string& command, const std::vector<std::string>& files, std::ostream& out,
                  std::ostream& err, const ContainedBody& body, const ContainedFailure& failure, double* extra) {
  Limits l;
  try {
    l = limits_for(files);
  } catch (const std::exception& e) {
    return failure(command + ": " + e.what(), out, err);
  }
  if (!l.contain) return body(out, err);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return failure(command + ": cannot start the reader process: pipe: " + strerror(errno), out, err);
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(fds[0]);
    close(fds[1]);
    return failure(command + ": cannot start the reader process: fork: " + strerror(e), out, err);
  }
  if (pid == 0) {
    close(fds[0]);
    run_child(fds[1], l, body, extra);
  }
  close(fds[1]);
  std::string buf;
  const bool killed = drain(fds[0], pid, l.seconds, buf);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const auto recs = parse_records(buf);
  if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0 && recs.count('C')) {
    out << recs.find('O')->second;
    err << recs.find('E')->second;
    auto x = recs.find('X');
    if (extra && x != recs.end() && x->second.size() == sizeof *extra)
      std::memcpy(extra, x->second.data(), sizeof *extra);
    return std::atoi(recs.find('C')->second.c_str());
  }
  std::string file;
  for (auto [it, end] = recs.equal_range('R'); it != end; ++it) file = it->second;  // the last one it started
  if (file.empty())
    for (const std::string& f : files) file += (file.empty() ? "" : " or ") + f;
  return failure(command + ": reading " + file + " " + what_happened(status, killed, l), out, err);
}

void reading_file(const std::string& path) {
  if (g_report_fd < 0) return;  // not in a contained child: no report, no test fault
  send('R', path);
  const char* spec = std::getenv("MQA_TEST_READER_FAULT");
  if (!spec || !*spec) return;
  const std::string s = spec;
  const size_t colon = s.find(':');
  const std::string what = s.substr(0, colon), only = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (!only.empty() && path.find(only) == std::string::npos) return;
  if (what == "segv" || what == "abort") {  // as HDF5 dies on damaged metadata (default action, no handler)
    const int sig = what == "segv" ? SIGSEGV : SIGABRT;
    signal(sig, SIG_DFL);
    raise(sig);
  } else if (what == "hang") {  // blocked, using no CPU: only the wall-clock alarm ends it
    for (;;) pause();
  } else if (what == "spin") {  // as HDF5 loops on a cyclic B-tree: the CPU limit ends it too
    volatile uint64_t spin = 0;
    for (;;) spin = spin + 1;
  } else if (what == "alloc") {  // as HDF5 sizes a buffer by a forged field: until malloc fails
    const size_t block = size_t(256) << 20;
    for (int64_t held = 0;; held += int64_t(block))
      if (!std::malloc(block) || (g_memory_limit > 0 && held > 2 * g_memory_limit)) throw std::bad_alloc();
  } else {
    throw std::runtime_error("MQA_TEST_READER_FAULT = '" + s +
                             "': expected segv, abort, hang, spin or alloc[:SUBSTRING]");
  }
}

std::string reader_memory_note() {
  if (g_memory_limit <= 0) return {};
  return " (the reader may add " + std::to_string(g_memory_limit) + " bytes of memory, MQA_READER_MEMORY)";
}

}  // namespace mqa::golden
