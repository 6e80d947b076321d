// Atomic, durable writes with every status checked (safe_write.hpp says what and why).
#include "safe_write.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "mqa/golden.hpp"

namespace mqa::golden {
namespace {

namespace fs = std::filesystem;

// Bytes the temporary file may take before MQA_TEST_WRITE_FAIL_AFTER fails the write; -1: no hook.
int64_t fail_after() {
  const char* e = std::getenv("MQA_TEST_WRITE_FAIL_AFTER");
  if (!e || !*e) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(e, &end, 10);
  if (*end || n < 0)
    throw GoldenError("", "", "", std::string("MQA_TEST_WRITE_FAIL_AFTER = '") + e + "': expected a byte count");
  return n;
}

// How one step of the write ended: 0 or an errno, and the test hook that made it fail.
struct Step {
  int err = 0;
  std::string hook;
};

std::string reason(const Step& r) {
  return std::string(strerror(r.err)) + (r.hook.empty() ? "" : " (test hook " + r.hook + ")");
}

// One system call of the write. MQA_TEST_WRITE_FAIL_AT=<name> fails it with EIO instead of
// running it, so the hook goes through the same check as a real failure.
template <class Call>
Step step(const char* name, Call&& call) {
  if (write_fault_at(name)) return {EIO, std::string("MQA_TEST_WRITE_FAIL_AT=") + name};
  return call() == 0 ? Step{} : Step{errno, {}};
}

// Writes all of `data` at the current offset; false with errno set on failure.
bool write_all(int fd, std::span<const uint8_t> data, int64_t& written, int64_t limit, bool& hooked) {
  for (size_t at = 0; at < data.size();) {
    size_t n = data.size() - at;
    if (limit >= 0) {
      if (written >= limit) {
        hooked = true;
        errno = ENOSPC;
        return false;
      }
      n = std::min<size_t>(n, size_t(limit - written));
    }
    const ssize_t w = ::write(fd, data.data() + at, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;  // no progress: the device is full
      return false;
    }
    at += size_t(w);
    written += w;
  }
  return true;
}

bool pid_alive(long pid) { return kill(pid_t(pid), 0) == 0 || errno != ESRCH; }  // EPERM: alive, not ours

}  // namespace

bool write_fault_at(const char* name) {
  const char* e = std::getenv("MQA_TEST_WRITE_FAIL_AT");
  return e && std::strcmp(e, name) == 0;
}

int remove_stale_temp_files(const std::string& path) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + ".tmp.";
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    // A live pid (maybe another writer of this path, maybe a reused pid) keeps its file: we
    // cannot tell, and removing a live writer's file would fail its rename.
    if (pid <= 0 || pid == long(getpid()) || pid_alive(pid)) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

void write_atomically(const std::string& path, std::span<const uint8_t> head, std::span<const uint8_t> body) {
  remove_stale_temp_files(path);
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int64_t limit = fail_after();
  auto fail = [&](const std::string& what, const Step& r, int fd) {  // throws
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    throw GoldenError(
        path, "", "",
        "write failed: " + what + ": " + reason(r) + "; the old file (if any) is kept and the temporary file removed");
  };
  unlink(tmp.c_str());  // ours by name (our pid): a leftover from an earlier process with this pid
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int e = errno;
    throw GoldenError(path, "", "", "write failed: cannot create the temporary file " + tmp + ": " + strerror(e));
  }
  int64_t written = 0;
  bool hooked = false;
  if (!write_all(fd, head, written, limit, hooked) || !write_all(fd, body, written, limit, hooked)) {
    const Step r{errno, hooked ? "MQA_TEST_WRITE_FAIL_AFTER" : ""};
    fail("writing " + tmp + " (" + std::to_string(written) + " of " + std::to_string(head.size() + body.size()) +
             " bytes written)",
         r, fd);
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at unwritten blocks.
  if (const Step r = step("fsync", [&] { return fsync(fd); }); r.err) fail("fsync of " + tmp, r, fd);
  // close reports deferred write errors on some file systems (NFS).
  if (const Step r = step("close", [&] { return close(fd); }); r.err)
    fail("close of " + tmp, r, r.hook.empty() ? -1 : fd);
  if (const Step r = step("rename", [&] { return rename(tmp.c_str(), path.c_str()); }); r.err)
    fail("rename of " + tmp + " to " + path, r, -1);
  // The rename itself is durable only once the directory is synced. Past the rename the old file
  // is gone, so a failure here says that the new, complete file may not survive a power loss.
  const fs::path dir = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const Step r = dfd < 0 ? Step{errno, {}} : step("dirsync", [&] { return fsync(dfd); });
  if (dfd >= 0) close(dfd);
  if (r.err)
    throw GoldenError(path, "", "",
                      "written and renamed into place, but syncing the directory " + dir.string() +
                          " failed: " + reason(r) + "; the new file may not survive a crash");
}

}  // namespace mqa::golden
