// Small synthetic golden cases and HDF5 surgery for the golden tests (no fuzz dependency).
#pragma once
#include <H5Cpp.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mqa/golden.hpp"
#include "mqa/kcache.hpp"
#include "mqa/philox.hpp"

namespace mqa::golden::testing {

// Sets an environment variable for the scope of a test (the old value, or none, comes back).
class Env {
 public:
  Env(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* v = std::getenv(name_.c_str())) old_ = v;
    setenv(name_.c_str(), value.c_str(), 1);
  }
  ~Env() {
    if (old_)
      setenv(name_.c_str(), old_->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh empty directory under the build tree's temp area, removed by the caller's fixture.
inline std::filesystem::path temp_dir(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() / ("mqa_golden_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// A valid quant_cache case: T tokens of D bf16 values written by the reference into a
// sentinel-filled pool of `pages` pages (B = 16, Qb = D). Big enough (pages large) to be chunked.
inline Case quant_case(const std::string& name, int32_t pages = 4, int32_t D = 32, uint64_t seed = 7) {
  const int32_t B = 16, T = pages * B - 3;
  PagedCacheLayout l{PageLayout{PageLayoutKind::standard, B, D, D}, 0, pages};
  l.page_stride = l.page.natural_page_bytes();
  KCache cache(l, 0xA5);
  std::vector<uint16_t> kb(size_t(T) * D);
  std::vector<float> k(kb.size());
  const CounterRng rng{seed};
  for (size_t i = 0; i < kb.size(); ++i) {
    kb[i] = bf16_encode((rng.unit(1, i) - 0.5f) * 8.0f);
    k[i] = bf16_decode(kb[i]);
  }
  std::vector<int64_t> slots(static_cast<size_t>(T));
  for (int32_t i = 0; i < T; ++i) slots[size_t(i)] = (i % 7 == 3) ? -1 : int64_t(T - 1 - i);
  quantize_and_cache(k, slots, QuantParams{}, cache.ref());
  std::vector<int64_t> ids(static_cast<size_t>(pages));
  for (int32_t p = 0; p < pages; ++p) ids[size_t(p)] = p;
  Case c;
  c.name = name;
  c.info.op = "quant_cache";
  c.info.descriptor = "op=quant_cache synthetic";
  c.info.page_size = B;
  c.info.page_stride = l.page_stride;
  c.info.num_pages = pages;
  c.info.head_dim = D;
  c.info.quant_block = D;
  c.info.batch = 1;
  c.info.seed = seed;
  c.info.cache_fill = 0xA5;
  c.data["k_source"] = Array::of<uint16_t>({T, D}, kb, Role::input, "bf16");
  c.data["slot_mapping"] = Array::of<int64_t>({T}, slots, Role::input);
  c.data["cache"] = Array::of<uint8_t>({pages, l.page_stride}, cache.bytes, Role::output, "e4m3fn", "bitwise");
  c.data["page_ids"] = Array::of<int64_t>({pages}, ids, Role::meta);
  return c;
}

// Clears the file-level checksum header (the user block's magic), so that the file reads like one
// written by another tool: the per-dataset checks below it are then what must catch surgery.
inline void forget_file_checksum(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  const char zeros[32] = {};
  std::fwrite(zeros, 1, sizeof zeros, f);
  std::fclose(f);
}

// Writes a valid file-level header again after surgery (what an attacker can do: the checksum is
// no secret), so that the checks behind the header are what must refuse the file.
inline void restamp_file_checksum(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::vector<uint8_t> rest(size_t(size - kUserBlockBytes));
  std::fseek(f, long(kUserBlockBytes), SEEK_SET);
  if (std::fread(rest.data(), 1, rest.size(), f) != rest.size()) rest.clear();
  std::string head = std::string(kUserBlockMagic) + "sha256 " + sha256_hex(rest) + "\nbytes " + std::to_string(rest.size()) + "\n";
  head.resize(size_t(kUserBlockBytes), '\0');
  std::fseek(f, 0, SEEK_SET);
  std::fwrite(head.data(), 1, head.size(), f);
  std::fclose(f);
}

inline File file_of(std::vector<Case> cases, FileKind kind = FileKind::golden) {
  File f;
  f.kind = kind;
  f.generator_version = "test";
  f.cases = std::move(cases);
  return f;
}

}  // namespace mqa::golden::testing
