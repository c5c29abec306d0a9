// DeepSigns black-box watermark (section 2): candidate key inputs, embedding by fine-tuning on
// the training data plus the candidates, selection of the K keys only the marked model answers,
// and the binomial decision from query answers alone.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "data/data_spec.h"
#include "model/train.h"
#include "watermark/key_types.h"

namespace ds {

struct BlackboxKeySpec {
  int64_t keys = 32;              // K, the number of keys finally kept
  int64_t candidate_factor = 40;  // candidates drawn per round: factor x K (the authors' code)
  // uniform pixels | gaussian noise | smooth (uniform values on a coarse grid of `cell` x `cell`
  // pixel cells, bilinearly upsampled: keys without the high frequencies an input filter
  // removes) | dataset (out of distribution)
  std::string source = "uniform";
  int64_t cell = 4;      // smooth source: grid cell width in pixels
  DataSpec source_data;  // dataset source: where the out-of-distribution images come from
  double false_claim_probability = 1e-9;  // p: theta is the smallest with P[Bin <= theta] > p
};

BlackboxKeySpec parse_blackbox_key_spec(ConfigObject obj);

// Draws `count` candidates for `round` (0 = the key's first) from the generator description;
// labels are uniform over the classes, from the key's own seed.
void draw_candidates(const Json& generator, const std::vector<int64_t>& input_shape,
                     int64_t num_classes, int64_t round, int64_t count, torch::Tensor& inputs,
                     torch::Tensor& labels);

// Labels `model` gives to `inputs` (eval mode).
torch::Tensor predict_labels(torch::jit::Module& model, const torch::Tensor& inputs);

// Builds the candidate stage of a black-box key; `base` labels the candidates.
BlackboxKey make_blackbox_candidates(const BlackboxKeySpec& spec, torch::jit::Module& base,
                                     const std::vector<int64_t>& input_shape, int64_t num_classes,
                                     uint64_t key_seed);

// The embedding run (data, optimizer: the authors' SGD, lr 8e-4, Nesterov momentum 0.9 unless
// the config says otherwise; batch, seed, threads) and its rounds.
struct BlackboxEmbedConfig : RunSettings {
  int64_t epochs_per_round = 2;
  int64_t max_rounds = 5;
  int64_t candidate_repeats = 1;  // copies of each candidate per epoch (1: the authors)
};

BlackboxEmbedConfig parse_blackbox_embed_config(const Json& json, const std::string& file);
Json blackbox_embed_config_to_json(const BlackboxEmbedConfig& c);

struct BlackboxEmbedResult {
  BlackboxKey final_key;
  int64_t rounds = 0;
  int64_t candidates_drawn = 0;
  double accuracy_before = 0, accuracy_after = 0;
  double key_accuracy = 0;   // share of the K chosen keys the marked model answers with their label
  double seconds = 0;
  std::vector<EpochStats> epoch_stats;
};

// Fine-tunes `model` in place (see DeepSigns section 2) and returns the K chosen keys.
// Throws if fewer than K candidates survive after max_rounds.
BlackboxEmbedResult embed_blackbox(torch::jit::Module& model, const BlackboxKey& candidates,
                                   const std::vector<int64_t>& input_shape, int64_t num_classes,
                                   const DataSplits& data, const BlackboxEmbedConfig& config);

struct BlackboxDecision {
  int64_t keys = 0;
  int64_t mismatches = 0;
  int64_t threshold = 0;        // theta: proven when mismatches < theta (p_value <= alpha)
  double p_value = 1;           // P[Binomial(K, 1 - 1/C) <= mismatches]
  double log10_p_value = 0;
  double threshold_false_claim = 0;  // P[Binomial(K, 1 - 1/C) <= theta - 1]
  bool verified = false;
};

// Decision from the labels a suspect gave to the final keys, at false-claim probability alpha.
BlackboxDecision decide_blackbox(const BlackboxKey& key, int64_t num_classes,
                                 const torch::Tensor& answers, double alpha);

}  // namespace ds
