// Golden files (schema v1, golden/SCHEMA.md): typed cases, their HDF5 reader and writer, and the
// per-dataset checksum. A golden file stores every input and every expected output of a case so
// that a kernel written in any language can be checked without linking to this project; a
// candidate file holds only a kernel's outputs under the same case names.
//
// Every failure (not HDF5, truncated, wrong schema version, missing or mistyped dataset, wrong
// shape, checksum mismatch) is a GoldenError whose message names the file, the case and the
// dataset. HDF5's own error-stack printing is silenced: the message is ours, once.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

namespace mqa::golden {

inline constexpr int32_t kSchemaVersion = 1;
inline constexpr const char* kSchemaName = "mqa-golden";
inline constexpr const char* kChecksumAlgorithm = "sha256";
inline constexpr const char* kGeneratorName = "mqa-harness";

// "<file>: case '<c>': dataset '<d>': <why>" (parts left empty are omitted).
class GoldenError : public std::runtime_error {
 public:
  GoldenError(std::string file, std::string case_name, std::string dataset, const std::string& why);
  const std::string& file() const { return file_; }
  const std::string& case_name() const { return case_; }
  const std::string& dataset() const { return dataset_; }

 private:
  std::string file_, case_, dataset_;
};

enum class DType : uint8_t { u8, u16, i32, i64, f32 };
const char* to_string(DType t);  // "uint8", "uint16", "int32", "int64", "float32" (numpy names)
int32_t size_of(DType t);
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::u16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<float>() { return DType::f32; }

enum class Role : uint8_t { input, output, meta };
const char* to_string(Role r);  // "input", "output", "meta"

// One dataset: elements in C order as little-endian bytes (the host order; the writer and the
// reader run on little-endian machines only), plus the schema's per-dataset attributes.
struct Array {
  DType dtype = DType::u8;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  Role role = Role::input;
  std::string encoding;  // "e4m3fn" | "e4m3fnuz" for fp8 codes, "bf16" for bf16 bits, else ""
  std::string compare;   // checkable results: CompareMode string ("bitwise,..."), or "topk_set"

  int64_t elements() const;
  template <class T> std::span<const T> view() const {
    check_type(dtype_of<T>());
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  template <class T>
  static Array of(std::vector<int64_t> shape, std::span<const T> data, Role role, std::string encoding = {},
                  std::string compare = {}) {
    Array a{dtype_of<T>(), std::move(shape), {}, role, std::move(encoding), std::move(compare)};
    a.bytes.resize(data.size_bytes());
    if (!data.empty()) std::memcpy(a.bytes.data(), data.data(), data.size_bytes());
    a.check_size();
    return a;
  }
  void check_type(DType want) const;  // throws std::logic_error on a programming error
  void check_size() const;            // bytes.size() == elements * size_of(dtype)
};

// The case attributes (one HDF5 attribute each, same names; see SCHEMA.md for their meaning).
struct CaseInfo {
  std::string op;          // "quant_cache" | "gather" | "paged_logits" | "ragged_logits"
  std::string descriptor;  // the one-line case descriptor that regenerates the case
  std::string profile = "exact";
  std::string layout = "standard";  // "standard" | "preshuffle16"
  int32_t page_size = 0;
  int64_t page_stride = 0;
  int64_t num_pages = 0;
  int32_t head_dim = 0;
  int32_t heads = 0;
  int32_t next_n = 1;
  int32_t quant_block = 0;
  int32_t batch = 0;   // sequences (paged: batch; ragged: sequences gathered into k)
  int32_t rows = 0;    // logits rows: batch*next_n (paged) or M (ragged)
  std::string quant_variant = "exact";
  bool ue8m0 = false;
  std::string encoding = "e4m3fn";
  std::string rng = "philox4x32-10";
  uint64_t seed = 0;
  bool lens_2d = false;
  bool clean_logits = false;
  int64_t logits_cols = 0;        // max_context_len (paged) or N (ragged)
  int64_t logits_row_stride = 0;  // floats between logits rows (>= logits_cols)
  int32_t topk = 0;               // k of the top-k output
  int32_t cache_fill = 0;         // every cache byte held this value before the write
  bool cache_from_source = true;  // cache = quantise-and-cache(k_source, slot_mapping)
  uint32_t logits_sentinel = 0;   // bits of every logits float the reference did not write
  // "dense": logits (and stored bounds) are [rows, logits_row_stride]; "regions": only row r's
  // floats of [valid_begin, future_end), rows concatenated, the rest implied (SCHEMA.md): a
  // 2^32-byte logits buffer of a few defined floats costs those floats in every reader.
  std::string logits_storage = "dense";
  bool regions_storage() const { return logits_storage == "regions"; }
};

struct Case {
  std::string name;
  CaseInfo info;
  std::map<std::string, Array> data;
  // Throws GoldenError(file, case, dataset, "missing") when absent.
  const Array& at(const std::string& dataset, const std::string& file = {}) const;
};

// golden: every input and expected output; candidate: a kernel's outputs; input: what the exec
// route hands a kernel (the inputs of the case, no expected output; the op's output buffers
// pre-filled with the case's sentinels: `logits` = logits_sentinel, `cache` = cache_fill).
enum class FileKind : uint8_t { golden, candidate, input };
const char* to_string(FileKind k);  // "golden", "candidate", "input"

struct File {
  FileKind kind = FileKind::golden;
  int32_t schema_version = kSchemaVersion;
  std::string generator = kGeneratorName;
  std::string generator_version;  // git describe of the tree that wrote it
  std::vector<Case> cases;
  const Case* find(const std::string& name) const;
};

// Lower-case hex SHA-256 (FIPS 180-4) of a byte string, at once or streamed (OpenSSL's EVP
// digest underneath; any language checks the same value with its standard library).
std::string sha256_hex(std::span<const uint8_t> bytes);
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const uint8_t> bytes);
  std::string hex();  // finishes the hash; call once

