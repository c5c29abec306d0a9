// Keyed-region mark, key side (method: docs/METHOD.md, "Marks that survive extraction"): the
// secret regions, their target classes and verification inputs, and the exact test of a
// suspect's answers to those inputs.
#pragma once

#include <torch/torch.h>

#include <string>

#include "core/config.h"
#include "data/dataset.h"
#include "watermark/key_types.h"

namespace ds {

struct RegionKeySpec {
  int64_t regions = 10;      // K: each hit region adds up to log2(classes - 1) bits of evidence
  double fraction = 0.006;   // share of the task's inputs the guard re-answers (its accuracy cost)
  int64_t grid = 4;          // directions are grid x grid Gaussian fields, smoothed to the input
  int64_t per_region = 8;    // verification inputs kept per region (fewer where the data has fewer)
  // Where they come from: the owner's training split (a thief who queried with the same data
  // also carries the guard's answers on those exact inputs) or its test split (only what the
  // student generalised from its queries counts).
  std::string verify_from = "train";
  // A class making up at least this share of the owner's inputs in a region is never its target:
  // any model answers it there, so it would only add noise to the test.
  double exclude_share = 0.1;
};

RegionKeySpec parse_region_key_spec(ConfigObject obj);
Json region_key_spec_to_json(const RegionKeySpec& s);

// Draws the regions from the key seed, sets each threshold so that `fraction` of the owner's
// training inputs fall in some region, draws each target among the classes not common in the
// region, and keeps the `verify_from` inputs deepest inside each region.
RegionKey make_region_key(const RegionKeySpec& spec, const DataSplits& data, uint64_t key_seed);

// The region each input falls in (the first whose projection exceeds its threshold), -1 for none.
torch::Tensor region_of(const RegionKey& key, const torch::Tensor& inputs);

// Where each input lies, from one projection: its region (as region_of) and how far it lies past
// its nearest region's boundary (max over regions of projection minus threshold: positive
// inside a region, negative outside).
struct RegionPlacement {
  torch::Tensor region;  // int64, -1 for none
  torch::Tensor depth;   // float32
};
RegionPlacement place_in_regions(const RegionKey& key, const torch::Tensor& inputs);

struct RegionDecision {
  int64_t queries = 0;
  int64_t matches = 0;   // verification inputs answered with their region's target
  double p_value = 1;    // P[a key drawn like this one would match at least as often]
  double log10_p_value = 0;
  int64_t regions_hit = 0;  // regions where the target is the most common allowed answer
};

// Exact test: the targets were drawn uniformly from each region's allowed classes, independently
// of any model not trained on the guard's answers, so for such a model the number of matches is
// distributed as the sum over regions of the count of a uniformly drawn allowed class.
RegionDecision decide_regions(const RegionKey& key, int64_t num_classes,
                              const torch::Tensor& answers);

}  // namespace ds
