// _mqa_harness: the pybind11 extension under the mqa_harness package. It exposes the SAME C++
// generator, shrinker, materialize() and comparator that `mqa-harness fuzz` runs, so case i
// drawn from Python is the CLI's case i and a verdict here is the campaign's verdict. Everything
// is spoken in descriptor strings; the Python package (mqa_harness/) builds the friendly API.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mqa/case.hpp"
#include "mqa/case_random.hpp"
#include "mqa/case_tiers.hpp"
#include "mqa/compare.hpp"
#include "mqa/tolerance.hpp"
#include "mqa/validate.hpp"

namespace py = pybind11;

namespace {

using namespace mqa;

// A 1-D or 2-D numpy copy of a vector (the case owns its buffers; copies keep numpy's lifetime
// rules trivial and cost nothing next to materialize()).
template <class T>
py::array_t<T> array(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::ssize_t n = 1;
  for (py::ssize_t s : shape) n *= s;
  if (n != py::ssize_t(v.size()))
    throw std::logic_error("internal: array of " + std::to_string(v.size()) + " elements viewed as " +
                           std::to_string(n));
  py::array_t<T> a(shape);
  if (n > 0) std::memcpy(a.mutable_data(), v.data(), size_t(n) * sizeof(T));
  return a;
}

// A constraint list given as strings (e.g. ops) converted with the C++ parser; a bad item is
// rejected naming the Python keyword, like the CLI names its option.
template <class E, class F>
std::vector<E> enum_list(const char* field, const std::vector<std::string>& items, F&& parse, const char* expected) {
  std::vector<E> out;
  for (const std::string& s : items) {
    try {
      out.push_back(parse(s));
    } catch (const std::exception&) {
      reject(field, "'" + s + "'", expected);
    }
  }
  return out;
}

GenOptions gen_options(const std::vector<std::string>& ops, const std::vector<std::string>& profiles,
                       const std::vector<std::string>& layouts, const std::vector<int32_t>& page_sizes,
                       const std::vector<int32_t>& heads, const std::vector<int32_t>& head_dims,
                       const std::vector<int32_t>& next_n, const std::vector<std::string>& encodings,
                       const std::string& lens_2d, const std::string& tier, std::optional<int32_t> max_batch,
                       std::optional<int32_t> max_len, std::optional<int64_t> max_tokens, std::optional<int32_t> max_heads,
                       bool high_page_ids, bool special_values) {
  GenOptions g = tier_options(tier_from_string(tier));  // the sizes not given are the tier's
  g.ops = enum_list<CaseOp>("ops", ops, case_op_from_string, "expected quant_cache, gather, paged_logits or ragged_logits");
  g.profiles = enum_list<Profile>("profiles", profiles, profile_from_string, "expected exact or deepgemm_sm90");
  g.layouts = enum_list<PageLayoutKind>("layouts", layouts, page_layout_from_string, "expected standard or preshuffle16");
  g.encodings = enum_list<Fp8Encoding>("encodings", encodings, fp8_encoding_from_string, "expected e4m3fn or e4m3fnuz");
  g.page_sizes = page_sizes;
  g.heads = heads;
  g.head_dims = head_dims;
  g.next_n = next_n;
  if (lens_2d == "any") g.lens = LensShape::any;
  else if (lens_2d == "on") g.lens = LensShape::two_d;
  else if (lens_2d == "off") g.lens = LensShape::one_d;
  else reject("lens_2d", "'" + lens_2d + "'", "expected on, off or any");
  g.max_batch = max_batch.value_or(g.max_batch);
  g.max_len = max_len.value_or(g.max_len);
  g.max_tokens = max_tokens.value_or(g.max_tokens);
  g.max_heads = max_heads.value_or(g.max_heads);
  g.high_page_ids = high_page_ids;
  g.special_values = special_values;
  check_gen_options(g);
  return g;
}

// A materialised case: the tensors of materialize() and the comparator over them.
class Tensors {
 public:
  explicit Tensors(const std::string& line) : t_(materialize(parse_case(line), true)) {}

  const CaseTensors& t() const { return t_; }
  bool logits_op() const { return t_.desc.op == CaseOp::paged_logits || t_.desc.op == CaseOp::ragged_logits; }

  void need_logits(const char* what) const {
    if (!logits_op())
      reject("op", std::string(to_string(t_.desc.op)), std::string(what) + " takes the logits ops only (paged_logits, ragged_logits)");
  }

  // The kernel-visible pool [num_pages, page_stride] bytes: sentinel 0xA5 where nothing was
  // written. Callers check its size first (a sparse pool is gigabytes of address space).
  py::array_t<uint8_t> pool() const {
    const PoolBuffer buf = t_.make_pool(true);
    py::array_t<uint8_t> a({py::ssize_t(t_.pool.num_pages), py::ssize_t(t_.pool.page_stride)});
    if (buf.size() > 0) std::memcpy(a.mutable_data(), buf.data(), size_t(buf.size()));
    return a;
  }

