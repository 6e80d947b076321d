// Internal: reading files we did not write in a child process with limits (issue 13). HDF5 1.10
// crashes, loops and allocates gigabytes on crafted metadata, and the integrity gate only proves
// that a file is what its header says, not that its author meant well. So `golden verify`,
// `diff` and `inspect` run whole in a forked child under RLIMIT_AS, RLIMIT_CPU and a wall-clock
// alarm; the parent relays the child's output and exit code, and turns a crash, a timeout or a
// kill into one exit-2 message naming the file being read.
//
// Environment (read by the parent):
//   MQA_READER_CONTAIN=0      run in-process (debugging: a debugger or sanitizer sees HDF5 itself)
//   MQA_READER_TIMEOUT=S      wall-clock seconds the child may take (default 120)
//   MQA_READER_CPU=S          CPU seconds it may use (RLIMIT_CPU; default MQA_READER_TIMEOUT)
//   MQA_READER_MEMORY=BYTES   address space the child may add (default 4 GiB + 8 x the files' bytes;
//                             suffixes K, M, G); not applied under AddressSanitizer (its shadow
//                             memory needs terabytes of address space)
// Test hook, honoured only inside the child (compiled in always, so that the tests exercise the
// real binary): MQA_TEST_READER_FAULT=segv|abort|hang|spin|alloc[:SUBSTRING] makes the read of a
// file whose path contains SUBSTRING (any file when omitted) crash, block, spin on the CPU, or
// allocate until malloc fails.
#pragma once
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace mqa::golden {

using ContainedBody = std::function<int(std::ostream& out, std::ostream& err)>;
// Reports a child that gave no answer (crash, timeout): writes the message the command's way
// (text or JSON) and returns the exit code (2).
using ContainedFailure = std::function<int(const std::string& message, std::ostream& out, std::ostream& err)>;

// Runs body in a contained child (or in-process with MQA_READER_CONTAIN=0) and returns its exit
// code. `command` ("golden verify") and `files` name the failure; `extra`, when set, is a value
// the body leaves there (verify's worst ratio), carried back from the child.
int run_contained(const std::string& command, const std::vector<std::string>& files, std::ostream& out,
                  std::ostream& err, const ContainedBody& body, const ContainedFailure& failure,
                  double* extra = nullptr);

// read_file calls this before HDF5 opens `path`: inside a contained child it tells the parent
// which file is being read (the failure message names it) and applies MQA_TEST_READER_FAULT.
// Outside one it does nothing.
void reading_file(const std::string& path);

// " (the reader may add N bytes of memory, MQA_READER_MEMORY)" inside a contained child, else "":
// what a failed allocation (HDF5's or ours) ran into.
std::string reader_memory_note();

}  // namespace mqa::golden
