// DeepSigns white-box watermark, extraction: the mean activation of the marked layer over the
// key's triggers, projected and thresholded into bits, scored by two exact tests, optionally
// after realignment (realign.h) and error correction (ecc.h).
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>

#include "core/config.h"
#include "watermark/key_types.h"

namespace ds {

struct WhiteboxExtraction {
  Json alignment;             // how the suspect's units were matched (null: fixed order)
  Json ecc;                   // the decoded payload (null: no error correction)
  torch::Tensor bits;         // int64 0/1, carriers x N
  torch::Tensor projections;  // float, carriers x N: (mean activation) . A
  int64_t errors = 0;
  int64_t total = 0;
  double ber = 0;
  // Two tests of "this model is unrelated to the key", both exact because A is i.i.d. N(0, 1)
  // and independent of any model the owner did not mark: for a fixed mean activation mu, the
  // projections mu . A_i are i.i.d. N(0, |mu|^2), so each bit matches with probability 1/2 and
  // the payload-signed sum of projections, normalised, is N(0, 1).
  double binomial_log10_p = 0;     // log10 P[Binomial(total, 1/2) >= total - errors]
  double correlation_z = 0;        // sum_c,i (2b_ci - 1) mu_c . A_i / its null standard deviation
  double correlation_log10_p = 0;  // log10 P[N(0, 1) >= correlation_z]
  // The verdict's false-claim probability: the smaller of the two tests' p-values times the
  // number of tests tried (2, and 2 more for a second reading; Bonferroni), at most 1.
  double p_value = 1;
  double log10_p_value = 0;
};

// Bits, errors and both tests of one reading: `means` is carriers x width (the carriers' mean
// activations in the key's unit order); p_value counts the two tests of this reading.
WhiteboxExtraction score_projections(const WhiteboxKey& key, const torch::Tensor& means);

// Mean activation of the key's layer over the triggers of each carrier (eval mode), projected
// and thresholded. Throws InputError naming `model_path` if the layer is missing or too narrow.
// With `realign` (and a key that has a profile), the layer and its units are found by profile
// matching first (realign.h); otherwise the key's layer is read in fixed unit order.
WhiteboxExtraction extract_whitebox(torch::jit::Module& model, const WhiteboxKey& key,
                                    const std::string& model_path, bool realign = true);

}  // namespace ds
