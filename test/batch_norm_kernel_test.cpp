// The fast batch-norm forward against LibTorch's own: same output, statistics and running stats.
#include <ATen/ops/native_batch_norm_cpu_dispatch.h>
#include <gtest/gtest.h>
#include <torch/torch.h>


#include "core/batch_norm_kernel.h"
#include "core/runtime.h"
#include "test_util.h"

namespace {

using ds::testing::same_bits;

// One training-mode call through the dispatcher (the fast kernel) and one straight to
// LibTorch's CPU kernel, each with its own copy of the running statistics.
void expect_same_as_libtorch(const torch::Tensor& x, bool affine, double momentum, double eps,
                             uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t c = x.size(1);
  torch::Tensor w, b;
  if (affine) {
    w = torch::rand({c}, gen) + 0.5;
    b = torch::randn({c}, gen);
  }
  torch::Tensor rm = torch::randn({c}, gen), rv = torch::rand({c}, gen) + 0.1;
  torch::Tensor rm2 = rm.clone(), rv2 = rv.clone();
  auto [out, mean, invstd] = at::native_batch_norm(x, w, b, rm, rv, true, momentum, eps);
  auto [ref, ref_mean, ref_invstd] =
      at::cpu::native_batch_norm(x, w, b, rm2, rv2, true, momentum, eps);
  EXPECT_TRUE(same_bits(out, ref)) << x.sizes();
  EXPECT_TRUE(same_bits(mean, ref_mean)) << x.sizes();
  EXPECT_TRUE(same_bits(invstd, ref_invstd)) << x.sizes();
  EXPECT_TRUE(same_bits(rm, rm2)) << x.sizes();
  EXPECT_TRUE(same_bits(rv, rv2)) << x.sizes();
}

}  // namespace

TEST(BatchNormKernel, SameBitsAsLibTorchInTraining) {
  ds::install_fast_cpu_kernels();
  const int64_t before = ds::fast_batch_norm_calls();
  uint64_t seed = 1;
  int64_t calls = 0;
  for (auto shape : std::vector<std::vector<int64_t>>{
           {128, 16, 28, 28}, {128, 32, 14, 14}, {3, 5, 7, 7}, {2, 6, 9}, {5, 3, 1, 2}}) {
    auto gen = at::detail::createCPUGenerator(seed);
    // Activations of varied scale and offset, as after a convolution.
    torch::Tensor x = torch::randn(shape, gen) * 3.0 + 1.5;
    expect_same_as_libtorch(x, true, 0.1, 1e-5, seed++);
    expect_same_as_libtorch(x, false, 0.1, 1e-5, seed++);
    calls += 2;
  }
  // Each of these took the fast path.
  EXPECT_EQ(ds::fast_batch_norm_calls() - before, calls);
  // A variance far below eps: the evaluation-mode invstd cannot always reach the training one,
  // and the call goes to LibTorch. Equal either way.
  expect_same_as_libtorch(torch::randn({64, 8, 5, 5}) * 1e-3, true, 0.3, 1e-3, seed++);
}

TEST(BatchNormKernel, OtherCallsGoToLibTorch) {
  ds::install_fast_cpu_kernels();
  const int64_t before = ds::fast_batch_norm_calls();
  torch::Tensor x = torch::randn({4, 3, 5, 5});
  torch::Tensor rm = torch::zeros({3}), rv = torch::ones({3});
  auto eval = at::native_batch_norm(x, {}, {}, rm, rv, false, 0.1, 1e-5);  // evaluation
  auto ref = at::cpu::native_batch_norm(x, {}, {}, rm, rv, false, 0.1, 1e-5);
  EXPECT_TRUE(same_bits(std::get<0>(eval), std::get<0>(ref)));
  at::native_batch_norm(x.to(torch::kDouble), {}, {}, {}, {}, true, 0.1, 1e-5);  // not float32
  at::native_batch_norm(x.transpose(2, 3), {}, {}, {}, {}, true, 0.1, 1e-5);  // not contiguous
  at::native_batch_norm(torch::randn({8, 3}), {}, {}, {}, {}, true, 0.1, 1e-5);  // no plane
  EXPECT_EQ(ds::fast_batch_norm_calls(), before);
}

TEST(BatchNormKernel, GradientsThroughTheFastPathMatch) {
  ds::install_fast_cpu_kernels();
  torch::Tensor x = torch::randn({16, 4, 6, 6}).requires_grad_(true);
  torch::Tensor w = torch::rand({4}).requires_grad_(true), b = torch::randn({4});
  torch::Tensor g = torch::randn({16, 4, 6, 6});
  (torch::batch_norm(x, w, b, {}, {}, true, 0.1, 1e-5, false) * g).sum().backward();
  auto [out, mean, invstd] = at::cpu::native_batch_norm(x.detach(), w.detach(), b, {}, {}, true,
                                                         0.1, 1e-5);
  auto [gx, gw, gb] = at::native_batch_norm_backward(g, x.detach(), w.detach(), {}, {}, mean,
                                                     invstd, true, 1e-5, {true, true, true});
  EXPECT_TRUE(same_bits(x.grad(), gx));
  EXPECT_TRUE(same_bits(w.grad(), gw));
}
