// A dataset (images as float N x C x H x W in [0, 1], in memory or read on demand from a
// SampleSource; int64 labels in memory; the normalisation travels inside the model, not in the
// data), its train/test splits, and seeded subsets, shuffles and splits that do not touch
// torch's global generator.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/sample_source.h"

namespace ds {

struct Dataset {
  torch::Tensor images;  // float32, N x C x H x W, values in [0, 1]; undefined when streamed
  torch::Tensor labels;  // int64, N
  int64_t num_classes = 0;
  std::string source;  // where it came from, for messages and reports
  // Streamed: the images stay with `stream`, and `rows` (int64, N) says which of its samples
  // this dataset holds, so subsets and splits are index lists, not copies.
  std::shared_ptr<SampleSource> stream;
  torch::Tensor rows;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  std::vector<int64_t> sample_shape() const;  // C, H, W
  bool streamed() const { return stream != nullptr; }
  // The images of samples `idx` (int64), in or out of memory alike.
  torch::Tensor images_at(const torch::Tensor& idx) const;
  torch::Tensor images_range(int64_t start, int64_t len) const;
};

// `d` with its images in memory (a copy of a streamed dataset's samples; `d` itself otherwise).
Dataset in_memory(const Dataset& d);

struct DataSplits {
  Dataset train;
  Dataset test;
  std::string digest;  // SHA-256 over the files read and the subset settings
  std::vector<std::string> files;
  // Image files left out as unreadable; set only when the spec asked to skip them, so that the
  // report says how many were dropped.
  std::optional<int64_t> skipped_files;
};

// Seeded, reproducible helpers. Independent of torch's global generator.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);
Dataset take(const Dataset& d, const torch::Tensor& indices);
Dataset subset(const Dataset& d, double fraction, uint64_t seed);
// Splits off a held-out share; returns {rest, holdout}.
std::pair<Dataset, Dataset> split(const Dataset& d, double holdout_fraction, uint64_t seed);
// The positions, ascending, that subset() and split() keep of n samples, so that a loader can
// choose samples before reading them. split_indices names `source` when the share is too small.
std::vector<int64_t> subset_indices(int64_t n, double fraction, uint64_t seed);
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n,
                                                                    double holdout_fraction,
                                                                    uint64_t seed,
                                                                    const std::string& source);

struct ChannelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
ChannelStats channel_stats(const Dataset& d);
// The same in parts: the per-channel sums of every `parts`-th chunk (4096 samples of 28 x 28,
// fewer of larger ones) starting at `part`, so that data-parallel ranks each read a share and
// add the sums up; and the statistics from the sums over all parts.
struct ChannelSums {
  std::vector<double> sum, sumsq;
};
ChannelSums channel_sums(const Dataset& d, int64_t part, int64_t parts);
ChannelStats channel_stats(const Dataset& d, const ChannelSums& sums);

}  // namespace ds
