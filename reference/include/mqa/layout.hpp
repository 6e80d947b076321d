// The ONE addressing library of the project. Every byte of a paged indexer K-cache that the
// reference, the HIP kernels, the golden writer or a mismatch report touches is located here.
//
//   PageLayout       : one page (B tokens x D fp8 bytes, then B*(D/Qb) fp32 scales), standard or
//                      aiter's preshuffle16, with offset and inverse (offset -> slot, byte).
//   PagedCacheLayout : a pool of pages: page layout + page stride + page count, 64-bit offsets.
//   BlockTableView   : a [batch, max_blocks] int32 table with any row stride (non-owning).
//   PagedView        : (batch, logical token, byte) -> 64-bit byte offset via the block table.
//
// All functions are constexpr and host/device. None of them validates: validation (with errors
// that name the field and the value) is host code in mqa/validate.hpp, run before any kernel.
#pragma once
#include "mqa/hd.hpp"

namespace mqa {

enum class PageLayoutKind : uint8_t { standard = 0, preshuffle16 = 1 };

// Tile of the preshuffle: 16 tokens x 16 bytes = one AMD 16x16 MFMA operand fragment.
inline constexpr int32_t kShuffleTile = 16;

struct PageCoord {
  enum Kind : uint8_t { value = 0, scale = 1, padding = 2 };
  Kind kind;
  int32_t slot;   // token slot t inside the page (value, scale); -1 for padding
  int32_t index;  // value: byte d in the token's vector; scale: quant block q; padding: byte
  int32_t byte;   // scale: byte 0..3 inside the fp32 scale; value: 0
};

struct PageLayout {
  PageLayoutKind kind;
  int32_t page_size;    // B: tokens per page
  int32_t head_dim;     // D: fp8 values per token
  int32_t quant_block;  // Qb: values sharing one fp32 scale (Qb divides D)

  MQA_HD constexpr int32_t scales_per_token() const { return head_dim / quant_block; }
  MQA_HD constexpr int64_t value_bytes() const { return int64_t(page_size) * head_dim; }
  MQA_HD constexpr int64_t scale_bytes() const { return int64_t(page_size) * scales_per_token() * 4; }
  MQA_HD constexpr int64_t natural_page_bytes() const { return value_bytes() + scale_bytes(); }

  // Byte of value (t, d) relative to the page base.
  //   standard    : t*D + d
  //   preshuffle16: (t/16)*16*D + (d/16)*256 + (t%16)*16 + (d%16)
  // i.e. CuTe layout ((16, B/16), (16, D/16)) : ((16, 16*D), (1, 256)) over (slot, byte).
  MQA_HD constexpr int64_t value_offset(int32_t t, int32_t d) const {
    if (kind == PageLayoutKind::standard) return int64_t(t) * head_dim + d;
    return int64_t(t / kShuffleTile) * kShuffleTile * head_dim +
           int64_t(d / kShuffleTile) * (kShuffleTile * kShuffleTile) +
           int64_t(t % kShuffleTile) * kShuffleTile + (d % kShuffleTile);
  }

  // Byte of the fp32 scale of token t, quant block q. Scales are never shuffled.
  MQA_HD constexpr int64_t scale_offset(int32_t t, int32_t q) const {
    return value_bytes() + 4 * (int64_t(t) * scales_per_token() + q);
  }

  // Pages a sequence of `tokens` tokens occupies.
  MQA_HD constexpr int64_t pages_for(int64_t tokens) const { return (tokens + page_size - 1) / page_size; }

  // ---- What the fast paths rely on; layout_properties_hold() checks them, for every layout in
  // kPageLayouts at compile time (below) and over many shapes in tests/reference/test_layout.cpp.
  // A new layout that breaks one fails to compile instead of silently breaking a fast path.
  //  (P1) separable: value_offset(t, d) == value_slot_part(t) + value_byte_part(d)
  //       (device/src/logits_launch.hpp adds a per-slot and a per-byte offset);
  //  (P2) scales affine in the slot: scale_offset(t, q) == scale_offset(0, q) + t * scale_slot_stride()
  //       (the same, for scales);
  //  (P3) runs of kContiguousRun bytes: value_offset(t, d) == value_offset(t, d - d % 16) + d % 16
  //       (reference/src/logits_paged.cpp gathers 16-byte runs; needs D % 16 == 0).
  MQA_HD constexpr int64_t value_slot_part(int32_t t) const { return value_offset(t, 0); }
  MQA_HD constexpr int64_t value_byte_part(int32_t d) const { return value_offset(0, d); }
  MQA_HD constexpr int64_t scale_slot_stride() const { return 4 * int64_t(scales_per_token()); }

