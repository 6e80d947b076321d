// mqa-harness: one executable, one subcommand per area. Each area registers its subcommands
// with ONE call here; a subcommand reports a non-zero exit code by throwing CLI::RuntimeError.
#include <CLI/CLI.hpp>

#include "mqa/fuzz.hpp"
#include "mqa/golden_cli.hpp"
#if MQA_HAVE_SELFCHECK_CLI
#include "mqa/selfcheck_cli.hpp"
#endif

int main(int argc, char** argv) {
  CLI::App app{"mqa-harness: verification harness for the paged MQA-logits path of sparse-attention indexers"};
  app.require_subcommand(1);
  mqa::fuzz::add_cli(app);    // fuzz
  mqa::golden::add_cli(app);  // golden generate|verify|diff|inspect
#if MQA_HAVE_SELFCHECK_CLI
  mqa::add_selfcheck_cli(app);  // selfcheck
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
