// DeepSigns white-box watermark (docs: shared DEEPSIGNS.md section 1): key generation, embedding
// into the activation distribution of one hidden layer, and extraction from a suspect model.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "config.h"
#include "data.h"
#include "harden.h"
#include "keys.h"
#include "train.h"

namespace ds {

// --- Key generation -------------------------------------------------------------------------

struct WhiteboxKeySpec {
  std::string layer;                   // tap to mark; empty: the last hidden tap before logits
  // Classes whose activations carry bits. Empty: the `carrier_count` classes with the largest
  // mean logit margin under the base model on the owner's training data. Marking a class near a
  // decision boundary costs accuracy: on the MLP, class 0 (T-shirt, confused with shirts) cost
  // 0.39 points, class 5 (sandal) 0.27, class 1 (trouser, the largest margin) 0.02.
  std::vector<int64_t> carriers;
  int64_t carrier_count = 1;
  int64_t bits = 64;                   // bits per carrier class
  std::string message;                 // payload source: SHA-256 expansion of this text ...
  int64_t payload_seed = -1;           // ... or, when message is empty, bits drawn from this seed
  double trigger_fraction = 0.01;      // share of the training set kept as trigger inputs
  // Error correction: "bch" makes each carrier's bits a BCH codeword (plus a parity bit) of
  // fewer data bits, correcting up to ecc_t errors (bits per carrier must be a power of 2).
  std::string ecc = "none";
  int64_t ecc_t = 7;
  // Inputs (from the classes that carry no bits) whose activations form the reference
  // profile for realigned extraction; 0: no profile (extraction reads units in fixed order).
  int64_t profile_count = 512;
};

WhiteboxKeySpec parse_whitebox_key_spec(ConfigObject obj);

// N payload bits from a message: SHA-256(message || counter) streamed, most significant bit
// first. Throws InputError when all bits are equal.
torch::Tensor message_bits(const std::string& message, int64_t n);
// N payload bits from a seed (key's own generator); rejects degenerate payloads too.
torch::Tensor seeded_bits(uint64_t seed, int64_t n);

// Builds the white-box part of a key for `model` from the owner's training data. All randomness
// comes from `key_seed`; `meta` receives how the key was made.
WhiteboxKey make_whitebox_key(const WhiteboxKeySpec& spec, torch::jit::Module& model,
                              const std::string& model_path,
                              const std::vector<int64_t>& input_shape, const Dataset& train,
                              uint64_t key_seed, Json& meta);

// Computes the key's reference profile from `model`: at key generation, the unmarked base
// model (never the marked one; see realign.h).
void refresh_profile(WhiteboxKey& key, torch::jit::Module& model, const std::string& model_path);

// --- Extraction -----------------------------------------------------------------------------

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
  double binomial_log10_p = 0;  // log10 P[Binomial(total, 1/2) >= total - errors]
  double correlation_z = 0;     // sum_c,i (2b_ci - 1) mu_c . A_i / its null standard deviation
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

// --- Embedding ------------------------------------------------------------------------------

struct WhiteboxEmbedConfig {
  DataSpec data;
  OptimizerSpec optimizer;       // for the model's weights
  // Weights of the centre terms (pull, separation, unit norm) and of the payload BCE. The
  // authors use 0.01 and 0.01 training from scratch; fine-tuning a trained model needs a firmer
  // hand to reach BER 0 in two epochs (tuned on the Fashion-MNIST MLP, see README results).
  double lambda1 = 0.05;
  double lambda2 = 0.3;
  double centre_lr = 0.01;       // Adam learning rate of the centres
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
  // After embedding, rescale the marked layer so that a thief's Adam fine-tuning barely moves
  // it (see harden.h); the model's function and the mark's reading do not change.
  HardenSpec harden;
  // Noise-aware pull: the pull term reads the marked layer with Gaussian noise of this many
  // times the layer's starting root-mean-square weight added to its weights (fresh each step),
  // as a thief's fine-tuning would; 0: off. Zoo MLP and CNN dense layers only.
  double pull_noise = 0.0;
  int64_t max_epochs = 5;
  int64_t batch_size = 128;
  double accuracy_budget = 0.003;  // largest test-accuracy drop accepted, as a fraction
  bool from_scratch = false;       // re-initialise the weights first (zoo models; see embed job)
  // After embedding, time plain fine-tuning steps against embedding steps on copies of the
  // marked model, interleaved, `overhead_steps` of each (one process only).
  bool measure_overhead = true;
  int64_t overhead_steps = 100;
  uint64_t seed = 1;
  int threads = 1;
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

// Fine-tunes `model` in place until the triggers give BER 0 within the accuracy budget, or
// max_epochs. The centres live only here; the model keeps its architecture and methods.
WhiteboxEmbedResult embed_whitebox(torch::jit::Module& model, const std::string& model_path,
                                   const WhiteboxKey& key, const DataSplits& data,
                                   const WhiteboxEmbedConfig& config);

}  // namespace ds
