// Running a case in a forked child, so that a kernel that crashes or hangs becomes a verdict
// (CRASH / TIMEOUT) of that case instead of the end of the campaign.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

#include "fuzz_internal.hpp"

namespace mqa::fuzz {

namespace {

Outcome run_guarded(const Kernel& k, const CaseTensors& t, const RunOptions& o) {
  try {
    for (int run = 1;; ++run) {  // every run must match: the same inputs give the same bits
      Outcome r = k.run(t, o);
      if (r.verdict != Verdict::pass || run >= o.repeat) {
        if (run > 1 && r.verdict != Verdict::pass)
          r.detail = "run " + std::to_string(run) + " of " + std::to_string(o.repeat) + " (the earlier runs passed): " +
                     r.detail;
        return r;
      }
    }
  } catch (const std::exception& e) {
    return Outcome{Verdict::fail, std::string("exception while running the case: ") + e.what()};
  }
}

void write_all(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += size_t(n);
  }
}

}  // namespace

// The child leads its own process group, so that whatever the kernel spawns is killed with it;
// the parent waits on the pipe and the child with poll() and its own deadline, never in a bare
// read(): a grandchild that inherited the pipe's write end cannot hold the parent (issue: a
// plugin that forks). When the child has exited, what it wrote is read, then its group is killed.
ChildOutput run_in_child(const std::function<std::string()>& work, double timeout_s) {
  ChildOutput r;
  int fds[2];
  if (pipe(fds) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return r;
  }
  if (pid == 0) {  // child: run, send the payload, leave without running destructors
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // its own group is out of reach of a Ctrl-C: die with the parent
    close(fds[0]);
    std::string out(1, '1');
    try {
      out += work();
    } catch (const std::exception& e) {
      out = std::string(1, '0');
      out += e.what();
    }
    write_all(fds[1], out);
    close(fds[1]);
    _exit(0);
  }
  setpgid(pid, pid);  // also here: no race with the child's own call
  close(fds[1]);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  const auto start = std::chrono::steady_clock::now();
  std::string msg;
  char buf[4096];
  int status = 0;
  bool exited = false, timed_out = false;
  const auto drain = [&] {
    for (;;) {
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n > 0) msg.append(buf, size_t(n));
      else if (n < 0 && errno == EINTR) continue;
      else return n == 0;  // true: end of file (every writer closed)
    }
  };
  for (bool eof = false; !exited;) {
    if (!eof) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 50) > 0) eof = drain();
    } else {
      usleep(2000);
    }
    const pid_t w = waitpid(pid, &status, WNOHANG);
    exited = w == pid;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!exited && timeout_s > 0 && elapsed > timeout_s) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      exited = timed_out = true;
    }
  }
  drain();             // what the child wrote before it exited
  kill(-pid, SIGKILL);  // and nothing it left behind keeps running
  close(fds[0]);
  if (timed_out) {
    r.signal = SIGKILL;
    r.timed_out = true;
    r.error = "ran past " + std::to_string(timeout_s) + " s";
    return r;
  }
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.error = "signal " + std::to_string(r.signal) + " (" + strsignal(r.signal) + ")";
    return r;
  }
  if (msg.empty()) {
    r.error = "the child process exited without an answer";
    return r;
  }
  r.ok = msg[0] == '1';
  (r.ok ? r.payload : r.error) = msg.substr(1);
  return r;
}

Outcome run_case(const Kernel& k, const CaseTensors& t, const RunOptions& o, bool isolate, double timeout_s) {
  if (k.isolates_itself()) {  // exec: its command already runs apart; a deadline is all it needs
    RunOptions timed = o;
    timed.timeout_s = isolate ? timeout_s : 0;
    return run_guarded(k, t, timed);
  }
  if (!isolate) return run_guarded(k, t, o);
  const ChildOutput c = run_in_child(
      [&] {
        const Outcome r = run_guarded(k, t, o);
        return std::string(1, char('0' + int(r.verdict))) + r.detail;
      },
      timeout_s);
  if (c.timed_out) return Outcome{Verdict::timeout, "the kernel ran past " + std::to_string(timeout_s) + " s"};
  if (c.signal != 0) return Outcome{Verdict::crash, "the kernel crashed: " + c.error};
  if (!c.ok || c.payload.empty()) return Outcome{Verdict::crash, "the case's child process exited without a verdict: " + c.error};
  return Outcome{Verdict(c.payload[0] - '0'), c.payload.substr(1)};
}

}  // namespace mqa::fuzz
