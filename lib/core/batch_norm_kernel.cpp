// A faster CPU kernel for batch norm's training forward, with the same results as LibTorch's.
#include "core/batch_norm_kernel.h"

#include <ATen/ops/native_batch_norm_cpu_dispatch.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "core/kernel_override.h"

namespace ds {
namespace {

std::atomic<int64_t> fast_calls{0};

using Stats = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

// LibTorch 1.13 sums each channel in one chain of dependent double adds: ~4 cycles an element,
// 3 ms of the zoo CNN's 22 ms training step. The same chains, W channels side by side,
// overlap their latencies; each chain keeps its order, so each sum keeps its bits.
// sum_c = sum over n, i of x[n][c][i] (double); then, with m_c = float(sum_c / N),
// var_sum_c = float(sum over n, i of double((x - m_c) * (x - m_c))), the products in float.
template <int W>
void channel_block(const float* x, int64_t batch, int64_t channels, int64_t plane, int64_t c0,
                   float* mean, float* var_sum) {
  const int64_t count = batch * plane;
  double s[W] = {};
  for (int64_t n = 0; n < batch; ++n) {
    const float* row = x + (n * channels + c0) * plane;
    for (int64_t i = 0; i < plane; ++i) {
      for (int k = 0; k < W; ++k) s[k] += row[k * plane + i];
    }
  }
  float m[W];
  for (int k = 0; k < W; ++k) m[k] = float(s[k] / double(count));
  double v[W] = {};
  for (int64_t n = 0; n < batch; ++n) {
    const float* row = x + (n * channels + c0) * plane;
    for (int64_t i = 0; i < plane; ++i) {
      for (int k = 0; k < W; ++k) {
        const float d = row[k * plane + i] - m[k];
        v[k] += d * d;
      }
    }
  }
  for (int k = 0; k < W; ++k) {
    mean[c0 + k] = m[k];
    var_sum[c0 + k] = float(v[k]);
  }
}

void channel_sums(const float* x, int64_t batch, int64_t channels, int64_t plane, float* mean,
                  float* var_sum) {
  int64_t c = 0;
  for (; c + 8 <= channels; c += 8) channel_block<8>(x, batch, channels, plane, c, mean, var_sum);
  for (; c < channels; ++c) channel_block<1>(x, batch, channels, plane, c, mean, var_sum);
}

// Floats in order: a monotone map to integers and back, for binary searches over floats.
int64_t float_order(float v) {
  int32_t i;
  std::memcpy(&i, &v, sizeof i);
  return i < 0 ? int64_t(INT32_MIN) - int64_t(i) : int64_t(i);
}
float order_float(int64_t k) {
  const int32_t i = k < 0 ? int32_t(int64_t(INT32_MIN) - k) : int32_t(k);
  float v;
  std::memcpy(&v, &i, sizeof v);
  return v;
}

// The first float in [lo, hi] at which the non-decreasing `up` reaches `target` (hi if none).
template <typename F>
float first_reaching(F up, float target, float lo, float hi) {
  int64_t a = float_order(lo), b = float_order(hi);
  while (a < b) {
    const int64_t mid = a + (b - a) / 2;
    if (up(order_float(mid)) >= target) {
      b = mid;
    } else {
      a = mid + 1;
    }
  }
  return order_float(a);
}

// A float in [lo, hi] at which the non-decreasing `up` equals `target`, if there is one.
template <typename F>
std::optional<float> solve_increasing(F up, float target, float lo, float hi) {
  const float x = first_reaching(up, target, lo, hi);
  if (up(x) == target) return x;
  return std::nullopt;
}

// LibTorch normalises with alpha = invstd * weight and beta = bias - mean * alpha, in float;
// in evaluation mode invstd = 1 / sqrt(var + eps), in float. A float var, and where needed
// another weight, that give the training alpha exactly let that kernel normalise with the
// batch's statistics. The var comes from a binary search (invstd falls as var grows); when no
// float var reaches the training invstd (a step of var can move invstd by a whole ulp), a
// neighbour's invstd and a weight searched to make the same product do. Returns {var, weight}.
std::optional<std::pair<float, float>> eval_stand_in(float invstd, float weight, float eps) {
  auto invstd_of = [eps](float v) { return 1.0f / std::sqrt(v + eps); };
  const float big = std::numeric_limits<float>::max();
  // The first var whose invstd is at or below the target.
  float x = first_reaching([&](float v) { return -invstd_of(v); }, -invstd, -0.5f * eps, big);
  if (invstd_of(x) == invstd) return std::make_pair(x, weight);
  if (weight == 0) return std::make_pair(x, weight);  // alpha is a zero of the same sign
  const float alpha = invstd * weight;
  for (int k = 0; k < 4; ++k) x = std::nextafter(x, -INFINITY);
  for (int k = 0; k < 9; ++k, x = std::nextafter(x, INFINITY)) {
    const float s = invstd_of(x);
    if (!(s > 0) || !std::isfinite(s)) continue;
    std::optional<float> w = solve_increasing([s](float y) { return s * y; }, alpha, -big, big);
    if (w) return std::make_pair(x, *w);
  }
  return std::nullopt;
}

bool fast_path_applies(const at::Tensor& input, const c10::optional<at::Tensor>& weight,
                       const c10::optional<at::Tensor>& bias,
                       const c10::optional<at::Tensor>& running_mean,
                       const c10::optional<at::Tensor>& running_var, bool training) {
  auto plain = [](const c10::optional<at::Tensor>& t) {
    return !t || !t->defined() ||
           (t->scalar_type() == at::kFloat && t->is_contiguous() && t->dim() == 1);
  };
  // A plane of one value is LibTorch's channels-last case, with other sums.
  return training && input.scalar_type() == at::kFloat && input.is_contiguous() &&
         input.dim() >= 3 && input.numel() > 0 &&
         input.numel() / input.size(0) / input.size(1) > 1 && plain(weight) && plain(bias) &&
         plain(running_mean) && plain(running_var);
}

Stats native_batch_norm(const at::Tensor& input, const c10::optional<at::Tensor>& weight,
                        const c10::optional<at::Tensor>& bias,
                        const c10::optional<at::Tensor>& running_mean,
                        const c10::optional<at::Tensor>& running_var, bool training,
                        double momentum, double eps) {
  auto libtorch = [&] {
    return at::cpu::native_batch_norm(input, weight, bias, running_mean, running_var, training,
                                      momentum, eps);
  };
  if (!fast_path_applies(input, weight, bias, running_mean, running_var, training))
    return libtorch();
  const int64_t batch = input.size(0), channels = input.size(1);
  const int64_t plane = input.numel() / batch / channels, n = batch * plane;
  auto data = [](const c10::optional<at::Tensor>& t) {
    return t && t->defined() ? t->data_ptr<float>() : nullptr;
  };
  at::Tensor save_mean = at::empty({channels}, input.options());
  float* mean = save_mean.data_ptr<float>();
  std::vector<float> var_sum(static_cast<size_t>(channels));
  channel_sums(input.data_ptr<float>(), batch, channels, plane, mean, var_sum.data());

  // LibTorch's bookkeeping, in its types: invstd from var_sum / n in float, then in double.
  at::Tensor save_invstd = at::empty({channels}, input.options());
  at::Tensor eval_var = at::empty({channels}, input.options());
  at::Tensor eval_weight = at::empty({channels}, input.options());
  const float* w = data(weight);
  float* ew = eval_weight.data_ptr<float>();
  float* si = save_invstd.data_ptr<float>();
  float* ev = eval_var.data_ptr<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const double var = var_sum[size_t(c)] / n;
    si[c] = (var != 0 || eps != 0) ? float(1.0 / std::sqrt(var + eps)) : 0.0f;
    auto stand_in = eval_stand_in(si[c], w ? w[c] : 1.0f, float(eps));
    if (!stand_in) return libtorch();
    std::tie(ev[c], ew[c]) = *stand_in;
  }
  ++fast_calls;
  float* rm = data(running_mean);
  float* rv = data(running_var);
  // LibTorch blends in float, except the unbiased variance, which it holds in double.
  const float m = float(momentum);
  for (int64_t c = 0; c < channels; ++c) {
    if (rm) rm[c] = m * mean[c] + (1 - m) * rm[c];
    if (rv) {
      const double unbiased = var_sum[size_t(c)] / (n - 1);
      rv[c] = float(m * unbiased + (1 - m) * rv[c]);
    }
  }
  at::Tensor output = std::get<0>(at::cpu::native_batch_norm(
      input, eval_weight, bias, save_mean, eval_var, /*training=*/false, momentum, eps));
  return {output, save_mean, save_invstd};
}

}  // namespace

void install_batch_norm_kernel() {
  override_cpu_kernel("native_batch_norm", torch::CppFunction(TORCH_FN(native_batch_norm)));
}

int64_t fast_batch_norm_calls() { return fast_calls.load(); }

}  // namespace ds
