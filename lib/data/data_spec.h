// Where a dataset comes from (a config's "data" object) and loading it into train and test
// splits with a digest of what was read.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"

namespace ds {

// Where a dataset comes from and how much of it to use.
struct DataSpec {
  // idx (MNIST, Fashion-MNIST, KMNIST), cifar10, cifar100, tensor (torch.save'd dict), or
  // imagefolder (ROOT/CLASS/IMAGE.png|jpg).
  std::string format = "idx";
  // idx and cifar: the folder holding the files; tensor: the training file; imagefolder: ROOT.
  std::string path = "/usr/share/datasets/fashion-mnist";
  // tensor and imagefolder: a separate test file or folder; when empty, holdout_fraction of
  // `path` becomes the test set.
  std::string test_path;
  // tensor and imagefolder, without test_path: share of the samples held out as the test set.
  double holdout_fraction = 0.1;
  // Seeded subsets, so quick runs and attackers with partial data are reproducible.
  double train_fraction = 1.0;
  double test_fraction = 1.0;
  // Seed for subsets and the holdout split; independent of the training seed.
  uint64_t seed = 0;
  // Leave the images on disk and read each batch when it is needed (idx and cifar formats),
  // with `loader_threads` background threads loading up to `prefetch_batches` batches ahead.
  // ds-train streams; the other tools read the samples they use into memory.
  bool stream = false;
  int64_t loader_threads = 2;
  int64_t prefetch_batches = 4;
  // imagefolder only: C, H, W every image is fitted to; empty: the first image's own shape, so
  // that a folder of equal images needs no setting.
  std::vector<int64_t> shape;
  // imagefolder only: leave unreadable images out (counted in the report) instead of failing, for
  // scraped collections where a few broken files are expected.
  bool skip_bad = false;
};

DataSpec parse_data_spec(ConfigObject obj);
Json data_spec_to_json(const DataSpec& spec);

// Streamed splits stay streamed only with `keep_streamed` (the callers that read images
// through Dataset::images_at); otherwise their samples are read into memory.
DataSplits load_data(const DataSpec& spec, bool keep_streamed = false);
// What a report records of the data read: digest, files, and skipped_files when counted.
Json data_inputs_to_json(const DataSplits& data);

}  // namespace ds
