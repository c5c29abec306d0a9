// The training loop shared by ds-train and every tool that fine-tunes: optimizers, learning-rate
// schedules, seeded epochs over in-memory data, and evaluation.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/data_spec.h"
#include "model/zoo.h"

namespace ds {

struct OptimizerSpec {
  std::string name = "adam";  // sgd | adam | rmsprop
  double lr = 1e-3;
  double momentum = 0.0;  // sgd and rmsprop
  bool nesterov = false;  // sgd
  double weight_decay = 0.0;
  std::string schedule = "none";  // none | step | cosine (per epoch)
  int64_t step_size = 10;         // step: epochs between decays
  double gamma = 0.1;             // step: decay factor
};

// What every training-like run (training, embedding) is made of.
struct RunSettings {
  DataSpec data;
  OptimizerSpec optimizer;  // for the model's weights
  int64_t batch_size = 128;
  uint64_t seed = 1;  // initial weights, data order, dropout
  int threads = 1;    // intra-op and BLAS threads; results depend on it
};

struct TrainConfig : RunSettings {
  ArchSpec arch;
  int64_t epochs = 10;
  int64_t eval_batch_size = 1000;  // evaluation only; does not change results
};

// The fields every training-like config ends with: batch size, seed, threads; then the check
// that no unknown field is left.
void read_run_fields(ConfigObject& root, RunSettings& c);
// The same fields into a config's JSON form.
void add_run_fields(const RunSettings& c, Json& j);

OptimizerSpec parse_optimizer_spec(ConfigObject obj);
Json optimizer_spec_to_json(const OptimizerSpec& spec);
TrainConfig parse_train_config(const Json& json, const std::string& file);
Json train_config_to_json(const TrainConfig& config);

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                        const std::vector<torch::Tensor>& params);
// Learning rate for `epoch` (0-based) of `total` under the spec's schedule.
double scheduled_lr(const OptimizerSpec& spec, int64_t epoch, int64_t total);
void set_lr(torch::optim::Optimizer& optimizer, double lr);

// All parameters, marked as requiring gradients.
std::vector<torch::Tensor> trainable_parameters(const torch::jit::Module& model);

// Top-1 accuracy in [0, 1], in eval mode under InferenceMode; restores the training flag.
double evaluate_accuracy(torch::jit::Module& model, const Dataset& data, int64_t batch_size);

// Per-batch loss: receives this process's samples of the batch and returns {loss, logits}.
struct StepOutput {
  torch::Tensor loss;
  torch::Tensor logits;
};
// The global batch a step's samples belong to: all of it in one process, a slice per rank in a
// data-parallel run (distributed.h). A step writes its loss as the global batch's loss
// restricted to its samples: per-sample terms summed (and divided by `global_size` for a mean),
// terms that do not depend on the samples multiplied by `share`, so that the ranks' gradients
// add up to the gradient one process would compute on the whole batch.
struct BatchShard {
  int64_t global_size = 0;
  double share = 1.0;           // 1 / world size
  torch::Tensor global_labels;  // labels of the whole global batch
};
using StepFn = std::function<StepOutput(const torch::Tensor& x, const torch::Tensor& y,
                                        const BatchShard& shard)>;

struct EpochStats {
  int64_t epoch = 0;
  double loss = 0;            // mean over samples
  double train_accuracy = 0;  // on the training batches as seen (train mode)
  double test_accuracy = -1;  // -1 when not evaluated
  double lr = 0;
  double seconds = 0;  // training time of the epoch, evaluation excluded
  double samples_per_second = 0;
  double comm_seconds = -1;  // data-parallel runs: time in collectives (-1: one process)
  // Streamed data: time the loop waited for a batch, and images this process loaded (-1: the
  // images are in memory).
  double data_wait_seconds = -1;
  int64_t samples_loaded = -1;
  double loader_seconds = -1;  // summed over the loader threads
};
Json epoch_stats_to_json(const EpochStats& s);

// One pass over `data` in a seeded order of global batches. `step` computes the loss on this
// rank's slice of each batch; gradients are summed across ranks, then every optimizer steps on
// them (the first one's learning rate is reported). Buffers are taken from rank 0 at the end.
EpochStats run_epoch(torch::jit::Module& model,
                     const std::vector<torch::optim::Optimizer*>& optimizers, const Dataset& data,
                     int64_t batch_size, uint64_t order_seed, const StepFn& step,
                     const std::string& label);

// Cross-entropy step on the model's logits.
StepFn cross_entropy_step(torch::jit::Module& model);

// Distillation step: KL divergence from `teacher`'s soft labels at `temperature` to the
// student's, scaled by temperature^2 (Hinton et al.) so gradients keep their size. The teacher
// must be in eval mode.
StepFn soft_label_step(torch::jit::Module& teacher, torch::jit::Module& student,
                       double temperature);

// A model, its optimizers and its step function, for compare_step_seconds.
struct StepSetup {
  torch::jit::Module* model = nullptr;
  std::vector<torch::optim::Optimizer*> optimizers;
  StepFn step;
};
struct StepTimes {
  double a_seconds = 0, b_seconds = 0;  // median wall time of one step
  int64_t steps = 0;                    // steps timed for each setup
};
// Times the training steps of two setups (zero_grad, step, backward, loss read back, optimizer
// steps: the work run_epoch does per batch) on the same batches of a seeded order, in
// alternating blocks of `block` steps whose order flips every round, so that a shared machine's
// noise falls on both alike; returns each one's median. One process only. Trains both models.
StepTimes compare_step_seconds(const StepSetup& a, const StepSetup& b, const Dataset& data,
                               int64_t batch_size, uint64_t order_seed, int64_t steps_each,
                               int64_t block = 5);

struct TrainResult {
  torch::jit::Module model;
  std::vector<EpochStats> epochs;
  double test_accuracy = 0;
  double train_seconds = 0;
  // The data's shape and classes; its statistics, or a torchscript model's own normalisation.
  InputSpec input;
  Json starting_model;  // torchscript: the file trained from (path, sha256); empty otherwise
};

// Builds the configured architecture for `data` and trains it. Deterministic for a given
// config, data and thread count.
TrainResult train_model(const TrainConfig& config, const DataSplits& data);

}  // namespace ds
