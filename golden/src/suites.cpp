// Case names are positions ("edge_017"): append new cases at the end of a suite so that the
// names of stored cases never change.
// The built-in suites of the corpus, as case descriptors (one line each, replayable with
// `mqa-harness fuzz --replay`). Lengths are reduced from production so that the whole corpus
// stays under ~20 MB; the shapes (H, D, B, next_n, layouts, encodings) are the deployed ones.
#include <algorithm>

#include "mqa/golden_cases.hpp"
#include "mqa/validate.hpp"

namespace mqa::golden {
namespace {

// aiter#4244 (a 32-bit output store offset): rows past 512 whose logits rows are padded to 2^21
// floats, so that the buffer is 2^32 bytes and more and row 512 starts at byte 2^32 exactly; a
// 32-bit offset writes rows 512.. onto rows 0... The lengths are short (`first` + b % 3 tokens),
// and the case is stored by regions (SCHEMA.md): a few thousand floats of a 4 GiB buffer.
std::string past_2_32_bytes(const std::string& head, int32_t sequences, int32_t first, const std::string& tail) {
  std::string lens;
  int32_t longest = 0;
  for (int32_t b = 0; b < sequences; ++b) {
    if (b) lens += ',';
    lens += std::to_string(first + b % 3);
    longest = std::max(longest, first + b % 3);
  }
  return head + " lens=1d:[" + lens + "] out_pad=" + std::to_string((1 << 21) - longest) + " " + tail;
}

// Every op once, tiny shapes, both layouts and encodings, both profiles.
const std::vector<std::string> kSmoke = {
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 next_n=1 lens=1d:[17,5,0] dist=friendly topk=8 seed=0x101",
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 next_n=2 lens=1d:[33,16] topk=16 seed=0x102",
    "op=paged_logits layout=standard B=1 D=64 Qb=64 H=16 lens=1d:[7,3] topk=4 seed=0x103",
    "op=paged_logits layout=preshuffle16 B=32 D=64 Qb=64 H=16 next_n=2 lens=2d:[10,11|40,41] clean=1 out_pad=5 "
    "topk=8 seed=0x104",
    "op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[20,9] M=12 topk=8 seed=0x105",
    "op=quant_cache layout=standard B=16 D=64 Qb=32 lens=1d:[20] enc=e4m3fnuz quant=aiter ue8m0=1 pad_slots=3 "
    "seed=0x106",
    "op=gather layout=preshuffle16 B=16 D=32 Qb=32 lens=1d:[16,1,31] seed=0x107",
    "op=paged_logits B=64 D=128 H=32 next_n=2 lens=1d:[100,65] profile=deepgemm_sm90 dist=friendly topk=32 "
    "seed=0x108",
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 lens=1d:[40] enc=e4m3fnuz dist=adversarial topk=8 "
    "seed=0x109",
    // past batch 64 (aiter#1815: the wrong output row stride), short sequences so that it stays tiny
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 lens=1d:[3,1,2,1,1,2,1,1,1,3,1,1,2,1,1,1,1,2,1,1,1,1,3,1,"
    "1,1,2,1,1,1,1,1,2,1,1,1,1,1,1,3,1,1,2,1,1,1,1,1,1,1,2,1,1,1,1,1,1,1,3,1,1,1,1,1,2,1,3,1] topk=2 seed=0x10a",
    // a pool of 5.2 GB stored sparsely: pages past 2^32 bytes for the write, the logits and the gather
    // (the 3.5 GB of an earlier corpus lay wholly below 2^32, where a 32-bit unsigned offset is right)
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=8 lens=1d:[70] pages=600000 stride=8704 topk=16 seed=0x10b",
    "op=gather layout=preshuffle16 B=64 D=128 Qb=128 lens=1d:[65,3] pages=600000 stride=8704 seed=0x10c",
    // special values (docs/numerics.md): NaN codes in q and the cache, inf / NaN / -0 / huge weights,
    // zero, -0, negative, subnormal and overflowing k scales: NaN and -0 logits, NaN in top-k rows
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 next_n=2 lens=1d:[40,33,17,64,9,25,12,50] topk=8 seed=0x10d "
    "nan_codes=1 odd_weights=1 odd_scales=1",
    // one head, friendly codes: every row with w = 0 ties all its logits, w > 0 ties its zeros across
    // the k-th place, w < 0 gives -0 logits
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=1 lens=1d:[40,40,40,40] dist=friendly topk=24 "
    "seed=0x10e",
    // deepgemm_sm90 on sums that round (integer codes, arbitrary fp32 weights and scales)
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=16 next_n=2 lens=1d:[40,17] profile=deepgemm_sm90 "
    "dist=exact_dot topk=8 seed=0x10f",
    // fp32 K sources with amax one ulp above FMAX*2^e: sc = 2^e (1 + 2^-23), where log2f rounds down
    "op=quant_cache layout=standard B=16 D=64 Qb=32 lens=1d:[20] quant=exact ue8m0=1 seed=0x110 ksrc=fp32 "
    "amax=above",
    "op=quant_cache layout=preshuffle16 B=16 D=32 Qb=32 lens=1d:[20] quant=vllm ue8m0=1 seed=0x111 ksrc=fp32 "
    "amax=above",
    // gather copies every scale byte: NaN (signalling too), inf, -0 among them
    "op=gather layout=standard B=16 D=64 Qb=32 lens=1d:[20,5] seed=0x112 nan_codes=1 odd_scales=1",
    // 520 rows, 2^32 + 2^25 bytes of logits (aiter#4244), by regions
    past_2_32_bytes("op=paged_logits layout=standard B=16 D=32 Qb=32 H=8", 520, 1, "topk=2 seed=0x113"),
};

// The edge matrix of spec verification.md, small D/H so that it stays cheap.
const std::vector<std::string> kEdge = {
    // lengths around page and 256-column boundaries, B = 16 / 32 / 64 / 128 / 256
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 lens=1d:[0,1,15,16,17,255,256,257,131] topk=16 seed=0x201",
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 lens=1d:[0,1,15,16,17,255,256,257,131] topk=16 "
    "seed=0x202",
    "op=paged_logits layout=preshuffle16 B=32 D=64 Qb=64 H=8 lens=1d:[31,32,33,97] topk=16 seed=0x203",
    "op=paged_logits layout=standard B=64 D=32 Qb=32 H=8 lens=1d:[63,64,65,255,256,257] out_pad=3 topk=64 "
    "seed=0x204",
    "op=paged_logits layout=preshuffle16 B=128 D=32 Qb=32 H=8 lens=1d:[127,128,129] topk=64 seed=0x205",
    "op=paged_logits layout=standard B=256 D=32 Qb=32 H=8 lens=1d:[255,256,257] topk=64 seed=0x206",
    "op=paged_logits layout=standard B=1 D=32 Qb=32 H=8 lens=1d:[1,2,17] topk=4 seed=0x207",
    // batch 17, next_n 2 with 1-D (causal offsets, L_r = 0 rows) and 2-D lens, clean logits
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=16 lens=1d:[1,2,3,5,8,13,21,34,55,89,144,0,16,17,31,32,33] "
    "topk=8 seed=0x208",
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 next_n=2 lens=1d:[1,2,16,17,64] clean=1 topk=16 "
    "seed=0x209",
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 next_n=2 lens=2d:[0,1|16,17|5,40] topk=16 seed=0x20a",
    // page ids past 65,536 (sparse pool) and a pool past 2^32 bytes; padded stride and table
    "op=paged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=8 lens=1d:[65,130] pages=70000 topk=32 seed=0x20b",
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=8 lens=1d:[200] pages=600000 stride=8704 tpad=3 topk=32 "
    "seed=0x20c",
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=8 lens=1d:[40,7] stride=640 tpad=2 pad_slots=4 topk=8 "
    "seed=0x20d",
    // values: adversarial (FMAX, subnormals, cancellation, amax near powers of two), both encodings
    "op=paged_logits layout=standard B=16 D=64 Qb=64 H=8 lens=1d:[48] dist=adversarial topk=8 seed=0x20e",
    "op=paged_logits layout=preshuffle16 B=16 D=64 Qb=64 H=8 lens=1d:[48] enc=e4m3fnuz dist=adversarial topk=8 "
    "seed=0x20f",
    "op=paged_logits layout=standard B=16 D=32 Qb=32 H=16 next_n=2 lens=1d:[30,18] profile=deepgemm_sm90 "
    "dist=friendly topk=8 seed=0x210",
    // quantise-and-cache: every variant with ue8m0 on adversarial amax, both encodings, Qb < D
    "op=quant_cache layout=standard B=16 D=64 Qb=64 lens=1d:[33] quant=exact ue8m0=1 dist=adversarial seed=0x211",
    "op=quant_cache layout=standard B=16 D=64 Qb=64 lens=1d:[33] quant=vllm ue8m0=1 dist=adversarial seed=0x211",
    "op=quant_cache layout=preshuffle16 B=16 D=64 Qb=64 lens=1d:[33] quant=aiter ue8m0=1 enc=e4m3fnuz "
    "dist=adversarial seed=0x211",
    "op=quant_cache layout=standard B=16 D=64 Qb=32 lens=1d:[33] quant=sglang ue8m0=1 dist=adversarial seed=0x211",
    "op=quant_cache layout=preshuffle16 B=32 D=128 Qb=128 lens=1d:[70,1] pad_slots=5 stride=8448 seed=0x212",
    // gather: empty, single-token and page-boundary sequences
    "op=gather layout=standard B=16 D=32 Qb=32 lens=1d:[0,1,16,17] seed=0x213",
    "op=gather layout=preshuffle16 B=32 D=64 Qb=32 lens=1d:[33,64] seed=0x214",
    // ragged prefill: random and full ranges, M = 1
    "op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[40,25] M=20 ranges=random topk=8 seed=0x215",
    "op=ragged_logits B=16 D=64 Qb=64 H=16 lens=1d:[33] M=1 ranges=full clean=1 out_pad=7 topk=16 seed=0x216",
    // B = 512, the largest page the harness accepts
    "op=paged_logits layout=preshuffle16 B=512 D=32 Qb=32 H=8 lens=1d:[511,512,513] topk=64 seed=0x217",
    // 66 sequences, 2 rows each: rows past batch 64 (aiter#1815)
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 next_n=2 lens=1d:[2,5,1,3,2,2,4,1,2,2,3,2,2,2,1,6,2,2,2,"
    "3,2,2,2,2,17,2,2,2,1,2,2,2,3,2,2,2,2,2,2,2,2,4,2,2,2,2,2,2,2,2,2,2,2,9,2,2,2,2,2,2,2,2,2,2,3,2] topk=4 seed=0x218",
    // special values (docs/numerics.md): NaN codes, odd weights and odd k scales; MTP with 2-D lens
    // and e4m3fnuz (one NaN code, 0x80); ragged with NaN / inf scales where no row reads the token
    "op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 next_n=2 lens=2d:[0,1|16,17|40,41|7,9|30,31] "
    "enc=e4m3fnuz topk=8 seed=0x219 nan_codes=1 odd_weights=1 odd_scales=1",
    "op=ragged_logits B=16 D=32 Qb=32 H=8 lens=1d:[40,25,30] M=24 ranges=random topk=8 seed=0x21a nan_codes=1 "
    "odd_weights=1 odd_scales=1",
    // top-k ties across the k-th place and -0 logits (one head, friendly codes)
    "op=paged_logits layout=standard B=32 D=32 Qb=32 H=1 lens=1d:[50,50,50,50,50] dist=friendly topk=30 "
    "seed=0x21b",
    // deepgemm_sm90 on sums that round: one group (H = 8) and four groups (H = 32)
    "op=paged_logits layout=preshuffle16 B=16 D=64 Qb=64 H=8 lens=1d:[33,48] profile=deepgemm_sm90 "
    "dist=exact_dot topk=8 seed=0x21c",
    "op=ragged_logits B=16 D=32 Qb=32 H=32 lens=1d:[30,20] M=10 profile=deepgemm_sm90 dist=exact_dot topk=8 "
    "seed=0x21d",
    // K sources in fp32 and fp16 with amax at, one ulp below and one ulp above FMAX*2^e
    "op=quant_cache layout=preshuffle16 B=16 D=64 Qb=32 lens=1d:[40] quant=exact ue8m0=1 seed=0x21e ksrc=fp32 "
    "amax=mix",
    "op=quant_cache layout=standard B=16 D=64 Qb=64 lens=1d:[40] enc=e4m3fnuz quant=vllm ue8m0=1 seed=0x21f "
    "ksrc=fp32 amax=above",
    "op=quant_cache layout=standard B=16 D=64 Qb=64 lens=1d:[40] quant=aiter ue8m0=1 seed=0x220 ksrc=fp16 "
    "amax=mix",
    "op=quant_cache layout=preshuffle16 B=16 D=64 Qb=32 lens=1d:[40] quant=sglang ue8m0=1 seed=0x221 ksrc=fp32 "
    "amax=mix",
    "op=paged_logits layout=standard B=16 D=64 Qb=64 H=8 lens=1d:[48,20] quant=vllm topk=8 seed=0x222 ksrc=fp16 "
    "amax=mix",
    "op=paged_logits layout=preshuffle16 B=16 D=64 Qb=64 H=8 lens=1d:[48,20] ue8m0=1 topk=8 seed=0x223 ksrc=fp32 "
    "amax=above",
    // gather copies every scale byte: NaN (signalling too), inf, -0 among them
    "op=gather layout=preshuffle16 B=16 D=32 Qb=32 lens=1d:[33,16,1] seed=0x224 nan_codes=1 odd_scales=1",
    // 257 sequences of 2 rows (MTP), clean logits: 514 rows, past 2^32 bytes (aiter#4244), by regions
    past_2_32_bytes("op=paged_logits layout=preshuffle16 B=16 D=32 Qb=32 H=8 next_n=2", 257, 2,
                    "clean=1 topk=2 seed=0x225"),
};

// DeepSeek-V3.2 indexer: H=64, D=128, Qb=128, B=64. Decode (next_n=1), MTP verify (next_n=2,
// 1-D lens as SGLang/DeepGEMM v2.1 and 2-D as vLLM), prefill (ragged). DeepGEMM pads logits
// rows to a multiple of 256 columns (out_pad). Lengths reduced from production (~100K).
const std::vector<std::string> kDeployed = {
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=64 next_n=1 lens=1d:[1024,700,1300,64] out_pad=236 "
    "topk=2048 seed=0x301",
    "op=paged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=64 next_n=1 lens=1d:[1024,700,1300,64] out_pad=236 "
    "topk=2048 seed=0x302",
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=64 next_n=2 lens=1d:[900,513] out_pad=124 topk=512 "
    "seed=0x303",
    "op=paged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=64 next_n=2 lens=2d:[899,900|300,301] out_pad=124 "
    "topk=512 seed=0x304",
    "op=paged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=64 next_n=1 lens=1d:[777,256] enc=e4m3fnuz "
    "quant=aiter topk=512 seed=0x305",
    "op=paged_logits layout=standard B=64 D=128 Qb=128 H=64 next_n=2 lens=1d:[640,129] profile=deepgemm_sm90 "
    "dist=friendly topk=512 seed=0x306",
    "op=ragged_logits layout=standard B=64 D=128 Qb=128 H=64 lens=1d:[700,300] M=96 topk=512 seed=0x307",
    "op=quant_cache layout=preshuffle16 B=64 D=128 Qb=128 lens=1d:[300,129] quant=vllm ue8m0=1 seed=0x308",
    "op=ragged_logits layout=preshuffle16 B=64 D=128 Qb=128 H=64 lens=1d:[500,257,129] M=64 enc=e4m3fnuz "
    "quant=aiter topk=256 seed=0x309",
    "op=gather layout=preshuffle16 B=64 D=128 Qb=128 lens=1d:[1000,64,1] seed=0x30a",
};

}  // namespace

std::vector<std::string> suite_names() { return {"smoke", "edge", "deployed"}; }

std::vector<std::string> builtin_suite(const std::string& name) {
  if (name == "smoke") return kSmoke;
  if (name == "edge") return kEdge;
  if (name == "deployed") return kDeployed;
  reject("suite", "'" + name + "'", "expected smoke, edge or deployed");
}

}  // namespace mqa::golden
