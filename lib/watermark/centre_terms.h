// The centre-only terms of the DeepSigns embedding loss (separation, unit norm, payload BCE) as
// one autograd function with a hand-written gradient: on a 10 x 512 centre matrix autograd's
// ~60 tiny ops cost more than the arithmetic, ~5% of an MLP training step.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace ds {

struct CentreTerms {
  torch::Tensor projection;    // width x bits per carrier (A), float, contiguous
  torch::Tensor target_bits;   // carriers x bits per carrier, float 0/1
  torch::Tensor margin_shift;  // carriers x bits: subtracted from the logits (see margin)
  std::vector<int64_t> carriers;
  double lambda1 = 0, lambda2 = 0;
};

// lambda1 * (separation + norm) + lambda2 * share * payload, where for this process's samples'
// class counts n (num_classes), the global batch's counts m and its size G:
//   separation = sum_k n_k / G * max(0, max_{j != k} cos(c_k, c_j))
//   norm       = share * sum_k |1 - |c_k|^2|
//   payload    = sum over carriers k with m_k > 0 of BCE-with-logits(c_k A - shift, bits)
// (share = 1 / world size; see BatchShard). `centres` (classes x width, float) may require
// grad; the result is a 0-d tensor whose gradient reaches `centres`. Equal to the autograd
// formulation up to float rounding.
torch::Tensor centre_terms(const CentreTerms& terms, const torch::Tensor& centres,
                           const std::vector<double>& counts,
                           const std::vector<double>& global_counts, double global_size,
                           double share);

}  // namespace ds
