// mqa-harness: one executable, one subcommand per area. Each area registers its subcommands
// with ONE call here; a subcommand reports a non-zero exit code by throwing CLI::RuntimeError.
#include <CLI/CLI.hpp>
#include <iostream>
#include <unistd.h>

#include "mqa/fuzz.hpp"
#include "mqa/golden_cli.hpp"
#include "selfcheck.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mqa-harness: verification harness for the paged MQA-logits path of sparse-attention indexers"};
  app.require_subcommand(1);
  mqa::fuzz::add_cli(app);    // fuzz
  mqa::golden::add_cli(app);  // golden generate|verify|diff|inspect
  CLI::App* selfcheck = app.add_subcommand("selfcheck", "Check the reference against its contract on the built-in edge suite");
  bool quick = false;
  selfcheck->add_flag("--quick", quick, "A smaller edge matrix");
  selfcheck->callback([&] {
    if (mqa::run_selfcheck(std::cout, {.quick = quick, .progress = isatty(STDOUT_FILENO) != 0}) != 0) throw CLI::RuntimeError(1);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {  // a subcommand's verdict: 1 mismatch, 2 bad input
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {  // --help prints and exits 0; a usage error is bad input: 2
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {  // never terminate() on an error a subcommand did not catch
    std::cerr << "mqa-harness: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
