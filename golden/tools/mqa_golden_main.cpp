// Golden-only driver (`mqa-golden golden ...`): the same subcommands as `mqa-harness golden`,
// without the fuzz campaign, so the golden tests do not depend on the harness executable.
#include "mqa/golden_cli.hpp"

int main(int argc, char** argv) { return mqa::golden::run_cli(argc, argv); }
