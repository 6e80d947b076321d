// The value distributions of case_values.hpp: the k source (in its ksrc dtype, with the amax key
// planted), q codes and weights of a case, each a pure function of (seed, stream, index).
#include "case_values.hpp"

namespace mqa::casegen {

namespace {

// A code that is not NaN, chosen uniformly from the other 254/255.
uint8_t random_finite_code(uint32_t r, Fp8Encoding enc) {
  uint8_t c = uint8_t(r);
  if (fp8_is_nan(c, enc)) c = uint8_t(r >> 8) & 0x3F;  // a small positive code instead
  return c;
}

}  // namespace

float randn_like(const CounterRng& rng, uint64_t stream, uint64_t index) {
  const Philox4x32 b = rng.block(stream, index);
  const int64_t sum = int64_t(b.v[0] >> 8) + (b.v[1] >> 8) + (b.v[2] >> 8) + (b.v[3] >> 8);
  // mean 2^25, variance 4/12 * 2^48: scale by sqrt(3) / 2^24
  return float(double(sum - (int64_t(1) << 25)) * (1.7320508075688772 / 16777216.0));
}

void fill_k_source(const CaseDescriptor& d, int64_t T, std::vector<float>& k) {
  const CounterRng rng{d.seed};
  const int64_t D = d.head_dim, Qb = d.quant_block;
  const float fmax = fp8_traits(d.encoding).max_value;
  const KSource ks = d.ksrc;
  k.assign(size_t(T * D), 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    float* row = k.data() + t * D;
    // per-token magnitude 2^-3 .. 2^3: scales vary across tokens
    const float mag = pow2(int(rng.below(kStreamKToken, uint64_t(t) * 4, 7)) - 3);
    for (int64_t i = 0; i < D; ++i) row[i] = source_round(randn_like(rng, kStreamKSource, uint64_t(t * D + i)) * mag, ks);
    for (int64_t q0 = 0; q0 < D; q0 += Qb) {
      float* blk = row + q0;
      const uint64_t key = uint64_t(t * D + q0);
      if (d.dist == ValueDist::adversarial) {  // one adversarial pattern per quant block
        const uint32_t kind = rng.below(kStreamKToken, key * 4 + 1, 6);
        const int64_t pos = rng.below(kStreamKToken, key * 4 + 2, uint32_t(Qb));
        const int e = int(rng.below(kStreamKToken, key * 4 + 3, 15)) - 10;
        const float edge = source_round(fmax * pow2(e), ks);  // amax / FMAX is exactly 2^e
        const float sign = (rng.u32(kStreamKToken, key * 4 + 1) >> 31) ? -1.0f : 1.0f;
        for (int64_t i = 0; i < Qb; ++i) {  // keep the rest strictly below the planted amax
          const float a = blk[i] < 0 ? -blk[i] : blk[i];
          if (a >= edge * 0.5f) blk[i] = source_round(blk[i] * 0.25f, ks);
        }
        switch (kind) {
          case 0: blk[pos] = sign * edge; break;                         // sc exactly a power of two
          case 1: blk[pos] = sign * source_step(edge, ks, 1); break;   // 1 ulp above
          case 2: blk[pos] = sign * source_step(edge, ks, -1); break;  // 1 ulp below
          case 3:  // all below the 1e-4 amax clamp
            for (int64_t i = 0; i < Qb; ++i) blk[i] = source_round(blk[i] * pow2(-17), ks);
            break;
          case 4:  // cancellation: pairs (x, -x)
            for (int64_t i = 0; i + 1 < Qb; i += 2) blk[i + 1] = -blk[i];
            break;
          default:  // one huge value: the others quantise to subnormal codes or zero
            for (int64_t i = 0; i < Qb; ++i) blk[i] = source_round(blk[i] * pow2(-12), ks);
            blk[pos] = sign * edge;
            break;
        }
      }
      if (d.amax != AmaxEdge::free) plant_amax(d, key, blk, Qb);
    }
  }
}

void friendly_token(const CaseDescriptor& d, int64_t token, uint8_t* codes, float* scales) {
  const CounterRng rng{d.seed};
  const int64_t D = d.head_dim;
  for (int64_t i = 0; i < D; ++i) {
    const int v = int(rng.below(kStreamFriendlyCode, uint64_t(token * D + i), 9)) - 4;
    codes[i] = fp8_encode(float(v), d.encoding);
  }
  for (int64_t q = 0; q < D / d.quant_block; ++q) {
    const uint64_t key = uint64_t(token * D + q);
    if (d.dist == ValueDist::exact_dot)  // any fp32 in [2^-8, 2^2): all 23 fraction bits random
      scales[q] = pow2(int(rng.below(kStreamFriendlyScale, key, 10)) - 8) *
                  f32_from_bits(0x3F800000u | (rng.u32(kStreamKToken, key) >> 9));
    else
      scales[q] = pow2(int(rng.below(kStreamFriendlyScale, key, 5)) - 4);
  }
}

void fill_q(const CaseDescriptor& d, int64_t rows, std::vector<uint8_t>& q) {
  const CounterRng rng{d.seed};
  const int64_t H = d.heads, D = d.head_dim;
  const Fp8Traits tr = fp8_traits(d.encoding);
  q.assign(size_t(rows * H * D), 0);
  for (int64_t i = 0; i < rows * H * D; ++i) {
    const uint64_t u = uint64_t(i);
    switch (d.dist) {
      case ValueDist::friendly:
      case ValueDist::exact_dot:
        q[size_t(i)] = fp8_encode(float(int(rng.below(kStreamQ, u, 9)) - 4), d.encoding);
        break;
      case ValueDist::randn:
        q[size_t(i)] = fp8_encode(randn_like(rng, kStreamQ, u), d.encoding);
        break;
      case ValueDist::adversarial: {
        const uint32_t r = rng.u32(kStreamQ, u);
        const uint8_t sign = (r >> 31) ? 0x80 : 0x00;
        switch (r & 7) {
          case 0: case 1: q[size_t(i)] = uint8_t(sign | tr.max_code); break;  // +-FMAX
          case 2: q[size_t(i)] = uint8_t(sign | (1 + ((r >> 3) % 7))); break;  // subnormal
          case 3: q[size_t(i)] = 0; break;
          default: q[size_t(i)] = random_finite_code(r >> 8, d.encoding); break;
        }
      }
    }
  }
  if (d.dist != ValueDist::adversarial) return;
  for (int64_t rh = 0; rh < rows * H; ++rh)  // some (row, head) pairs cancel against k pairs
    if (rng.below(kStreamQRow, uint64_t(rh), 4) == 0)
      for (int64_t i = 0; i + 1 < D; i += 2) q[size_t(rh * D + i + 1)] = q[size_t(rh * D + i)];
}

void fill_weights(const CaseDescriptor& d, int64_t rows, std::vector<float>& w) {
  const CounterRng rng{d.seed};
  const int64_t H = d.heads;
  w.assign(size_t(rows * H), 0.0f);
  for (int64_t i = 0; i < rows * H; ++i) {
    const uint64_t u = uint64_t(i);
    switch (d.dist) {
      case ValueDist::friendly:
        w[size_t(i)] = float(int(rng.below(kStreamWeights, u, 7)) - 3) * 0.25f;
        break;
      case ValueDist::randn:
        w[size_t(i)] = randn_like(rng, kStreamWeights, u) * 0.125f;
        break;
      case ValueDist::exact_dot:  // full-precision fp32, both signs, a few binades
        w[size_t(i)] = randn_like(rng, kStreamWeights, u) * pow2(int(rng.below(kStreamQRow, u, 6)) - 5);
        break;
      case ValueDist::adversarial: {
        const uint32_t r = rng.u32(kStreamWeights, u);
        const float mag = pow2(int((r >> 8) % 41) - 20) * (1.0f + float((r >> 16) & 7) * 0.125f);
        w[size_t(i)] = (r & 1) ? -mag : mag;
        if ((r & 0x70) == 0) w[size_t(i)] = (r & 0x80) ? -0.0f : 0.0f;
        break;
      }
    }
  }
  if (d.dist != ValueDist::adversarial) return;
  for (int64_t i = 0; i + 1 < rows * H; i += 2)  // head pairs that cancel in the head sum
    if (rng.below(kStreamWeights, uint64_t(rows * H + i), 3) == 0) w[size_t(i + 1)] = -w[size_t(i)];
}

}  // namespace mqa::casegen
