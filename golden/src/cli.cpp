// Registration of `golden generate|verify|diff|inspect` on a CLI11 app.
#include <CLI/CLI.hpp>
#include <iostream>

#include "mqa/golden_cases.hpp"
#include "mqa/golden_cli.hpp"

namespace mqa::golden {
namespace {

// Subcommand callbacks report their exit code the CLI11 way.
void exit_with(int rc) {
  if (rc != 0) throw CLI::RuntimeError(rc);
}

// Containment of the readers (golden/src/contain.hpp) and the writer's test hooks, for --help.
const char* const kReaderHelp =
    "\nFiles are parsed in a child process with limits: a crash, a loop or an allocation storm inside HDF5\n"
    "is an exit-2 error naming the file. Environment: MQA_READER_TIMEOUT=S (wall-clock seconds, default\n"
    "120), MQA_READER_CPU=S (CPU seconds, default MQA_READER_TIMEOUT), MQA_READER_MEMORY=BYTES (K/M/G;\n"
    "default 4G + 8 x the files' size), MQA_READER_CONTAIN=0 (parse in-process, for debugging).\n"
    "Test hook: MQA_TEST_READER_FAULT=segv|abort|hang|spin|alloc[:SUBSTRING].";
const char* const kWriterHelp =
    "\nThe file is built in memory, written to OUT.tmp.<pid>, fsynced and renamed over OUT; on any error the\n"
    "old file is kept and the temporary one removed (and those of dead writers at the next write).\n"
    "Test hooks: MQA_TEST_WRITE_FAIL_AFTER=N (bytes), MQA_TEST_WRITE_FAIL_AT=fsync|close|rename|dirsync|hdf5.";

}  // namespace

void add_cli(CLI::App& app) {
  CLI::App* golden = app.add_subcommand("golden", "Golden files (schema v1, golden/SCHEMA.md): generate, verify, diff, inspect");
  golden->require_subcommand(1);

  auto gen = std::make_shared<GenerateOptions>();
  std::string suites;
  for (const auto& s : suite_names()) suites += (suites.empty() ? "" : ", ") + s;
  CLI::App* g = golden->add_subcommand("generate", "Write a golden file from a built-in suite or a case list (atomic)");
  g->add_option("--suite", gen->suite, "built-in suite: " + suites);
  g->add_option("--cases", gen->case_list, "file with one case descriptor per line ('#' comments)");
  g->add_option("-o,--out", gen->out, "output .h5 path")->required();
  g->add_option("--bounds", gen->bounds,
                "store the per-element bound of these tolerance models next to the logits, e.g. fp8_mma or fp32,fp8_mma "
                "(datasets logits_bound_<model>; verify --mode tolerance:<model> uses them)");
  g->add_flag("--force", gen->force, "overwrite an existing file (and list the datasets that changed)");
  g->add_flag("--no-progress", [gen](int64_t) { gen->progress = false; }, "no progress bar");
  g->footer(kWriterHelp);
  g->callback([gen] { exit_with(generate(*gen, std::cout, std::cerr)); });

  auto ver = std::make_shared<VerifyOptions>();
  CLI::App* v = golden->add_subcommand(
      "verify", "Compare a candidate file (a kernel's outputs) with a golden file; exit 0 pass, 1 mismatch, 2 bad input");
  v->add_option("golden", ver->golden, "golden .h5")->required();
  v->add_option("candidate", ver->candidate, "candidate .h5 (same case names, outputs only)")->required();
  v->add_flag("--json", ver->json, "machine-readable report on stdout");
  v->add_flag("--subset", ver->subset, "compare only the golden cases the candidate holds");
  v->add_option("--mode", ver->logits_mode, "override the logits comparison mode, e.g. 'ulp:2', 'tolerance' (= tolerance:fp32: exact products, fp32 accumulation), 'tolerance:fp8_mma' (fp8 tensor-core dot), options ,bf16_out ,calc_diff:X; docs/numerics.md 'Tolerance models'");
  v->add_option("--max-listed", ver->max_listed, "mismatches listed per output")->check(CLI::NonNegativeNumber);
  v->add_flag("--unchecked", ver->unchecked, "accept files without the mqa-golden header or dataset checksums (written by other tools)");
  v->footer(kReaderHelp);
  v->callback([ver] { exit_with(verify(*ver, std::cout, std::cerr)); });

  auto dif = std::make_shared<DiffOptions>();
  CLI::App* d = golden->add_subcommand("diff", "Compare two golden (or candidate) files dataset by dataset; exit 0 identical, 1 different, 2 bad input");
  d->add_option("a", dif->a, "first .h5")->required();
  d->add_option("b", dif->b, "second .h5")->required();
  d->add_flag("--json", dif->json, "machine-readable report on stdout");
  d->add_option("--max-listed", dif->max_listed, "differences listed per dataset")->check(CLI::NonNegativeNumber);
  d->add_flag("--unchecked", dif->unchecked, "accept files without the mqa-golden header or dataset checksums");
  d->footer(kReaderHelp);
  d->callback([dif] { exit_with(diff(*dif, std::cout, std::cerr)); });

  auto ins = std::make_shared<InspectOptions>();
  CLI::App* i = golden->add_subcommand("inspect", "Print the cases, attributes, datasets and page maps of a golden file");
  i->add_option("file", ins->file, ".h5 file")->required();
  i->add_option("--case", ins->case_name, "only this case");
  i->add_option("--byte", ins->byte, "with --case: describe this byte of the stored cache");
  i->add_flag("--no-map", [ins](int64_t) { ins->maps = false; }, "do not draw page maps");
  i->add_flag("--no-verify", ins->no_verify, "skip checksum verification (forensics)");
  i->add_flag("--unchecked", ins->unchecked, "accept a file without the mqa-golden header or dataset checksums");
  i->footer(kReaderHelp);
  i->callback([ins] { exit_with(inspect(*ins, std::cout, std::cerr)); });
}

int run_cli(int argc, const char* const* argv) {
  CLI::App app{"mqa-harness golden tools"};
  app.require_subcommand(1);
  add_cli(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return (e.get_name() == "RuntimeError" || rc == 0) ? rc : 2;  // usage errors are bad input too
  }
  return 0;
}

}  // namespace mqa::golden
