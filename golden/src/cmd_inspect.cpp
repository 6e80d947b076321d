// `golden inspect FILE`: root attributes, every case's attributes and datasets (dtype, shape,
// role, encoding, mode, checksum), the page map of each page layout, and optionally where one
// cache byte lives. The file comes from anywhere: the whole command runs in a contained child.
#include <iomanip>
#include <ostream>
#include <set>
#include <tuple>

#include "contain.hpp"
#include "golden_schema.hpp"
#include "mqa/golden_cli.hpp"
#include "mqa/layout_print.hpp"
#include "mqa/validate.hpp"

namespace mqa::golden {
namespace {

void print_info(const CaseInfo& i, std::ostream& out) {
  out << "  descriptor: " << i.descriptor << "\n"
      << "  op=" << i.op << " profile=" << i.profile << " layout=" << i.layout << " B=" << i.page_size
      << " stride=" << i.page_stride << " pages=" << i.num_pages << " D=" << i.head_dim << " Qb=" << i.quant_block
      << " H=" << i.heads << " next_n=" << i.next_n << " batch=" << i.batch << " rows=" << i.rows << "\n"
      << "  encoding=" << i.encoding << " quant=" << i.quant_variant << " ue8m0=" << i.ue8m0 << " lens_2d=" << i.lens_2d
      << " clean=" << i.clean_logits << " cols=" << i.logits_cols << " row_stride=" << i.logits_row_stride
      << " topk=" << i.topk << " rng=" << i.rng << " seed=0x" << std::hex << i.seed << std::dec
      << " cache_fill=" << i.cache_fill << " cache_from_source=" << i.cache_from_source << "\n";
  if (i.regions_storage())
    out << "  logits by regions: the rows' [valid_begin, future_end) floats only; the rest of the [" << i.rows << ", "
        << i.logits_row_stride << "] buffer is " << (i.clean_logits ? "-inf in [0, cols), " : "") << "0x" << std::hex
        << i.logits_sentinel << std::dec << " (logits_sentinel)\n";
}

int inspect_here(const InspectOptions& o, std::ostream& out, std::ostream& err) {
  try {
    const File f = read_file(o.file, ReadOptions{!o.no_verify, true, o.unchecked});
    out << o.file << ": schema " << kSchemaName << " v" << f.schema_version << ", " << to_string(f.kind) << ", "
        << f.cases.size() << " case(s), generator " << f.generator << " " << f.generator_version
        << (o.no_verify ? ", checksums NOT verified\n" : ", every sha256 verified\n");
    if (!o.case_name.empty() && !f.find(o.case_name)) throw GoldenError(o.file, o.case_name, "", "no such case");
    std::set<std::tuple<std::string, int32_t, int32_t, int32_t>> drawn;
    for (const Case& c : f.cases) {
      if (!o.case_name.empty() && c.name != o.case_name) continue;
      out << "\ncase " << c.name << "\n";
      if (f.kind == FileKind::golden) print_info(c.info, out);
      out << "  " << std::left << std::setw(17) << "dataset" << std::setw(8) << "dtype" << std::setw(22) << "shape"
          << std::setw(7) << "role" << std::setw(9) << "encoding" << std::setw(18) << "compare" << "sha256\n";
      for (const auto& [n, a] : c.data)
        out << "  " << std::setw(17) << n << std::setw(8) << to_string(a.dtype) << std::setw(22) << shape_string(a.shape)
            << std::setw(7) << to_string(a.role) << std::setw(9) << (a.encoding.empty() ? "-" : a.encoding)
            << std::setw(18) << (a.compare.empty() ? "-" : a.compare) << sha256_hex(a.bytes).substr(0, 16) << "\n";
      if (f.kind != FileKind::golden) continue;
      const PageLayout pl{page_layout_from_string(c.info.layout), c.info.page_size, c.info.head_dim, c.info.quant_block};
      if (o.maps && drawn.insert({c.info.layout, pl.page_size, pl.head_dim, pl.quant_block}).second)
        out << "\n" << render_page_map(pl, 16, 32);
      if (o.byte >= 0) {
        const PagedCacheLayout cl{pl, c.info.page_stride, c.at("cache").shape[0]};
        if (o.byte >= cl.total_bytes()) throw GoldenError(o.file, c.name, "cache", "byte " + std::to_string(o.byte) + " is past the stored pages");
        out << "  " << describe_byte(cl, o.byte) << " = 0x" << std::hex << int(c.at("cache").bytes[size_t(o.byte)])
            << std::dec << " (page index into page_ids)\n";
      }
    }
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int inspect(const InspectOptions& o, std::ostream& out, std::ostream& err) {
  return run_contained(
      "golden inspect", {o.file}, out, err,
      [&](std::ostream& co, std::ostream& ce) { return inspect_here(o, co, ce); },
      [](const std::string& why, std::ostream&, std::ostream& fe) {
        fe << "error: " << why << "\n";
        return 2;
      });
}

}  // namespace mqa::golden
