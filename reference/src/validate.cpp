// validate.hpp: InvalidInput, the checks of layouts, caches and block tables, and of input files.
#include "mqa/validate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace mqa {

InvalidInput::InvalidInput(std::string field, std::string value, const std::string& why)
    : std::invalid_argument("invalid " + field + " = " + value + ": " + why),
      field_(std::move(field)),
      value_(std::move(value)) {}

void reject(const std::string& field, const std::string& value, const std::string& why) {
  throw InvalidInput(field, value, why);
}

const char* to_string(PageLayoutKind k) {
  return k == PageLayoutKind::standard ? "standard" : "preshuffle16";
}

PageLayoutKind page_layout_from_string(const std::string& s) {
  if (s == "standard") return PageLayoutKind::standard;
  if (s == "preshuffle16") return PageLayoutKind::preshuffle16;
  reject("layout", "'" + s + "'", "expected 'standard' or 'preshuffle16'");
}

void validate_page_layout(const PageLayout& p) {
  if (p.kind != PageLayoutKind::standard && p.kind != PageLayoutKind::preshuffle16)
    reject("layout", int(p.kind), "unknown page layout kind");
  if (p.page_size < 1) reject("page_size", p.page_size, "must be >= 1");
  if (p.head_dim < 1) reject("head_dim", p.head_dim, "must be >= 1");
  if (p.quant_block < 1 || p.head_dim % p.quant_block != 0)
    reject("quant_block", p.quant_block, "must divide head_dim = " + std::to_string(p.head_dim));
  if (p.kind == PageLayoutKind::preshuffle16) {
    if (p.page_size % kShuffleTile != 0)
      reject("page_size", p.page_size, "the preshuffle16 layout needs a multiple of 16");
    if (p.head_dim % kShuffleTile != 0)
      reject("head_dim", p.head_dim, "the preshuffle16 layout needs a multiple of 16");
  }
}

void validate_cache(const PagedCacheLayout& c, int64_t buffer_bytes) {
  validate_page_layout(c.page);
  if (c.page_stride < c.page.natural_page_bytes())
    reject("page_stride", c.page_stride,
           "smaller than one page (" + std::to_string(c.page.natural_page_bytes()) + " bytes)");
  if (c.page_stride % 4 != 0) reject("page_stride", c.page_stride, "must be a multiple of 4");
  if (c.num_pages < 0) reject("num_pages", c.num_pages, "must be >= 0");
  if (buffer_bytes >= 0 && buffer_bytes != c.total_bytes())
    reject("cache.bytes", buffer_bytes,
           "expected num_pages * page_stride = " + std::to_string(c.total_bytes()));
}

void validate_table_for_lengths(const BlockTableView& t, std::span<const int32_t> lens, int32_t page_size,
                                int64_t num_pages, const char* lens_field) {
  if (t.max_blocks < 0) reject("block_table.max_blocks", t.max_blocks, "must be >= 0");
  if (t.row_stride < t.max_blocks)
    reject("block_table.row_stride", t.row_stride, "smaller than max_blocks = " + std::to_string(t.max_blocks));
  if (int64_t(lens.size()) != t.batch)
    reject(std::string(lens_field) + ".size", lens.size(), "expected batch = " + std::to_string(t.batch));
  const int64_t capacity = int64_t(t.max_blocks) * page_size;
  for (int32_t b = 0; b < t.batch; ++b) {
    const int64_t L = lens[b];
    const std::string where = std::string(lens_field) + "[" + std::to_string(b) + "]";
    if (L < 0) reject(where, L, "negative length");
    if (L > capacity)
      reject(where, L, "beyond the block table's capacity of " + std::to_string(capacity) + " tokens (" +
                           std::to_string(t.max_blocks) + " blocks of " + std::to_string(page_size) + ")");
    const int64_t needed = (L + page_size - 1) / page_size;
    for (int64_t i = 0; i < needed; ++i) {
      const int32_t p = t.at(b, i);
      if (p < 0 || p >= num_pages)
        reject("block_table[" + std::to_string(b) + "][" + std::to_string(i) + "]", p,
               p < 0 ? "needed by " + where + " = " + std::to_string(L) + " but unset (negative)"
                     : "needed by " + where + " = " + std::to_string(L) + " but >= num_pages = " +
                           std::to_string(num_pages));
    }
  }
}

std::string input_file_problem(const std::string& path) {
  if (path.empty()) return "is an empty path";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    struct stat lst {};
    if (err == ELOOP) return "is a symbolic link loop";
    if (err == ENOENT && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) return "is a dangling symbolic link";
    if (err == ENOENT) return "does not exist";
    if (err == ENOTDIR) return "does not exist (a component of the path is not a directory)";
    return std::string("cannot be read: ") + std::strerror(err);
  }
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (S_ISFIFO(st.st_mode)) return "is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(st.st_mode)) return "is a character device (like /dev/zero), not a regular file";
  if (S_ISBLK(st.st_mode)) return "is a block device, not a regular file";
  if (S_ISSOCK(st.st_mode)) return "is a socket, not a regular file";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string("cannot be opened: ") + std::strerror(errno);
  ::close(fd);
  return "";
}

int64_t check_input_file(const std::string& what, const std::string& path, int64_t max_bytes) {
  const std::string problem = input_file_problem(path);
  if (!problem.empty()) reject(what, "'" + path + "'", problem);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) reject(what, "'" + path + "'", std::string("cannot be read: ") + std::strerror(errno));
  const int64_t size = int64_t(st.st_size);
  if (max_bytes >= 0 && size > max_bytes)
    reject(what, "'" + path + "'", "has " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) +
                                       " it may have");
  return size;
}

}  // namespace mqa
