/* mqa-harness kernel-under-test ABI, versions 1 and 2.
 *
 * The one interface through which the fuzzer and `golden verify` call an implementation of the
 * indexer ops: the built-in reference, the built-in HIP kernels, or any shared library that
 * exports `mqa_kut_get` (so an aiter / CK / DeepGEMM author wraps a kernel in a few lines).
 *
 * Version 1 (struct mqa_kut): every pointer is HOST memory; the implementation copies to and
 * from its device. Version 2 (struct mqa_kut_v2, below): every pointer in the same argument
 * structs is DEVICE memory of the current GPU, and each op also gets the stream to enqueue on;
 * the harness fills, checks and compares on the GPU. `mqa_kut_get` returns either; the harness
 * reads `abi_version` (the first member of both) and then uses the matching struct.
 *
 * Rules (both versions):
 * - Plain C.
 * - Enumerations are int32 with the values below; strings are UTF-8.
 * - Every call returns a status. MQA_UNSUPPORTED means "this implementation does not do this
 *   case" (never a wrong answer); `message` then says why. MQA_INVALID means bad input.
 * - An op pointer may be NULL: the op is unsupported as a whole.
 * - Outputs are pre-filled by the caller with the sentinels of mqa/sentinels.h (logits floats
 *   MQA_LOGITS_SENTINEL_BITS, cache bytes MQA_CACHE_SENTINEL_BYTE, gathered bytes
 *   MQA_GATHER_SENTINEL_BYTE); an implementation writes only the defined region of an output
 *   (see ../../../../shared/spec/ops.md and docs/numerics.md).
 * - Include path: this directory and reference/include (mqa/sentinels.h, plain C).
 */
#ifndef MQA_KUT_H
#define MQA_KUT_H

#include <stddef.h>
#include <stdint.h>

#include "mqa/sentinels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQA_KUT_ABI_VERSION 1u

typedef enum { MQA_OK = 0, MQA_UNSUPPORTED = 1, MQA_INVALID = 2, MQA_ERROR = 3 } mqa_status;
typedef enum { MQA_OP_QUANT_CACHE = 0, MQA_OP_GATHER = 1, MQA_OP_PAGED_LOGITS = 2, MQA_OP_RAGGED_LOGITS = 3 } mqa_op;
typedef enum { MQA_LAYOUT_STANDARD = 0, MQA_LAYOUT_PRESHUFFLE16 = 1 } mqa_layout;
typedef enum { MQA_FP8_E4M3FN = 0, MQA_FP8_E4M3FNUZ = 1 } mqa_fp8;
typedef enum { MQA_QUANT_EXACT = 0, MQA_QUANT_VLLM = 1, MQA_QUANT_AITER = 2, MQA_QUANT_SGLANG = 3 } mqa_quant_variant;
typedef enum { MQA_PROFILE_EXACT = 0, MQA_PROFILE_DEEPGEMM_SM90 = 1 } mqa_profile;

/* A pool of pages (layouts.md). Byte offsets are 64-bit. */
typedef struct {
  int32_t layout;      /* mqa_layout */
  int32_t page_size;   /* B */
  int32_t head_dim;    /* D */
  int32_t quant_block; /* Qb; the logits ops require Qb == D (one scale per token) */
  int64_t page_stride; /* bytes */
  int64_t num_pages;
  int32_t encoding;    /* mqa_fp8 */
  int32_t reserved;
} mqa_cache_desc;

/* What a case needs; asked of `supports` before any call. */
typedef struct {
  int32_t op;           /* mqa_op */
  int32_t layout, page_size, head_dim, quant_block, encoding;
  int32_t heads, next_n;
  int32_t profile;      /* mqa_profile */
  int32_t quant_variant, ue8m0;
  int32_t lens_2d, clean_logits;
} mqa_case_shape;

typedef struct {
  mqa_cache_desc cache;
  uint8_t* cache_bytes;      /* num_pages * page_stride bytes, modified in place */
  const float* k;            /* [num_tokens, head_dim] fp32 values (bf16/fp16 decode exactly) */
  const int64_t* slots;      /* [num_tokens]; slot = page*B + t; < 0 skips the token */
  int64_t num_tokens;
  int32_t quant_variant;     /* mqa_quant_variant */
  int32_t ue8m0;
} mqa_quant_cache_args;

typedef struct {
  mqa_cache_desc cache;
  const uint8_t* cache_bytes;
  const int32_t* block_table; /* [batch, max_blocks] with row stride table_row_stride */
  int32_t batch, max_blocks;
  int64_t table_row_stride;
  const int32_t* lens;        /* [batch] */
  uint8_t* values_out;        /* [sum lens, head_dim] */
  uint8_t* scales_out;        /* [sum lens, 4 * head_dim / quant_block] (fp32 bytes) */
} mqa_gather_args;

