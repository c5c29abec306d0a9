// Dataset readers (IDX, CIFAR binary batches, torch.save'd tensor files), seeded subsets,
// shuffles and splits. Images are held as float N x C x H x W in [0, 1]; the normalisation
// travels inside the model, not in the data.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"

namespace ds {

struct Dataset {
  torch::Tensor images;  // float32, N x C x H x W, values in [0, 1]
  torch::Tensor labels;  // int64, N
  int64_t num_classes = 0;
  std::string source;    // where it came from, for messages and reports

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  std::vector<int64_t> sample_shape() const;  // C, H, W
};

// Where a dataset comes from and how much of it to use.
struct DataSpec {
  // idx (MNIST, Fashion-MNIST, KMNIST), cifar10, cifar100, or tensor (torch.save'd dict).
  std::string format = "idx";
  // idx and cifar: the folder holding the files; tensor: the training file.
  std::string path = "/usr/share/datasets/fashion-mnist";
  // tensor only: a separate test file; when empty, holdout_fraction of `path` becomes the test set.
  std::string test_path;
  // tensor only, without test_path: share of the samples held out as the test set.
  double holdout_fraction = 0.1;
  // Seeded subsets, so quick runs and attackers with partial data are reproducible.
  double train_fraction = 1.0;
  double test_fraction = 1.0;
  // Seed for subsets and the holdout split; independent of the training seed.
  uint64_t seed = 0;
};

struct DataSplits {
  Dataset train;
  Dataset test;
  std::string digest;  // SHA-256 over the files read and the subset settings
  std::vector<std::string> files;
};

DataSpec parse_data_spec(ConfigObject obj);
Json data_spec_to_json(const DataSpec& spec);

DataSplits load_data(const DataSpec& spec);

// Single-file readers (exposed for tests and tools). Each throws InputError naming the file.
Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes = 10);
// Reads CIFAR-10 (1 label byte) or CIFAR-100 (coarse, fine label bytes; the fine label is used).
Dataset load_cifar(const std::vector<std::string>& files, bool cifar100);
// A file written by torch.save({'x': images, 'y': labels}, path); optional 'classes': int.
Dataset load_tensor_file(const std::string& path);

// Seeded, reproducible helpers. Independent of torch's global generator.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);
Dataset take(const Dataset& d, const torch::Tensor& indices);
Dataset subset(const Dataset& d, double fraction, uint64_t seed);
// Splits off a held-out share; returns {rest, holdout}.
std::pair<Dataset, Dataset> split(const Dataset& d, double holdout_fraction, uint64_t seed);

struct ChannelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
ChannelStats channel_stats(const Dataset& d);

// The IDX format, for fixtures and tests: writes uint8 images (N x H x W) and labels.
void write_idx_images(const std::string& path, const torch::Tensor& images_u8);
void write_idx_labels(const std::string& path, const torch::Tensor& labels);

}  // namespace ds