  py::array_t<uint8_t> compact_cache() const {
    return array(t_.cache.bytes, {py::ssize_t(t_.page_ids.size()), py::ssize_t(t_.pool.page_stride)});
  }

  py::array_t<int64_t> regions() const {
    std::vector<int64_t> v;
    for (const RowRegion& r : t_.regions.row) v.insert(v.end(), {r.valid_begin, r.valid_end, r.future_end});
    return array(v, {py::ssize_t(t_.regions.row.size()), 3});
  }

  // The tolerance model's bound per element of [rows * row_stride] (0 outside the compared
  // columns), as the comparison of `compare` below uses it.
  py::array_t<double> bounds(const std::string& compare) const {
    need_logits("bounds");
    const CompareMode mode = CompareMode::parse(compare);
    if (mode.kind != CompareKind::tolerance) reject("mode", "'" + compare + "'", "bounds exist for tolerance modes only");
    const std::vector<double> b = t_.logits_bounds(mode.tolerance());
    return array(b, {py::ssize_t(t_.rows), py::ssize_t(t_.logits_row_stride)});
  }

  // CaseTensors::compare_logits over `actual` ([rows * row_stride] floats or more), as the
  // campaign judges; writes "" = no sentinel check (a kernel that allocated its own output).
  py::dict compare(py::array_t<float, py::array::c_style | py::array::forcecast> actual_in, const std::string& compare,
                   const std::string& writes, int32_t max_listed) const {
    need_logits("compare");
    const std::vector<float> actual(actual_in.data(), actual_in.data() + actual_in.size());
    const int64_t need = t_.rows * t_.logits_row_stride;
    if (int64_t(actual.size()) < need)
      reject("logits", std::to_string(actual.size()) + " floats", "expected at least rows * row_stride = " + std::to_string(need));
    CompareMode mode = CompareMode::parse(compare);
    if (writes == "defined" || writes == "columns") {
      mode.sentinel = kLogitSentinelBits;
      mode.writes = writes == "defined" ? WriteScope::defined : WriteScope::columns;
    } else if (!writes.empty()) {
      reject("writes", "'" + writes + "'", "expected None, defined or columns");
    }
    const CompareReport rep = t_.compare_logits(actual, mode, max_listed);
    py::dict d;
    d["passed"] = rep.pass;
    d["text"] = rep.to_text();
    d["json"] = rep.to_json().dump();
    d["margin"] = rep.margin();
    d["mode"] = rep.mode;  // as judged: with clean from the case
    if (rep.worst_ratio) d["worst_ratio"] = rep.worst_ratio->ratio;
    else d["worst_ratio"] = py::none();
    d["mismatched"] = rep.mismatched;
    d["compared"] = rep.compared;
    return d;
  }

 private:
  CaseTensors t_;
};

}  // namespace

