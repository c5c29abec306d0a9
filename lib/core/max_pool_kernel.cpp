// A faster CPU kernel for 2x2, stride-2 max pooling, with the same results as LibTorch's.
#include "core/max_pool_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/ops/max_pool2d_with_indices_cpu_dispatch.h>
#include <torch/torch.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <limits>
#include <tuple>

#include "core/kernel_override.h"

namespace ds {
namespace {

std::atomic<int64_t> fast_calls{0};

bool is_pair_window(at::IntArrayRef v) {
  return (v.size() == 1 || v.size() == 2) && v.front() == 2 && v.back() == 2;
}
bool all_equal(at::IntArrayRef v, int64_t value) {
  for (int64_t x : v) {
    if (x != value) return false;
  }
  return true;
}
bool fast_path_applies(const at::Tensor& self, at::IntArrayRef kernel, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation, bool ceil_mode) {
  return !ceil_mode && (self.dim() == 3 || self.dim() == 4) && self.scalar_type() == at::kFloat &&
         self.is_contiguous() && is_pair_window(kernel) &&
         (stride.empty() || is_pair_window(stride)) && all_equal(padding, 0) &&
         all_equal(dilation, 1) && self.size(-2) >= 2 && self.size(-1) >= 2 &&
         self.size(-2) * self.size(-1) < (int64_t(1) << 31);
}

// LibTorch's rule per window: scan rows then columns from -inf and take a value that is
// greater or NaN, so the first of equal values wins and the last NaN wins; the index is the
// flat position in the plane. Written without branches: on real activations half the
// comparisons go either way, and mispredicted branches cost more than the rest.
inline void take(float v, int64_t at_index, float& m, int64_t& k) {
  const bool t = v > m || v != v;
  m = t ? v : m;
  k = t ? at_index : k;
}

// One row of windows, one at a time.
void pool_row_scalar(const float* r0, const float* r1, int64_t base, int64_t W, int64_t OW,
                     float* out, int64_t* idx) {
  for (int64_t ow = 0; ow < OW; ++ow) {
    const int64_t i0 = base + 2 * ow;
    float m = -std::numeric_limits<float>::infinity();
    int64_t k = i0;
    take(r0[2 * ow], i0, m, k);
    take(r0[2 * ow + 1], i0 + 1, m, k);
    take(r1[2 * ow], i0 + W, m, k);
    take(r1[2 * ow + 1], i0 + W + 1, m, k);
    out[ow] = m;
    idx[ow] = k;
  }
}

#if defined(__SSE2__)
// The same rule, four windows at a time (SSE2, which every x86-64 CPU has). Indices are
// 32-bit inside (a plane has fewer than 2^31 elements) and widened when stored.
inline void take4(__m128 v, __m128i at_index, __m128& m, __m128i& k) {
  const __m128 t = _mm_or_ps(_mm_cmpgt_ps(v, m), _mm_cmpunord_ps(v, v));
  m = _mm_or_ps(_mm_and_ps(t, v), _mm_andnot_ps(t, m));
  const __m128i ti = _mm_castps_si128(t);
  k = _mm_or_si128(_mm_and_si128(ti, at_index), _mm_andnot_si128(ti, k));
}

// Every output of a row with at least 4; the last group of four overlaps the one before
// rather than leaving a scalar tail.
void pool_row_simd(const float* r0, const float* r1, int64_t base, int64_t W, int64_t OW,
                   float* out, int64_t* idx) {
  const __m128i step = _mm_setr_epi32(0, 2, 4, 6), zero = _mm_setzero_si128();
  const __m128i one = _mm_set1_epi32(1), down = _mm_set1_epi32(int32_t(W));
  for (int64_t next = 0; next < OW; next += 4) {
    const int64_t ow = std::min(next, OW - 4);
    const __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), b0 = _mm_loadu_ps(r0 + 2 * ow + 4);
    const __m128 a1 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
    const __m128i i0 = _mm_add_epi32(_mm_set1_epi32(int32_t(base + 2 * ow)), step);
    __m128 m = _mm_set1_ps(-std::numeric_limits<float>::infinity());
    __m128i k = i0;
    take4(_mm_shuffle_ps(a0, b0, _MM_SHUFFLE(2, 0, 2, 0)), i0, m, k);
    take4(_mm_shuffle_ps(a0, b0, _MM_SHUFFLE(3, 1, 3, 1)), _mm_add_epi32(i0, one), m, k);
    take4(_mm_shuffle_ps(a1, b1, _MM_SHUFFLE(2, 0, 2, 0)), _mm_add_epi32(i0, down), m, k);
    take4(_mm_shuffle_ps(a1, b1, _MM_SHUFFLE(3, 1, 3, 1)),
          _mm_add_epi32(_mm_add_epi32(i0, down), one), m, k);
    _mm_storeu_ps(out + ow, m);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + ow), _mm_unpacklo_epi32(k, zero));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + ow + 2), _mm_unpackhi_epi32(k, zero));
  }
}
#endif

void pool_plane(const float* in, int64_t W, int64_t OH, int64_t OW, float* out, int64_t* idx) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t base = 2 * oh * W;
    const float* r0 = in + base;
    const float* r1 = r0 + W;
#if defined(__SSE2__)
    if (OW >= 4) {
      pool_row_simd(r0, r1, base, W, OW, out + oh * OW, idx + oh * OW);
      continue;
    }
#endif
    pool_row_scalar(r0, r1, base, W, OW, out + oh * OW, idx + oh * OW);
  }
}

std::tuple<at::Tensor, at::Tensor> max_pool2d_with_indices(const at::Tensor& self,
                                                           at::IntArrayRef kernel,
                                                           at::IntArrayRef stride,
                                                           at::IntArrayRef padding,
                                                           at::IntArrayRef dilation,
                                                           bool ceil_mode) {
  // LibTorch 1.13's channels-first kernel takes ~19 ns per output (one thread): 7.5 ms for the
  // first pooling of the zoo CNN at batch 128, more than its convolution. This takes ~1.6.
  if (!fast_path_applies(self, kernel, stride, padding, dilation, ceil_mode))
    return at::cpu::max_pool2d_with_indices(self, kernel, stride, padding, dilation, ceil_mode);
  ++fast_calls;
  const int64_t H = self.size(-2), W = self.size(-1), OH = H / 2, OW = W / 2;
  const int64_t planes = self.numel() / (H * W);
  std::vector<int64_t> shape(self.sizes().begin(), self.sizes().end());
  shape[shape.size() - 2] = OH;
  shape[shape.size() - 1] = OW;
  at::Tensor out = at::empty(shape, self.options());
  at::Tensor idx = at::empty(shape, self.options().dtype(at::kLong));
  const float* in = self.data_ptr<float>();
  float* o = out.data_ptr<float>();
  int64_t* ix = idx.data_ptr<int64_t>();
  at::parallel_for(0, planes, 16, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      pool_plane(in + p * H * W, W, OH, OW, o + p * OH * OW, ix + p * OH * OW);
  });
  return {out, idx};
}

}  // namespace

void install_max_pool_kernel() {
  override_cpu_kernel("max_pool2d_with_indices",
                      torch::CppFunction(TORCH_FN(max_pool2d_with_indices)));
}

int64_t fast_max_pool_calls() { return fast_calls.load(); }

}  // namespace ds
