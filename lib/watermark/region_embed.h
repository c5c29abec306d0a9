// Keyed-region mark, weight side: fine-tunes a model on the owner's data with every input inside
// a region relabelled to the region's target, so that the weights carry the mark that the guard
// only serves (a thief holding the file can drop the guard, but not what the weights learned).
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <vector>

#include "core/config.h"
#include "data/dataset.h"
#include "model/train.h"
#include "watermark/key_types.h"

namespace ds {

struct RegionTrainConfig {
  // The defaults are the settings measured best on Fashion-MNIST (docs/RESULTS.md, "Toward
  // the 0.5-point cost"): Adam at lr 1e-4 on a cosine schedule, 10 epochs; with 6 the CNN's
  // file ended 0.12 points less accurate at the same share (the longer anneal repairs the
  // task). SGD at lr 0.01 (Nesterov 0.9) suits a model with one mark, but collapsed a CNN
  // carrying the 128-bit white-box mark and black-box keys; 3 epochs at a constant rate left
  // the CNN 0.4 points less accurate and its weight-shifted copies short of proof at one seed
  // in five.
  OptimizerSpec optimizer{"adam", 1e-4, 0.0, false, 0.0, "cosine"};
  int64_t batch_size = 128;
  uint64_t seed = 1;  // data order
  int64_t epochs = 10;
  // Extra copies of each region input per epoch: the regions hold under 1% of the data, and
  // copies teach them within the epochs without more passes over the rest.
  int64_t region_repeats = 20;
  // Near misses per in-region input (see relabel_regions).
  int64_t near_misses = 6;
  // "hard": cross-entropy on the relabelled data; "guard": match the soft labels of the guarded
  // original (at `temperature`), which asks less of the model and teaches the regions less.
  std::string labels = "hard";
  double temperature = 1.0;
};

// The "train" object of a regions embedding config (the fields above; threads come from the
// config's top level).
RegionTrainConfig parse_region_train_config(ConfigObject obj);
Json region_train_config_to_json(const RegionTrainConfig& c);

// The training split with each in-region label replaced by its region's target, followed by
// `repeats` further copies of the in-region samples and of their near misses: `near_misses` times
// as many outside inputs, those closest to a region's boundary, with their own labels. The near
// misses keep the learned boundary where the key puts it; without them the model answers the
// target for inputs around the regions too, and pays for it in accuracy.
struct RelabelledData {
  Dataset data;
  int64_t region_inputs = 0;  // training inputs inside some region
};
RelabelledData relabel_regions(const RegionKey& key, const Dataset& train, int64_t repeats,
                               int64_t near_misses);

struct RegionTrainResult {
  std::vector<EpochStats> epochs;
  int64_t region_inputs = 0;   // training inputs inside some region
  double region_agreement = 0; // share of the key's verification inputs answered with the target
};

// Fine-tunes `model` in place. `keep`, when it holds images, is trained alongside (the black-box
// keys of the same owner key, which would otherwise wash out), repeated like the region inputs;
// with hard labels its own labels are learnt, with the guard's, the original model's answers.
RegionTrainResult train_regions(torch::jit::Module& model, const RegionKey& key,
                                const DataSplits& data, const RegionTrainConfig& config,
                                const Dataset& keep = {});

}  // namespace ds