PYBIND11_MODULE(_mqa_harness, m) {
  m.doc() = "C++ core of mqa_harness: the generator, shrinker, materialize() and comparator of mqa-harness";
  // InvalidInput -> ValueError with the same message (it names the field and the value).
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const mqa::InvalidInput& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.attr("LOGIT_SENTINEL_BITS") = mqa::kLogitSentinelBits;
  m.attr("DENSE_POOL_LIMIT") = mqa::kDensePoolLimit;

  py::class_<GenOptions>(m, "GenOptions", "mqa::GenOptions, checked (check_gen_options)")
      .def("describe", [](const GenOptions& g) { return describe_constraints(g); });
  m.def("gen_options", &gen_options, py::arg("ops"), py::arg("profiles"), py::arg("layouts"), py::arg("page_sizes"),
        py::arg("heads"), py::arg("head_dims"), py::arg("next_n"), py::arg("encodings"), py::arg("lens_2d"),
        py::arg("tier"), py::arg("max_batch"), py::arg("max_len"), py::arg("max_tokens"), py::arg("max_heads"), py::arg("high_page_ids"),
        py::arg("special_values"));
  m.def("random_case", [](uint64_t seed, uint64_t index, const GenOptions& g) { return to_string(random_case(seed, index, g)); },
        "descriptor line of case `index` (mqa::random_case)");
  m.def("parse_case", [](const std::string& line) { return to_string(parse_case(line)); },
        "the canonical line of a descriptor (ValueError naming the key on a bad one)");
  m.def("shrink_candidates",
        [](const std::string& line) {
          std::vector<std::string> out;
          for (const CaseDescriptor& c : shrink_candidates(parse_case(line))) out.push_back(to_string(c));
          return out;
        },
        "simpler neighbours of a descriptor, most aggressive first (mqa::shrink_candidates)");
  m.def("case_size", [](const std::string& line) { return case_size(parse_case(line)); });

  py::class_<Tensors>(m, "Tensors", "materialize(descriptor) with the reference outputs")
      .def(py::init<const std::string&>())
      .def_property_readonly("descriptor", [](const Tensors& s) { return to_string(s.t().desc); })
      .def_property_readonly("op", [](const Tensors& s) { return std::string(to_string(s.t().desc.op)); })
      .def_property_readonly("layout", [](const Tensors& s) { return std::string(to_string(s.t().desc.layout)); })
      .def_property_readonly("encoding", [](const Tensors& s) { return std::string(to_string(s.t().desc.encoding)); })
      .def_property_readonly("profile", [](const Tensors& s) { return std::string(to_string(s.t().desc.profile)); })
      .def_property_readonly("batch", [](const Tensors& s) { return s.t().batch; })
      .def_property_readonly("next_n", [](const Tensors& s) { return s.t().desc.next_n; })
      .def_property_readonly("heads", [](const Tensors& s) { return s.t().desc.heads; })
      .def_property_readonly("head_dim", [](const Tensors& s) { return s.t().desc.head_dim; })
      .def_property_readonly("page_size", [](const Tensors& s) { return s.t().desc.page_size; })
      .def_property_readonly("M", [](const Tensors& s) { return s.t().desc.M; })
      .def_property_readonly("lens_2d", [](const Tensors& s) { return s.t().desc.lens_2d; })
      .def_property_readonly("clean_logits", [](const Tensors& s) { return s.t().desc.clean_logits; })
      .def_property_readonly("max_context_len", [](const Tensors& s) { return s.t().desc.max_context_len; })
      .def_property_readonly("max_blocks", [](const Tensors& s) { return s.t().desc.max_blocks; })
      .def_property_readonly("num_pages", [](const Tensors& s) { return s.t().pool.num_pages; })
      .def_property_readonly("page_stride", [](const Tensors& s) { return s.t().pool.page_stride; })
      .def_property_readonly("natural_page_bytes", [](const Tensors& s) { return s.t().pool.page.natural_page_bytes(); })
      .def_property_readonly("sparse_pool", [](const Tensors& s) { return s.t().sparse_pool; })
      .def_property_readonly("rows", [](const Tensors& s) { return s.t().rows; })
      .def_property_readonly("cols", [](const Tensors& s) { return s.t().cols; })
      .def_property_readonly("row_stride", [](const Tensors& s) { return s.t().logits_row_stride; })
      .def_property_readonly("table_row_stride", [](const Tensors& s) { return s.t().table_row_stride; })
      .def_property_readonly("logits_op", &Tensors::logits_op)
      .def("q", [](const Tensors& s) {
        const CaseTensors& t = s.t();
        s.need_logits("q");
        if (t.desc.op == CaseOp::paged_logits) return array(t.q, {t.batch, t.desc.next_n, t.desc.heads, t.desc.head_dim});
        return array(t.q, {t.desc.M, t.desc.heads, t.desc.head_dim});
      })
      .def("weights", [](const Tensors& s) {
        s.need_logits("weights");
        return array(s.t().weights, {py::ssize_t(s.t().rows), s.t().desc.heads});
      })
      .def("context_lens", [](const Tensors& s) {
        const CaseTensors& t = s.t();
        if (t.desc.lens_2d) return array(t.lens, {t.batch, t.desc.next_n});
        return array(t.lens, {py::ssize_t(t.lens.size())});
      })
      .def("block_table", [](const Tensors& s) {
        const CaseTensors& t = s.t();
        return array(t.block_table, {t.batch, py::ssize_t(t.table_row_stride)});
      })
      .def("block_table_compact", [](const Tensors& s) {
        const CaseTensors& t = s.t();
        return array(t.block_table_compact, {t.batch, py::ssize_t(t.table_row_stride)});
      })
      .def("pool", &Tensors::pool)
      .def("compact_cache", &Tensors::compact_cache)
      .def("page_ids", [](const Tensors& s) { return array(s.t().page_ids, {py::ssize_t(s.t().page_ids.size())}); })
      .def("k", [](const Tensors& s) {
        const CaseTensors& t = s.t();
        return array(t.gathered.values, {py::ssize_t(t.gathered.rows), t.desc.head_dim});
      })
      .def("kscale", [](const Tensors& s) { return array(s.t().kscale, {py::ssize_t(s.t().kscale.size())}); })
      .def("ks", [](const Tensors& s) { return array(s.t().ks, {py::ssize_t(s.t().ks.size())}); })
      .def("ke", [](const Tensors& s) { return array(s.t().ke, {py::ssize_t(s.t().ke.size())}); })
      .def("logits", [](const Tensors& s) {
        s.need_logits("logits");
        return array(s.t().logits, {py::ssize_t(s.t().rows), py::ssize_t(s.t().logits_row_stride)});
      })
      .def("regions", &Tensors::regions)
      .def("bounds", &Tensors::bounds, py::arg("mode"))
      .def("compare", &Tensors::compare, py::arg("actual"), py::arg("compare"), py::arg("writes"), py::arg("max_listed") = 10);
}
