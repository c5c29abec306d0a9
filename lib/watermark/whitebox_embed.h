// DeepSigns white-box watermark, embedding: fine-tuning with the activation-distribution loss
// (cross-entropy + lambda1 * centre terms + lambda2 * payload BCE) until the triggers read
// BER 0 within the accuracy budget.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "data/data_spec.h"
#include "model/train.h"
#include "watermark/harden.h"
#include "watermark/key_types.h"

namespace ds {

// The embedding run (data, optimizer for the model's weights, batch, seed, threads) and:
struct WhiteboxEmbedConfig : RunSettings {
  // Weights of the centre terms (pull, separation, unit norm) and of the payload BCE. The
  // authors use 0.01 and 0.01 training from scratch; fine-tuning a trained model needs a firmer
  // hand to reach BER 0 in two epochs (tuned on the Fashion-MNIST MLP, see
  // docs/RESULTS-measured.md).
  double lambda1 = 0.05;
  double lambda2 = 0.3;
  double centre_lr = 0.01;  // Adam learning rate of the centres
  // Margin of the payload loss: each bit's projection is pushed past +-margin (in units of the
  // projection of a unit-norm centre) rather than just past 0, so that small weight changes do
  // not flip it. 0: the authors' plain BCE.
  double margin = 0.0;
  std::string centre_init = "class_mean";  // class_mean | uniform (the authors' choice)
  // How the pull term reduces over the batch: "sum" (the authors: over batch and features) or
  // "mean" (over the batch; summed over features).
  std::string pull_reduction = "sum";
  // Which samples the pull term applies to: "all" classes (the paper's Gaussian mixture) or only
  // the "carriers" (the only centres extraction reads; the other classes' features are left
  // alone, which costs less accuracy).
  std::string pull_classes = "carriers";
  // What the pull divides the activations by: "initial", the mean norm of the class means
  // before embedding (fine-tuning a trained model: its activations keep their size), or
  // "batch", the norm of the carriers' mean activation in each batch (training from scratch,
  // where the activations grow tenfold; the exported loss only).
  std::string activation_scale = "initial";
  // Where the payload loss reads the bits: "centres" (the paper: the trained centres, which the
  // pull then draws the activations to) or "centres_and_activations", which also holds each
  // batch's mean carrier activation on the right side of every bit by a hinge, binding what
  // the verifier reads directly (training from scratch, where the pull alone leaves a few bits
  // wrong; the exported loss only).
  std::string payload_on = "centres";
  // After embedding, rescale the marked layer so that a thief's Adam fine-tuning barely moves
  // it (see harden.h); the model's function and the mark's reading do not change.
  HardenSpec harden;
  // Noise-aware pull: the pull term reads the marked layer with Gaussian noise of this many
  // times the layer's starting root-mean-square weight added to its weights (fresh each step),
  // as a thief's fine-tuning would; 0: off. Zoo MLP and CNN dense layers only.
  double pull_noise = 0.0;
  int64_t max_epochs = 5;
  double accuracy_budget = 0.003;  // largest test-accuracy drop accepted, as a fraction
  bool from_scratch = false;       // re-initialise the weights first (zoo models; see embed job)
  // After embedding, time plain fine-tuning steps against embedding steps on copies of the
  // marked model, interleaved, `overhead_steps` of each (one process only).
  bool measure_overhead = true;
  int64_t overhead_steps = 100;
};

WhiteboxEmbedConfig parse_whitebox_embed_config(const Json& json, const std::string& file);
Json whitebox_embed_config_to_json(const WhiteboxEmbedConfig& c);

struct WhiteboxEmbedResult {
  int64_t epochs = 0;
  std::string stop_reason;  // "converged" or "max_epochs"
  double ber_before = 0, ber_after = 0;
  double accuracy_before = 0, accuracy_after = 0;
  double accuracy_before_hardening = -1;  // -1: no hardening
  double centre_init_seconds = 0;
  // Median step times of plain fine-tuning and of embedding, timed alternately on the same
  // batches (-1: not measured).
  double plain_step_seconds = -1, embed_step_seconds = -1;
  int64_t timed_steps = 0;
  std::vector<EpochStats> epoch_stats;
  std::vector<double> epoch_ber;
};

// The centres the embedding trains beside the model, and the constant that scales activations
// to them.
struct EmbedCentres {
  torch::Tensor centres;  // classes x width, requires grad
  double scale = 1.0;
  bool clamp = false;  // a ReLU layer: keep the centres non-negative
};
// The embedding's starting centres for `model` on `data.train` (config.centre_init).
EmbedCentres initial_centres(torch::jit::Module& model, const WhiteboxKey& key,
                             const DataSplits& data, const std::string& model_path,
                             const WhiteboxEmbedConfig& config);

// Fine-tunes `model` in place until the triggers give BER 0 within the accuracy budget, or
// max_epochs. The centres live only here; the model keeps its architecture and methods.
WhiteboxEmbedResult embed_whitebox(torch::jit::Module& model, const std::string& model_path,
                                   const WhiteboxKey& key, const DataSplits& data,
                                   const WhiteboxEmbedConfig& config);

}  // namespace ds
