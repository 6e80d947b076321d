// The file-level checksum header (512-byte HDF5 user block, see golden.hpp and SCHEMA.md):
// made from the in-memory image the writer is about to write, checked before HDF5 opens a file.
#include <cstdio>
#include <vector>

#include "golden_schema.hpp"
#include "safe_write.hpp"

namespace mqa::golden {
namespace {

// Hashes every byte after the user block of an open file.
std::pair<std::string, int64_t> hash_after_user_block(std::FILE* f) {
  Sha256 h;
  std::vector<uint8_t> buf(size_t(1) << 20);
  int64_t n = 0;
  std::fseek(f, long(kUserBlockBytes), SEEK_SET);
  for (size_t got; (got = std::fread(buf.data(), 1, buf.size(), f)) > 0; n += int64_t(got))
    h.update(std::span<const uint8_t>(buf.data(), got));
  return {h.hex(), n};
}

}  // namespace

std::string user_block_for(std::span<const uint8_t> body) {
  std::string head = std::string(kUserBlockMagic) + "sha256 " + sha256_hex(body) + "\nbytes " + std::to_string(body.size()) + "\n";
  head.resize(size_t(kUserBlockBytes), '\0');
  return head;
}

// Checks the user block header. Throws on truncation or corruption, and when the file has no
// header unless `unchecked` (a flipped magic byte must not turn the gate off).
void check_user_block(const std::string& path, bool unchecked) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw GoldenError(path, "", "", "cannot open for reading");
  std::string head(size_t(kUserBlockBytes), '\0');
  const size_t got = std::fread(head.data(), 1, head.size(), f);
  const std::string magic = kUserBlockMagic;
  if (got < magic.size() || head.compare(0, magic.size(), magic) != 0) {
    std::fclose(f);
    if (unchecked) return;  // the user asked: HDF5 parses it directly
    throw GoldenError(path, "", "", "no file header ('MQA-GOLDEN-FILE 1' and the file's sha256 in the first 512 "
                                    "bytes): refused, as a damaged or foreign file; --unchecked reads it anyway");
  }
  std::string want_hex;
  long long want_n = -1;
  char hex[65] = {};
  if (std::sscanf(head.c_str() + magic.size(), "sha256 %64s\nbytes %lld", hex, &want_n) != 2) {
    std::fclose(f);
    throw GoldenError(path, "", "", "damaged file header (user block)");
  }
  const auto [have_hex, have_n] = hash_after_user_block(f);
  std::fclose(f);
  if (have_n != want_n)
    throw GoldenError(path, "", "", "file checksum mismatch: the file has " + std::to_string(have_n + kUserBlockBytes) +
                                        " bytes, its header says " + std::to_string(want_n + kUserBlockBytes) +
                                        " (truncated or extended)");
  if (have_hex != hex) throw GoldenError(path, "", "", "file checksum mismatch: the file is corrupt");
}

}  // namespace mqa::golden
