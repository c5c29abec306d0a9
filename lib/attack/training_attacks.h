// Attacks that train: fine-tuning the stolen model on the attacker's data (Adi et al.'s FTLL,
// FTAL, RTLL, RTAL), distilling it into a fresh student, and extracting one from its top-1
// answers.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attack/attack.h"
#include "model/train.h"
#include "model/zoo.h"

namespace ds {

// FTLL / FTAL fine-tune the last layer / all layers; RTLL / RTAL first re-initialise the last
// layer (uniform +-1/sqrt(fan_in), PyTorch's Linear default).
struct FinetuneSpec {
  std::string mode = "ftal";  // ftll | ftal | rtll | rtal
  OptimizerSpec optimizer;
  int64_t epochs = 1;
  int64_t batch_size = 64;
  // First undo any scale hardening (rebalance_scales in harden.h): the adaptive thief.
  bool rebalance = false;
};
struct AttackTraining {
  torch::jit::Module model;
  std::vector<EpochStats> epochs;
  Json details = Json::object();  // what the training alone knows (extraction: queries sent)
};
AttackTraining finetune_model(const torch::jit::Module& model, const FinetuneSpec& spec,
                              const Dataset& attacker_data, uint64_t seed);

// Distillation: a fresh `student` trained on the suspect's soft labels (temperature T, loss
// KL * T^2) over the attacker's data; the attacker's own labels are not used. The student's
// normalisation comes from the attacker's data.
struct DistillSpec {
  ArchSpec student;
  double temperature = 4.0;
  OptimizerSpec optimizer;
  int64_t epochs = 5;
  int64_t batch_size = 128;
};
AttackTraining distill_model(torch::jit::Module& teacher, const DistillSpec& spec,
                             const Dataset& attacker_data, uint64_t seed, InputSpec* student_input);

// Hard-label extraction: the attacker sends its inputs (the first `queries`, 0: all) to the
// suspect as to an API, keeps only the top-1 answers, and trains a fresh `student` on them with
// cross-entropy; the attacker's own labels are not used.
struct ExtractSpec {
  ArchSpec student;
  int64_t queries = 0;
  OptimizerSpec optimizer;  // Adam, lr 1e-3 unless the config says otherwise
  int64_t epochs = 10;
  int64_t batch_size = 128;
};
AttackTraining extract_model(torch::jit::Module& teacher, const ExtractSpec& spec,
                             const Dataset& attacker_data, uint64_t seed, InputSpec* student_input);

// Trains every parameter of `student` in place on `teacher`'s soft labels at temperature T
// (loss KL * T^2) over `data`; the data's own labels are not used. `what` names the epochs in
// the log.
std::vector<EpochStats> train_on_soft_labels(torch::jit::Module& teacher,
                                             torch::jit::Module& student, double temperature,
                                             const OptimizerSpec& optimizer, int64_t epochs,
                                             int64_t batch_size, const Dataset& data, uint64_t seed,
                                             const std::string& what);

// An attack's optimizer: the config's "optimizer" object over `fallback`, and a top-level "lr"
// (so that a sweep can vary it on its own).
OptimizerSpec parse_attack_optimizer(ConfigObject& root, const OptimizerSpec& fallback);

// The registry's "finetune" settings, exposed for tests.
struct FinetuneAttack : Attack {
  FinetuneSpec finetune;
  AttackResult apply(const AttackInputs& in) const override;
};

// Registry parsers of "finetune", "distill" and "extract".
std::unique_ptr<Attack> parse_finetune_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_distill_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_extract_attack(ConfigObject& root, const Json&, const AttackSpec&);

}  // namespace ds
