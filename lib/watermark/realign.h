// Realigned white-box extraction: find the marked layer in a suspect model and undo neuron
// permutation, positive per-unit scaling and added (dummy) units, by matching each unit of the
// key's reference profile (the marked layer's activations on the key's profile inputs) to the
// suspect unit with the most similar profile (an optimal assignment on correlations).
//
// The reference is the unmarked base model's layer, recorded when the key is made, and the
// profile inputs come from the classes that carry no bits. Neither depends on the projection or
// the payload, so for a model unrelated to the key the realigned carrier means are independent
// of them, each extracted bit matches the payload with probability 1/2, and the binomial
// p-value stays exact. Both choices were measured necessary: matching on the carrier classes
// rebuilt the watermark from unrelated models on a small problem, and a reference taken from
// the marked model (whose units the embedding reshaped along the payload's direction) gave 20
// unrelated Fashion-MNIST models BERs of 0.09-0.36 and "proved" 8 of them.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

// Minimum-cost assignment of rows to distinct columns (rows <= cols), Hungarian algorithm.
// Returns the column of each row.
std::vector<int64_t> min_cost_assignment(const torch::Tensor& cost);

struct Alignment {
  std::string layer;           // the suspect's tap that matches the reference best
  int64_t width = 0;           // its width
  torch::Tensor unit_of;       // int64, reference width: suspect unit per reference unit, -1: none
  torch::Tensor scale;         // float, reference width: suspect / reference activation scale
  int64_t matched = 0;         // units matched (in place, or moved with correlation >= kMinCorrelation)
  double mean_correlation = 0; // over the reference's live units
  bool identity = false;       // the suspect's units are in the reference's order and width
  std::vector<std::pair<std::string, double>> candidates;  // every tap tried, with its score
  std::vector<std::string> bounded;  // taps whose score is an upper bound below the best's (not matched)

  Json to_json() const;
};

constexpr double kMinCorrelation = 0.3;

// Matches `reference` (n x W: the marked layer's activations on the profile inputs) against
// every tap of `model` whose width is between W and 4W, on the same inputs. Throws InputError
// naming `model_path` when no tap qualifies.
Alignment align_to_reference(torch::jit::Module& model, const torch::Tensor& profile_inputs,
                             const torch::Tensor& reference, const std::string& model_path);

// Suspect activations (n x suspect width) in the reference's unit order and scale
// (n x reference width); unmatched units read 0.
torch::Tensor realign(const torch::Tensor& acts, const Alignment& a);

}  // namespace ds