typedef struct {
  mqa_cache_desc cache;       /* cache.encoding is also q's encoding */
  const uint8_t* cache_bytes;
  const uint8_t* q;           /* [batch, next_n, heads, head_dim] fp8 codes */
  int32_t batch, next_n, heads, head_dim;
  const float* weights;       /* [batch * next_n, heads] */
  const int32_t* context_lens;/* [batch] (lens_2d = 0) or [batch, next_n] (lens_2d = 1) */
  int32_t lens_2d;
  int32_t max_blocks;
  const int32_t* block_table; /* [batch, max_blocks], row stride table_row_stride */
  int64_t table_row_stride;
  int32_t max_context_len;
  int32_t clean_logits;       /* 1: write -inf to [L_r, max_context_len) */
  float* logits;              /* [batch * next_n, logits_row_stride] */
  int64_t logits_row_stride;  /* >= max_context_len */
  int32_t profile;            /* mqa_profile */
  int32_t reserved;
} mqa_paged_logits_args;

typedef struct {
  const uint8_t* q;           /* [M, heads, head_dim] fp8 codes */
  int32_t M, heads, head_dim, encoding;
  const uint8_t* k;           /* [N, head_dim] fp8 codes */
  const float* kscale;        /* [N] */
  int32_t N;
  int32_t clean_logits;
  const float* weights;       /* [M, heads] */
  const int32_t* ks;          /* [M] */
  const int32_t* ke;          /* [M] */
  float* logits;              /* [M, logits_row_stride] */
  int64_t logits_row_stride;  /* >= N */
  int32_t profile;
  int32_t reserved;
} mqa_ragged_logits_args;

typedef struct mqa_kut {
  uint32_t abi_version;       /* MQA_KUT_ABI_VERSION */
  const char* name;
  void* self;                 /* passed back to every call */
  mqa_status (*supports)(void* self, const mqa_case_shape* shape, char* message, size_t message_len);
  mqa_status (*quant_cache)(void* self, const mqa_quant_cache_args* a, char* message, size_t message_len);
  mqa_status (*gather)(void* self, const mqa_gather_args* a, char* message, size_t message_len);
  mqa_status (*paged_logits)(void* self, const mqa_paged_logits_args* a, char* message, size_t message_len);
  mqa_status (*ragged_logits)(void* self, const mqa_ragged_logits_args* a, char* message, size_t message_len);
} mqa_kut;

/* ---- Version 2: device pointers --------------------------------------------------------------
 * The same argument structs as version 1, with EVERY pointer in them (cache_bytes, k, slots, q,
 * weights, context_lens, block_table, lens, ks, ke, kscale, logits, values_out, scales_out) a
 * device pointer of the GPU that is current on the calling thread (device 0 unless the
 * harness's environment says otherwise: CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES). Every
 * scalar (sizes, strides, enums) is a host value, as in version 1.
 * - `stream` is a cudaStream_t / hipStream_t (passed as void*) created by the harness: enqueue
 *   the work on it. An op may return before its work finishes; the harness synchronises the
 *   stream and treats a runtime error there as the op's failure. Do not synchronise the whole
 *   device, change the current device, or free or keep the harness's buffers.
 * - An implementation that needs a small input on the host (context_lens, a block table)
 *   copies it itself; the harness's buffers stay valid until the op's work has finished.
 * - Outputs are pre-filled with sentinels on the device; write only the defined region, as in
 *   version 1. `supports` is a host query as in version 1 (no device work). */
#define MQA_KUT_V2_ABI_VERSION 2u

typedef struct mqa_kut_v2 {
  uint32_t abi_version;       /* MQA_KUT_V2_ABI_VERSION */
  const char* name;
  void* self;
  mqa_status (*supports)(void* self, const mqa_case_shape* shape, char* message, size_t message_len);
  mqa_status (*quant_cache)(void* self, void* stream, const mqa_quant_cache_args* a, char* message, size_t message_len);
  mqa_status (*gather)(void* self, void* stream, const mqa_gather_args* a, char* message, size_t message_len);
  mqa_status (*paged_logits)(void* self, void* stream, const mqa_paged_logits_args* a, char* message, size_t message_len);
  mqa_status (*ragged_logits)(void* self, void* stream, const mqa_ragged_logits_args* a, char* message, size_t message_len);
} mqa_kut_v2;

/* A plugin shared library exports this symbol. The returned object (a mqa_kut when its
 * abi_version is 1, a mqa_kut_v2 when it is 2) lives as long as the library. */
typedef const mqa_kut* (*mqa_kut_get_fn)(void);
#define MQA_KUT_ENTRY_POINT "mqa_kut_get"

#ifdef __cplusplus
}
#endif
#endif /* MQA_KUT_H */
