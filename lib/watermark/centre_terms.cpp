// Value and gradient of the centre-only embedding terms in plain loops (double accumulators).
#include "watermark/centre_terms.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ds {

namespace {

// Forward computes value and gradient together (the centres are tiny); backward scales the
// saved gradient.
struct CentreTermsFunction : public torch::autograd::Function<CentreTermsFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor centres,
                               const CentreTerms* terms, const std::vector<double>* counts,
                               const std::vector<double>* global_counts, double global_size,
                               double share);
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    torch::Tensor grad = ctx->get_saved_variables()[0];
    return {grad * grad_out[0], torch::Tensor(), torch::Tensor(),
            torch::Tensor(),    torch::Tensor(), torch::Tensor()};
  }
};

// The lengths and unit rows of the K x D centre matrix C.
void unit_rows(const float* C, int64_t K, int64_t D, std::vector<double>& length,
               std::vector<double>& u) {
  for (int64_t k = 0; k < K; ++k) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += double(C[k * D + d]) * C[k * D + d];
    length[k] = std::sqrt(s);
    const double inv = 1.0 / std::max(length[k], 1e-12);
    for (int64_t d = 0; d < D; ++d) u[k * D + d] = C[k * D + d] * inv;
  }
}

// sum_d a[d] * b_r[d] for the four rows b_r = b + r * stride, each summed in index order in
// its own chain: the same bits as four plain loops, with the chains' add latencies overlapped.
template <typename T>
void four_dots(const double* a, const T* b, int64_t stride, int64_t n, double out[4]) {
  const T *b0 = b, *b1 = b0 + stride, *b2 = b1 + stride, *b3 = b2 + stride;
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int64_t d = 0; d < n; ++d) {
    s0 += a[d] * b0[d];
    s1 += a[d] * b1[d];
    s2 += a[d] * b2[d];
    s3 += a[d] * b3[d];
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

// The K x K dot products of the rows of u, each summed over d in order, four at a time; each
// pair once (u_k . u_j and u_j . u_k are the same products in the same order).
std::vector<double> pairwise_dots(const std::vector<double>& u, int64_t K, int64_t D) {
  std::vector<double> dots(size_t(K * K), 0.0);
  auto store = [&](int64_t k, int64_t j, double v) {
    dots[size_t(k * K + j)] = v;
    dots[size_t(j * K + k)] = v;
  };
  for (int64_t k = 0; k < K; ++k) {
    const double* a = u.data() + k * D;
    int64_t j = k + 1;
    for (; j + 4 <= K; j += 4) {
      double s[4];
      four_dots(a, u.data() + j * D, D, D, s);
      for (int r = 0; r < 4; ++r) store(k, j + r, s[r]);
    }
    for (; j < K; ++j) {
      const double* b = u.data() + j * D;
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += a[d] * b[d];
      store(k, j, s);
    }
  }
  return dots;
}

// Separation: each class present in the batch pays the cosine to its nearest other centre.
// Returns the term; adds its gradient (times lambda1) to `grad`.
double separation_term(int64_t K, int64_t D, const std::vector<double>& counts, double global_size,
                       double lambda1, const std::vector<double>& length,
                       const std::vector<double>& u, std::vector<double>& grad) {
  double separation = 0;
  std::vector<double> grad_u(size_t(K * D), 0.0);
  const std::vector<double> cosines = pairwise_dots(u, K, D);
  for (int64_t k = 0; k < K && K > 1; ++k) {
    int64_t best = -1;
    double best_cos = -INFINITY;
    for (int64_t j = 0; j < K; ++j) {
      if (j == k) continue;
      const double dot = cosines[size_t(k * K + j)];
      if (dot > best_cos) best_cos = dot, best = j;
    }
    const double w = counts[k] / global_size;
    if (w == 0 || best_cos < 0) continue;
    separation += w * best_cos;
    for (int64_t d = 0; d < D; ++d) {
      grad_u[k * D + d] += w * u[best * D + d];
      grad_u[best * D + d] += w * u[k * D + d];
    }
  }
  // Through the normalisation: d u / d c = (I - u u^T) / |c|.
  for (int64_t k = 0; k < K; ++k) {
    double along = 0;
    for (int64_t d = 0; d < D; ++d) along += grad_u[k * D + d] * u[k * D + d];
    const double inv = 1.0 / std::max(length[k], 1e-12);
    const double keep = length[k] > 1e-12 ? along : 0.0;
    for (int64_t d = 0; d < D; ++d) {
      grad[k * D + d] += lambda1 * (grad_u[k * D + d] - keep * u[k * D + d]) * inv;
    }
  }
  return separation;
}

// Unit norm: sum_k |1 - |c_k|^2|, this process's share of it.
double unit_norm_term(const float* C, int64_t K, int64_t D, double share, double lambda1,
                      const std::vector<double>& length, std::vector<double>& grad) {
  double norm = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double r = 1.0 - length[k] * length[k];
    norm += share * std::abs(r);
    const double sign = r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0);
    for (int64_t d = 0; d < D; ++d) grad[k * D + d] += lambda1 * share * sign * -2.0 * C[k * D + d];
  }
  return norm;
}

