// Tiers of the random draw (`--tier small|deployed`) and the named deployed suite: the
// production shapes of the DeepSeek-V3.2 and GLM-5 indexers as case descriptors, so that a
// failure at deployed scale is one replayable line like any other case.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mqa/case.hpp"
#include "mqa/case_random.hpp"

namespace mqa {

const char* to_string(Tier t);                 // "small" | "deployed"
Tier tier_from_string(const std::string& s);   // throws InvalidInput naming --tier

// The options a tier starts from; explicit options (--max-batch, --max-len, ...) override them.
//   small     the defaults of GenOptions: batch <= 17, <= 2048 written tokens, ragged N <= 512,
//             sized for a CPU kernel (about 100 cases/s with the reference).
//   deployed  batch <= 256, L <= 160K (163,840), <= 2^22 written tokens with the budget of each
//             case drawn log-uniformly (max >> u, u in [0, 8]: most cases are small, some are
//             GBs), H <= 128, ragged M <= 512 and N <= 16K, 20% of paged cases with logits past
//             2^31 bytes (513..600 rows of 2^20 columns), pools past 2^32 bytes for quant_cache
//             and gather as well as paged_logits. Meant for builtin-hip and GPU kernels.
GenOptions tier_options(Tier t);

struct NamedCase {
  std::string name;     // e.g. "dsv32_decode_131072"
  CaseDescriptor desc;
};

// The deployed suite: DeepSeek-V3.2 (H 64) decode and MTP, GLM-5 (H 32) MTP decode at every L of
// {8K, 32K, 64K, 128K} up to max_L (and max_L itself), batch 64 with lengths in [L/2, L]; batch 256
// decode at 8K; ragged prefill (2048 query rows) at L <= 64K; with `wide_logits`, GLM-5 MTP decode
// at 129 x 4 rows of a 2^20-column logits buffer (2.2 GB, past 2^31 bytes). max_L <= 0: empty.
std::vector<NamedCase> deployed_suite(int32_t max_L = 131072, bool wide_logits = true);

}  // namespace mqa
