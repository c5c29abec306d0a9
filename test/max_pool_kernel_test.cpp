// The fast max-pooling kernel against LibTorch's own: same bits, same indices, same gradients.
#include <ATen/ops/max_pool2d_with_indices_cpu_dispatch.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "core/max_pool_kernel.h"
#include "core/runtime.h"
#include "test_util.h"

namespace {

using ds::testing::same_bits;

// Values with many ties (small integers), and NaN, +inf and -inf sprinkled in.
torch::Tensor awkward_input(std::vector<int64_t> shape, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  torch::Tensor x = torch::randint(-3, 4, shape, gen, torch::kFloat32);
  torch::Tensor u = torch::rand(shape, gen);
  const float inf = std::numeric_limits<float>::infinity();
  x.masked_fill_(u < 0.03, std::numeric_limits<float>::quiet_NaN());
  x.masked_fill_((u >= 0.03) & (u < 0.06), -inf);
  x.masked_fill_((u >= 0.06) & (u < 0.08), inf);
  return x;
}

void expect_same_as_libtorch(const torch::Tensor& x, at::IntArrayRef kernel,
                             at::IntArrayRef stride) {
  auto [out, idx] = at::max_pool2d_with_indices(x, kernel, stride);
  auto [ref_out, ref_idx] = at::cpu::max_pool2d_with_indices(x, kernel, stride);
  EXPECT_TRUE(same_bits(out, ref_out)) << x.sizes();
  EXPECT_TRUE(same_bits(idx, ref_idx)) << x.sizes();
}

}  // namespace

TEST(MaxPoolKernel, SameBitsAndIndicesAsLibTorch) {
  ds::install_fast_cpu_kernels();
  const int64_t before = ds::fast_max_pool_calls();
  uint64_t seed = 1;
  for (auto shape : std::vector<std::vector<int64_t>>{
           {2, 3, 8, 8}, {5, 16, 28, 28}, {1, 1, 7, 9}, {2, 2, 10, 11}, {3, 4, 2, 2}, {4, 11, 5},
           {1, 2, 3, 2}}) {
    torch::Tensor x = awkward_input(shape, seed++);
    expect_same_as_libtorch(x, {2, 2}, {});
    expect_same_as_libtorch(x, {2, 2}, {2, 2});
    expect_same_as_libtorch(torch::randn(shape), {2}, {2});
  }
  // Every call above took the fast path: 3 per shape.
  EXPECT_EQ(ds::fast_max_pool_calls() - before, 21);
}

TEST(MaxPoolKernel, OtherPoolingsGoToLibTorch) {
  ds::install_fast_cpu_kernels();
  const int64_t before = ds::fast_max_pool_calls();
  torch::Tensor x = awkward_input({2, 3, 9, 9}, 7);
  expect_same_as_libtorch(x, {3, 3}, {2, 2});                   // other window
  expect_same_as_libtorch(x, {2, 2}, {1, 1});                   // other stride
  expect_same_as_libtorch(x.transpose(2, 3), {2, 2}, {2, 2});   // not contiguous
  expect_same_as_libtorch(x.to(torch::kDouble), {2, 2}, {});    // not float32
  auto [o, i] = at::max_pool2d_with_indices(x, {2, 2}, {2, 2}, {1, 1});  // padding
  auto [ro, ri] = at::cpu::max_pool2d_with_indices(x, {2, 2}, {2, 2}, {1, 1});
  EXPECT_TRUE(same_bits(o, ro) && same_bits(i, ri));
  EXPECT_EQ(ds::fast_max_pool_calls(), before);
}

TEST(MaxPoolKernel, GradientsThroughTheFastPathMatch) {
  ds::install_fast_cpu_kernels();
  torch::Tensor x = torch::randn({4, 8, 12, 12}).requires_grad_(true);
  torch::Tensor w = torch::randn({4, 8, 6, 6});
  (torch::max_pool2d(x, {2, 2}) * w).sum().backward();
  auto [ref_out, ref_idx] = at::cpu::max_pool2d_with_indices(x.detach(), {2, 2}, {2, 2});
  torch::Tensor ref_grad =
      torch::zeros_like(x).flatten(2).scatter_add_(2, ref_idx.flatten(2), w.flatten(2));
  EXPECT_TRUE(same_bits(x.grad(), ref_grad.view_as(x)));
}
