// Private to the fuzz library: processes of exec: kernels, each in a process group of its own
// (exec_process.cpp), so that a timeout kills the command with every process it started.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace mqa::fuzz {

// File descriptors of a spawned process: `in` / `out` become its stdin / stdout (-1: the
// harness's own), `close` are closed in it (the harness's ends of its pipes).
struct SpawnFds {
  int in = -1, out = -1;
  std::vector<int> close;
};

// Starts argv (argv[0] a path) as the leader of a new process group. Returns its pid, or -1
// with the reason in `why`.
pid_t spawn_in_group(const std::vector<std::string>& argv, const SpawnFds& fds, std::string* why);

struct GroupEnd {
  bool exited = false;     // exit status in `code`
  int code = 0;
  int signal = 0;          // killed by this signal (not by the timeout)
  bool timed_out = false;  // ran past the deadline: the group was killed
  bool answered = false;   // done() said so first: the process runs on
};

// Waits for the leader `pid` to end, at most timeout_s (<= 0: no deadline), and asking done()
// (when given) while it runs. When it ended or timed out, the WHOLE group is killed with
// SIGKILL (children and grandchildren too) and the leader is reaped.
GroupEnd wait_group(pid_t pid, double timeout_s, const std::function<bool()>& done = {});

// Whether the leader `pid` has ended (it is not reaped: kill_group / wait_group do that).
bool exited(pid_t pid);

// Kills the group of `pid` and reaps its leader.
void kill_group(pid_t pid);

}  // namespace mqa::fuzz
