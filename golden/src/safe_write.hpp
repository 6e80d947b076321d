// Internal: writing a file so that a full disk, an I/O error or a killed writer never replaces a
// good file with a bad one (issue 13). HDF5 builds the file in memory (write_file, core driver),
// so every byte that reaches the disk goes through write_atomically: a temporary file
// "<path>.tmp.<pid>" in the same directory, every write, fsync and close checked, rename(2) over
// the path, then fsync of the directory. On any error before the rename the temporary file is
// removed and the old file is untouched. Temporary files left by writers that died (their pid no
// longer exists) are removed at the next write of the same path.
//
// Test hooks (compiled in always, so that the tests exercise the real binary):
//   MQA_TEST_WRITE_FAIL_AFTER=N  writes past the N-th byte of the temporary file fail with ENOSPC
//   MQA_TEST_WRITE_FAIL_AT=fsync|close|rename|dirsync|hdf5   that step fails (EIO; hdf5: the
//                                in-memory file's close reports a failure)
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace mqa::golden {

// The 512-byte header (user block) of a file whose bytes after the header are `body`
// (file_header.cpp; the format is in golden.hpp).
std::string user_block_for(std::span<const uint8_t> body);

// Writes head + body to `path` as described above. Throws GoldenError naming the path, the step
// and the system's reason.
void write_atomically(const std::string& path, std::span<const uint8_t> head, std::span<const uint8_t> body);

// Removes "<path>.tmp.<pid>" files whose writer is dead; returns how many.
int remove_stale_temp_files(const std::string& path);

// True when MQA_TEST_WRITE_FAIL_AT names `step` (the writer's own steps call this too).
bool write_fault_at(const char* step);

}  // namespace mqa::golden
