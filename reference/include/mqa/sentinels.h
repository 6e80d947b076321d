/* The bits every output buffer is pre-filled with before a kernel runs, so that an element the
 * kernel never wrote is recognised as such ("unwritten (sentinel 0x...)" in a report) and a
 * stray write outside the defined region is seen.
 *
 * Defined once, here, in plain C: the kernel ABI (device/include/mqa/kut.h) includes it, and so
 * do the reference, the case language, golden, fuzz and Python layers (through case.hpp or this
 * file), so no include runs from a lower layer to a higher one.
 *
 * The logits sentinel is a QUIET NaN with a payload no arithmetic produces: every NaN the
 * reference writes is the canonical 0x7FC00000, x86 and CUDA produce 0xFFC00000 / 0x7FFFFFFF, and
 * the case generator draws no NaN weight with this payload. A signalling NaN does not survive a
 * float -> double -> float round trip (numpy's astype, torch's .double(), Python floats: the
 * conversion sets the quiet bit, and the old sentinel 0x7FBADBAD came back as 0x7FFADBAD); a
 * quiet one keeps its payload through every copy and conversion. 0x7FFADBAD is that quietened
 * old pattern, so logs of either era read alike. tests/reference/test_sentinels.cpp and
 * tests/python/test_sentinel_roundtrip.py check the round trips. */
#ifndef MQA_SENTINELS_H
#define MQA_SENTINELS_H

#define MQA_LOGITS_SENTINEL_BITS 0x7FFADBADu /* every logits float nobody wrote */
#define MQA_CACHE_SENTINEL_BYTE 0xA5u        /* every cache byte nobody wrote */
#define MQA_GATHER_SENTINEL_BYTE 0x5Au       /* every gathered byte nobody wrote */

#ifdef __cplusplus
#include <cstdint>
namespace mqa {
inline constexpr uint32_t kLogitSentinelBits = MQA_LOGITS_SENTINEL_BITS;
inline constexpr uint8_t kCacheSentinel = MQA_CACHE_SENTINEL_BYTE;
inline constexpr uint8_t kGatherSentinel = MQA_GATHER_SENTINEL_BYTE;
}  // namespace mqa
#endif

#endif /* MQA_SENTINELS_H */