 private:
  struct State;  // the EVP context (OpenSSL stays out of this header)
  std::unique_ptr<State> s_;
};

// Files written by this library start with a 512-byte HDF5 user block (HDF5 readers skip it):
//   "MQA-GOLDEN-FILE 1\n" "sha256 <hex of every byte after the block>\n" "bytes <their count>\n"
// read_file checks it BEFORE HDF5 parses anything, so a truncated or corrupted file is a clean
// error even where HDF5 1.10 itself would crash on damaged metadata. Files without the block
// (written by other tools) are parsed by HDF5 directly.
inline constexpr int64_t kUserBlockBytes = 512;
inline constexpr const char* kUserBlockMagic = "MQA-GOLDEN-FILE 1\n";

// git describe of this build (CMake's MQA_GIT_DESCRIBE).
std::string generator_version();

// Checks a case against the schema: datasets of its op present (golden), its inputs present and
// no expected output but the pre-filled buffers (input), or only output names (candidate);
// dtypes, ranks and shapes consistent with the attributes. Throws GoldenError.
void validate_case(const Case& c, FileKind kind, const std::string& file = {});

// Logits by regions (SCHEMA.md, logits_storage = regions). `regions_runs` holds, per row, the
// offset of its run in the stored floats ([rows + 1]; from logits_regions, which must be valid).
// `logits_by_regions`: the dense case with logits and stored bounds cut to their runs and the
// row stride set to `row_stride` (>= the dense one: the padding is implied); throws
// std::logic_error when a float outside the runs is not the implied one (the reference never
// writes there). `logits_dense`: back to [rows, logits_row_stride], as asked (it allocates the
// whole buffer: 4 GiB for a 2^30-float case).
std::vector<int64_t> regions_runs(const Case& c);
Case logits_by_regions(const Case& dense, int64_t row_stride);
Case logits_dense(const Case& by_regions);
// The implied bits of column c of a row of a case by regions (-inf in [0, cols) with
// clean_logits, else logits_sentinel); bounds imply 0.
uint32_t implied_logit_bits(const CaseInfo& i, int64_t c);

// Writes atomically: to "<path>.tmp.<pid>" first, then rename(2) over `path`. Validates first.
// Datasets larger than 64 KiB are chunked and deflate-compressed.
void write_file(const std::string& path, const File& f);

struct ReadOptions {
  bool verify_checksums = true;
  bool validate = true;  // run validate_case on every case
  // The integrity gate: with verify_checksums, a file without the header, or a dataset without
  // its sha256, is refused. `unchecked` (the CLI's --unchecked) lets such files through; the
  // checksums that ARE there are still verified.
  bool unchecked = false;
};
// Reads and checks a whole file. Throws GoldenError (never lets an HDF5 exception escape).
File read_file(const std::string& path, const ReadOptions& opt = {});

}  // namespace mqa::golden