// Payload BCE of each carrier present in the batch (with the margin's logit shift). Returns the
// unweighted term; adds its gradient (times payload_weight) to `grad`.
double payload_term(const float* C, int64_t D, const CentreTerms& terms,
                    const std::vector<double>& global_counts, double payload_weight,
                    std::vector<double>& grad) {
  const int64_t N = terms.projection.size(1);
  const float* A = terms.projection.data_ptr<float>();
  const float* bits = terms.target_bits.data_ptr<float>();
  const float* shift = terms.margin_shift.data_ptr<float>();
  double payload = 0;
  std::vector<double> z(static_cast<size_t>(N)), dz(static_cast<size_t>(N));
  for (size_t i = 0; i < terms.carriers.size(); ++i) {
    const int64_t k = terms.carriers[i];
    if (global_counts[k] <= 0) continue;
    std::fill(z.begin(), z.end(), 0.0);
    for (int64_t d = 0; d < D; ++d) {
      const double cd = C[k * D + d];
      const float* row = A + d * N;
      for (int64_t n = 0; n < N; ++n) z[n] += cd * row[n];
    }
    for (int64_t n = 0; n < N; ++n) {
      const double x = z[n] - shift[i * N + n], b = bits[i * N + n];
      payload += std::max(x, 0.0) - x * b + std::log1p(std::exp(-std::abs(x)));
      dz[n] = payload_weight * (1.0 / (1.0 + std::exp(-x)) - b);
    }
    // g_d = sum_n dz_n A_dn, four rows of A at a time.
    int64_t d = 0;
    for (; d + 4 <= D; d += 4) {
      double g[4];
      four_dots(dz.data(), A + d * N, N, N, g);
      for (int r = 0; r < 4; ++r) grad[k * D + d + r] += g[r];
    }
    for (; d < D; ++d) {
      const float* row = A + d * N;
      double g = 0;
      for (int64_t n = 0; n < N; ++n) g += dz[n] * row[n];
      grad[k * D + d] += g;
    }
  }
  return payload;
}

torch::Tensor CentreTermsFunction::forward(torch::autograd::AutogradContext* ctx,
                                           torch::Tensor centres, const CentreTerms* terms,
                                           const std::vector<double>* counts,
                                           const std::vector<double>* global_counts,
                                           double global_size, double share) {
  torch::Tensor c = centres.detach().contiguous();
  const int64_t K = c.size(0), D = c.size(1);
  if (int64_t(counts->size()) != K || int64_t(global_counts->size()) != K ||
      terms->projection.size(0) != D) {
    throw std::logic_error("centre_terms: shapes do not agree");
  }
  const float* C = c.data_ptr<float>();
  std::vector<double> grad(size_t(K * D), 0.0);

  std::vector<double> length(K), u(size_t(K * D));
  unit_rows(C, K, D, length, u);
  const double separation =
      separation_term(K, D, *counts, global_size, terms->lambda1, length, u, grad);
  const double norm = unit_norm_term(C, K, D, share, terms->lambda1, length, grad);
  const double payload_weight = terms->lambda2 * share;
  const double payload = payload_term(C, D, *terms, *global_counts, payload_weight, grad);

  torch::Tensor g = torch::empty({K, D}, torch::kFloat32);
  float* gp = g.data_ptr<float>();
  for (int64_t i = 0; i < K * D; ++i) gp[i] = float(grad[i]);
  ctx->save_for_backward({g});
  const double value = terms->lambda1 * (separation + norm) + payload_weight * payload;
  return torch::scalar_tensor(value, torch::kFloat32);
}

}  // namespace

torch::Tensor centre_terms(const CentreTerms& terms, const torch::Tensor& centres,
                           const std::vector<double>& counts,
                           const std::vector<double>& global_counts, double global_size,
                           double share) {
  return CentreTermsFunction::apply(centres, &terms, &counts, &global_counts, global_size, share);
}

}  // namespace ds
