// Host-side input validation. Every rejection names the field and the offending value, so a
// kernel author who passed a wrong table sees what and where, never a crash or a wrong answer.
#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "mqa/layout.hpp"

namespace mqa {

class InvalidInput : public std::invalid_argument {
 public:
  InvalidInput(std::string field, std::string value, const std::string& why);
  const std::string& field() const { return field_; }
  const std::string& value() const { return value_; }

 private:
  std::string field_, value_;
};

// Throws InvalidInput("field", "value", "why"); message: "invalid field = value: why".
[[noreturn]] void reject(const std::string& field, const std::string& value, const std::string& why);
template <class T>
[[noreturn]] void reject(const std::string& field, T value, const std::string& why) {
  reject(field, std::to_string(value), why);
}

const char* to_string(PageLayoutKind k);
PageLayoutKind page_layout_from_string(const std::string& s);  // "standard" | "preshuffle16"

void validate_page_layout(const PageLayout& p);
// The pool: page layout valid, stride large enough and a multiple of 4 (scales stay aligned),
// page count non-negative, and (when given, >= 0) the byte size of the buffer agrees.
void validate_cache(const PagedCacheLayout& c, int64_t buffer_bytes = -1);
// Every length non-negative and within the table's capacity, and every table entry that a
// length makes necessary in [0, num_pages). Entries past ceil(L/B) are never looked at.
// Input files (golden files, case lists, fuzz results) named on a command line: "" when `path`
// is a regular file this process can open for reading, else what it is instead, for a message:
// "is a directory", "is a FIFO (named pipe), not a regular file", "is a character device (like
// /dev/zero), not a regular file", "is a symbolic link loop", "is a dangling symbolic link",
// "does not exist", "cannot be opened: Permission denied". Nothing but a regular file is ever
// opened, so a FIFO or a device never blocks or streams forever.
std::string input_file_problem(const std::string& path);
// Throws InvalidInput(what, path, problem) unless input_file_problem(path) is "", or when the
// file is larger than max_bytes (>= 0); returns its size in bytes.
int64_t check_input_file(const std::string& what, const std::string& path, int64_t max_bytes = -1);

void validate_table_for_lengths(const BlockTableView& t, std::span<const int32_t> lens, int32_t page_size,
                                int64_t num_pages, const char* lens_field = "context_lens");

}  // namespace mqa