  // Inverse of value_offset / scale_offset for an offset inside the page's stride.
  MQA_HD constexpr PageCoord locate(int64_t off) const {
    if (off < 0) return PageCoord{PageCoord::padding, -1, int32_t(off), 0};
    if (off < value_bytes()) {
      if (kind == PageLayoutKind::standard)
        return PageCoord{PageCoord::value, int32_t(off / head_dim), int32_t(off % head_dim), 0};
      const int64_t group_bytes = int64_t(kShuffleTile) * head_dim;
      const int64_t group = off / group_bytes, in_group = off % group_bytes;
      const int64_t tile = in_group / (kShuffleTile * kShuffleTile);
      const int64_t in_tile = in_group % (kShuffleTile * kShuffleTile);
      return PageCoord{PageCoord::value, int32_t(group * kShuffleTile + in_tile / kShuffleTile),
                       int32_t(tile * kShuffleTile + in_tile % kShuffleTile), 0};
    }
    if (off < natural_page_bytes()) {
      const int64_t s = (off - value_bytes()) / 4;
      return PageCoord{PageCoord::scale, int32_t(s / scales_per_token()),
                       int32_t(s % scales_per_token()), int32_t((off - value_bytes()) % 4)};
    }
    return PageCoord{PageCoord::padding, -1, int32_t(off - natural_page_bytes()), 0};
  }
};

// 16-byte runs (P3): one 16-byte load per run on every layout.
inline constexpr int32_t kContiguousRun = 16;

// Every page layout the project knows; a new PageLayoutKind must be added here (and so to the
// compile-time and test-time checks of the properties the fast paths rely on).
inline constexpr PageLayoutKind kPageLayouts[] = {PageLayoutKind::standard, PageLayoutKind::preshuffle16};

// (P1)-(P3) of PageLayout, exhaustively over one page's slots, bytes and scales.
MQA_HD constexpr bool layout_properties_hold(const PageLayout& l) {
  for (int32_t t = 0; t < l.page_size; ++t) {
    for (int32_t d = 0; d < l.head_dim; ++d) {
      if (l.value_offset(t, d) != l.value_slot_part(t) + l.value_byte_part(d)) return false;                  // P1
      if (l.value_offset(t, d) != l.value_offset(t, d - d % kContiguousRun) + d % kContiguousRun) return false;  // P3
    }
    for (int32_t q = 0; q < l.scales_per_token(); ++q)
      if (l.scale_offset(t, q) != l.scale_offset(0, q) + int64_t(t) * l.scale_slot_stride()) return false;   // P2
  }
  return true;
}

static_assert([] {
  for (PageLayoutKind k : kPageLayouts)
    if (!layout_properties_hold(PageLayout{k, 32, 64, 32})) return false;
  return true;
}(), "a page layout breaks a property the fast paths rely on (PageLayout: P1-P3)");

struct CacheCoord {
  int64_t page;  // physical page id
  PageCoord in_page;
};

// A pool of pages. page_stride >= natural_page_bytes (engines may pad pages).
struct PagedCacheLayout {
  PageLayout page;
  int64_t page_stride;  // bytes between consecutive pages
  int64_t num_pages;

  MQA_HD constexpr int64_t total_bytes() const { return page_stride * num_pages; }
  MQA_HD constexpr int64_t value_byte(int64_t page_id, int32_t t, int32_t d) const {
    return page_id * page_stride + page.value_offset(t, d);
  }
  MQA_HD constexpr int64_t scale_byte(int64_t page_id, int32_t t, int32_t q) const {
    return page_id * page_stride + page.scale_offset(t, q);
  }
  // Slot-mapping addressing used by writes: slot = page * B + t.
  MQA_HD constexpr int64_t slot_page(int64_t slot) const { return slot / page.page_size; }
  MQA_HD constexpr int32_t slot_in_page(int64_t slot) const { return int32_t(slot % page.page_size); }
  MQA_HD constexpr CacheCoord locate(int64_t byte) const {
    return CacheCoord{byte / page_stride, page.locate(byte % page_stride)};
  }
};

// Non-owning block table: entry (b, i) is the physical page of logical tokens [i*B, (i+1)*B).
struct BlockTableView {
  const int32_t* data;
  int32_t batch;
  int32_t max_blocks;
  int64_t row_stride;  // in int32 elements, >= max_blocks
  MQA_HD constexpr int32_t at(int32_t b, int64_t i) const { return data[int64_t(b) * row_stride + i]; }
};

struct TokenAddress {
  int64_t page;
  int32_t slot;
};

// (batch b, logical token s, byte d) -> 64-bit byte offset: FlashInfer's page.cuh idea, one
// offset function for a paged cache, shared by every consumer.
struct PagedView {
  PagedCacheLayout cache;
  BlockTableView table;

  MQA_HD constexpr TokenAddress token(int32_t b, int64_t s) const {
    const int32_t B = cache.page.page_size;
    return TokenAddress{table.at(b, s / B), int32_t(s % B)};
  }
  MQA_HD constexpr int64_t value_byte(int32_t b, int64_t s, int32_t d) const {
    const TokenAddress a = token(b, s);
    return cache.value_byte(a.page, a.slot, d);
  }
  MQA_HD constexpr int64_t scale_byte(int32_t b, int64_t s, int32_t q) const {
    const TokenAddress a = token(b, s);
    return cache.scale_byte(a.page, a.slot, q);
  }
};

}  // namespace mqa
