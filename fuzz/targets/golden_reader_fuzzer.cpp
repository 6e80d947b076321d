// libFuzzer target: the golden / candidate reader, through the entries `golden verify` and
// `golden inspect` run (golden::verify, golden::inspect: read_file, the dataset checks, the
// comparisons of every checkable output, the page maps).
//
// An input is the bytes of a whole file, tried as:
//   1. given: `inspect` (and `inspect --unchecked` when it has no header): the integrity gate;
//   2. restamped: its first 512 bytes replaced by a valid header over the rest, as an attacker
//      who recomputes the checksum (it is no secret), so that HDF5, the dataset checksums and
//      the schema checks behind the gate see the fuzzed bytes: `inspect FILE`,
//      `verify GOLDEN FILE` (FILE as the candidate of the fixed golden the seed candidates were
//      made from) and `verify --subset FILE CANDIDATE` (FILE as the golden of the fixed
//      candidate: hostile golden outputs, e.g. top-k indices, meet the comparators).
// Exit codes 0, 1 and 2 are the contract; a crash, a hang, a sanitizer report, any other code
// is a finding. The fixed pair: MQA_FUZZ_GOLDEN / MQA_FUZZ_CANDIDATE (default the corpus's
// golden_ops.h5 / candidate_ops.h5).
//
// The golden commands read files in a contained child (golden/src/contain.hpp): a crash inside
// HDF5 becomes exit 2 there. Under MQA_READER_CONTAIN=0 they read in-process, so that libFuzzer
// sees coverage and HDF5's own crashes (the long runs of README.md do this); crashes inside HDF5
// are recorded, not patched (README.md in this folder).
//
// Seed candidates: MQA_FUZZ_MAKE_CANDIDATE="GOLDEN.h5:OUT.h5" writes a candidate holding every
// checkable output of GOLDEN (a verify PASS) and exits (make_seeds.sh uses it).
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "mqa/golden.hpp"
#include "mqa/golden_cli.hpp"
#include "mqa/validate.hpp"

namespace g = mqa::golden;

namespace {

std::string g_path;       // this process's scratch file
std::string g_golden;     // the fixed golden the seed candidates answer
std::string g_candidate;  // and a candidate of it

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "golden_reader_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

void write_bytes(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) finding("cannot write", path);
}

// The header stamp_user_block writes (golden/src/file_header.cpp), over bytes [512, size).
std::vector<uint8_t> restamped(const uint8_t* data, size_t size) {
  std::vector<uint8_t> out(data, data + size);
  const size_t ub = size_t(g::kUserBlockBytes);
  if (size < ub) out.resize(ub, 0);
  const std::span<const uint8_t> rest(out.data() + ub, out.size() - ub);
  std::string head = std::string(g::kUserBlockMagic) + "sha256 " + g::sha256_hex(rest) + "\nbytes " +
                     std::to_string(rest.size()) + "\n";
  head.resize(ub, '\0');
  std::copy(head.begin(), head.end(), out.begin());
  return out;
}

void check_rc(const char* what, int rc) {
  if (rc != 0 && rc != 1 && rc != 2) finding(what, "exit code " + std::to_string(rc));
}

void inspect(bool unchecked) {
  std::ostringstream out, err;
  g::InspectOptions io;
  io.file = g_path;
  io.unchecked = unchecked;
  check_rc("golden inspect", g::inspect(io, out, err));
}

void verify(const std::string& golden, const std::string& candidate, bool subset) {
  std::ostringstream out, err;
  g::VerifyOptions vo;
  vo.golden = golden;
  vo.candidate = candidate;
  vo.subset = subset;
  vo.json = true;  // the JSON report too: every mismatch listed with its coordinates
  check_rc("golden verify", g::verify(vo, out, err));
}

void make_candidate(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) finding("MQA_FUZZ_MAKE_CANDIDATE", "expected GOLDEN.h5:OUT.h5");
  const g::File golden = g::read_file(spec.substr(0, colon));
  g::File cand;
  cand.kind = g::FileKind::candidate;
  for (const g::Case& c : golden.cases) {
    g::Case out;
    out.name = c.name;
    for (const auto& [name, a] : c.data)
      if (!a.compare.empty() && a.role == g::Role::output) out.data.emplace(name, a);
    cand.cases.push_back(std::move(out));
  }
  g::write_file(spec.substr(colon + 1), cand);
  std::fprintf(stderr, "wrote %s\n", spec.substr(colon + 1).c_str());
  std::exit(0);
}

// A contained reader is a fork of this process and inherits libFuzzer's crash handling: it
// would report HDF5's crash in the child as a finding of the fuzzer (and write an artifact),
// though the harness's parent survives it, which is the contract. So the child gets the
// product's handling back: default signal actions (a crash is a death by signal, as without the
// fuzzer) and no libFuzzer death callback (an ASan report there ends the child with ASan's exit
// code, which the parent reports as exit 2).
void reset_in_reader_child() {
  __sanitizer_set_death_callback(nullptr);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) std::signal(sig, SIG_DFL);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* m = std::getenv("MQA_FUZZ_MAKE_CANDIDATE")) make_candidate(m);
  const char* contain = std::getenv("MQA_READER_CONTAIN");
  if (!contain || std::string(contain) != "0") pthread_atfork(nullptr, nullptr, reset_in_reader_child);
  const char* dir = std::getenv("TMPDIR");
  const std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (dir && *dir ? dir : "/tmp");
  g_path = base + "/mqa_golden_fuzz_" + std::to_string(getpid()) + ".h5";
  const char* golden = std::getenv("MQA_FUZZ_GOLDEN");
  const char* candidate = std::getenv("MQA_FUZZ_CANDIDATE");
  g_golden = golden ? golden : MQA_FUZZ_CORPUS "/golden_ops.h5";
  g_candidate = candidate ? candidate : MQA_FUZZ_CORPUS "/candidate_ops.h5";
  std::atexit([] { std::remove(g_path.c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (size_t(1) << 20)) return -1;  // seeds are a few KB; nothing is gained past 1 MiB
  write_bytes(g_path, data, size);
  inspect(false);  // 1. as given: the gate
  const std::string magic = g::kUserBlockMagic;
  if (size < magic.size() || std::string(reinterpret_cast<const char*>(data), magic.size()) != magic)
    inspect(true);  // a file from another tool, read with --unchecked: straight to HDF5
  const std::vector<uint8_t> r = restamped(data, size);  // 2. behind the gate
  write_bytes(g_path, r.data(), r.size());
  inspect(false);
  verify(g_golden, g_path, false);
  verify(g_path, g_candidate, true);
  return 0;
}
