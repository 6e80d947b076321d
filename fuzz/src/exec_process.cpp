// The command of an exec: kernel in a process group of its own. A deadline then kills the
// command and everything it started (children, grandchildren) at once, and nothing it left
// running outlives the case: the group is killed after every run, not only on timeout.
#include "exec_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

extern char** environ;

namespace mqa::fuzz {

namespace {

// The group of the command now running, so that an interrupted harness (Ctrl-C reaches only
// the terminal's foreground group, which the command left) takes the command with it.
volatile sig_atomic_t g_group = 0;
volatile sig_atomic_t g_interrupt = 0;

void on_interrupt(int sig) {
  if (g_group > 0) kill(-pid_t(g_group), SIGKILL);
  g_interrupt = sig;
}

struct InterruptGuard {
  struct sigaction old_int{}, old_term{}, old_hup{};
  explicit InterruptGuard(pid_t group) {
    g_group = group;
    g_interrupt = 0;
    struct sigaction sa{};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
  }
  ~InterruptGuard() {
    g_group = 0;
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGHUP, &old_hup, nullptr);
    if (g_interrupt) raise(g_interrupt);  // the harness was asked to stop: it does, as it would have
  }
};

}  // namespace

bool exited(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: the leader stays a zombie, so its pid (= the group id) cannot be reused before
  // the group is killed.
  int rc;
  do rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  while (rc < 0 && errno == EINTR);
  return rc < 0 || info.si_pid == pid;
}

pid_t spawn_in_group(const std::vector<std::string>& argv, const SpawnFds& fds, std::string* why) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // a new group whose id is the command's pid
  sigset_t none, defaults;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGALRM, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawn_file_actions_t acts;
  posix_spawn_file_actions_init(&acts);
  if (fds.in >= 0) posix_spawn_file_actions_adddup2(&acts, fds.in, 0);
  if (fds.out >= 0) posix_spawn_file_actions_adddup2(&acts, fds.out, 1);
  for (int fd : fds.close) posix_spawn_file_actions_addclose(&acts, fd);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &acts, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&acts);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    if (why) *why = std::string("cannot start ") + args[0] + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

GroupEnd wait_group(pid_t pid, double timeout_s, const std::function<bool()>& done) {
  GroupEnd r;
  const InterruptGuard guard(pid);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  // Polling with a growing nap: a fast command costs ~0.2 ms of latency, a slow one 10 ms at most.
  for (int nap_us = 100;; nap_us = std::min(2 * nap_us, 10000)) {
    if (done && done()) {
      r.answered = true;
      return r;  // the process keeps running (a worker); the caller owns it
    }
    if (exited(pid) || g_interrupt) break;
    if (timeout_s > 0 && std::chrono::duration<double>(Clock::now() - t0).count() >= timeout_s) {
      r.timed_out = true;
      break;
    }
    usleep(useconds_t(nap_us));
  }
  kill(-pid, SIGKILL);  // the whole group: on timeout the hung command, else what it left behind
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (r.timed_out) return r;
  if (WIFEXITED(status)) {
    r.exited = true;
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

void kill_group(pid_t pid) {
  if (pid <= 0) return;
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace mqa::fuzz
