// Paged_logits descriptors over every value key (dist x ksrc x amax, the three specials, both
// layouts and encodings, ue8m0) and the shapes that move where a token lands (padding slots, a
// padded page stride, an explicit table with a shared page, 2-D lens, a sparse pool past 2^32
// bytes with page ids >= 65,536): what the device generator must reproduce byte for byte
// (tests/device/test_case_gen_device.cpp) and what materialize_layout must lay out as
// materialize() does (tests/cases/test_case_elements.cpp).
#pragma once
#include <string>
#include <vector>

namespace mqa::test {

inline std::vector<std::string> value_key_cases() {
  std::vector<std::string> out;
  int n = 0;
  auto shape = [&]() {
    ++n;
    std::string s = "op=paged_logits layout=" + std::string(n % 2 ? "standard" : "preshuffle16") + " B=16";
    s += n % 3 ? " D=64 Qb=64 H=4" : " D=128 Qb=128 H=8";
    s += n % 4 == 1 ? " next_n=2 lens=1d:[37,0,70]" : " lens=1d:[37,1,70,16]";
    s += std::string(" enc=") + (n % 4 < 2 ? "e4m3fn" : "e4m3fnuz");
    s += n % 5 == 0 ? " ue8m0=1" : "";
    return s + " seed=" + std::to_string(1000 + n);
  };
  auto specials = [&]() {
    const int k = n % 8;
    return std::string(k & 1 ? " nan_codes=1" : "") + (k & 2 ? " odd_weights=1" : "") + (k & 4 ? " odd_scales=1" : "");
  };
  for (const char* dist : {"randn", "adversarial"})
    for (const char* ksrc : {"bf16", "fp16", "fp32"})
      for (const char* amax : {"free", "at", "below", "above", "mix"}) {
        const std::string s = shape();
        out.push_back(s + " dist=" + dist + " ksrc=" + ksrc + " amax=" + amax + specials());
      }
  for (const char* dist : {"friendly", "exact_dot"})
    for (int i = 0; i < 4; ++i) {
      const std::string s = shape();
      out.push_back(s + " dist=" + dist + specials());
    }
  out.push_back(
      "op=paged_logits B=16 D=64 Qb=64 H=4 lens=1d:[40,9] pad_slots=7 dist=adversarial amax=mix "
      "nan_codes=1 odd_scales=1 seed=0x51");
  out.push_back("op=paged_logits layout=preshuffle16 B=16 D=64 Qb=64 H=4 lens=1d:[40,9] stride=1296 seed=0x52");
  out.push_back(
      "op=paged_logits B=16 D=64 Qb=64 H=4 lens=1d:[20,20] max_blocks=2 table=[0,1|1,2] dist=adversarial seed=0x53");
  out.push_back("op=paged_logits B=16 D=64 Qb=64 H=4 next_n=2 lens=2d:[5,30|17,0] ksrc=fp32 amax=above seed=0x54");
  // sparse: 600,000 pages of 8448 bytes (5.07 GB): page ids >= 65,536, offsets past 2^32
  out.push_back(
      "op=paged_logits B=64 D=128 Qb=128 H=8 lens=1d:[130,64] pages=600000 stride=8448 dist=adversarial "
      "amax=mix odd_weights=1 nan_codes=1 seed=0x55");
  return out;
}

}  // namespace mqa::test
