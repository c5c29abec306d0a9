// Fine-tuning and distillation attacks and their registry entries.
#include "attack/training_attacks.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/errors.h"
#include "core/runtime.h"
#include "model/distributed.h"
#include "model/model_io.h"
#include "model/topology.h"
#include "watermark/blackbox.h"
#include "watermark/harden.h"

namespace ds {

namespace {

void reinit_uniform(torch::Tensor w, torch::Tensor b, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  double bound = 1.0 / std::sqrt(double(w.size(1)));
  w.copy_(torch::rand(w.sizes(), gen, w.scalar_type()) * (2 * bound) - bound);
  if (b.defined()) b.copy_(torch::rand(b.sizes(), gen, b.scalar_type()) * (2 * bound) - bound);
}

// Trains `model` in place with `step` on the given parameters; the rest stay frozen.
std::vector<EpochStats> train_parameters(torch::jit::Module& model,
                                         const std::vector<torch::Tensor>& params,
                                         const OptimizerSpec& opt, int64_t epochs,
                                         int64_t batch_size, const Dataset& data, uint64_t seed,
                                         const StepFn& step, const std::string& what) {
  for (auto p : model.parameters()) p.requires_grad_(false);
  for (auto p : params) p.requires_grad_(true);
  auto optimizer = make_optimizer(opt, params);
  seed_training_generator(mix_seed(seed, 3));  // dropout
  std::vector<EpochStats> stats;
  for (int64_t e = 0; e < epochs; ++e) {
    set_lr(*optimizer, scheduled_lr(opt, e, epochs));
    std::string label = what + " " + std::to_string(e + 1) + "/" + std::to_string(epochs);
    EpochStats s = run_epoch(model, {optimizer.get()}, data, batch_size,
                             mix_seed(seed, 200 + uint64_t(e)), step, label);
    s.epoch = e + 1;
    stats.push_back(s);
  }
  for (auto p : model.parameters()) p.requires_grad_(true);
  model.eval();
  return stats;
}

}  // namespace

AttackTraining finetune_model(const torch::jit::Module& model, const FinetuneSpec& spec,
                              const Dataset& attacker_data, uint64_t seed) {
  if (attacker_data.size() == 0) throw InputError("fine-tuning needs attacker data");
  AttackTraining r{clone_model(model), {}};
  if (spec.rebalance) {
    for (const auto& [layer, factor] : rebalance_scales(r.model)) {
      spdlog::info("rebalanced {} by {:.4g}", layer, factor);
      r.details["rebalanced_layers"][layer] = factor;
    }
  }
  std::string last = last_dense_layer(r.model);
  torch::Tensor w = require_tensor(r.model, last + ".weight");
  torch::Tensor b = find_tensor(r.model, last + ".bias");
  if (spec.mode == "rtll" || spec.mode == "rtal") {
    torch::NoGradGuard no_grad;
    reinit_uniform(w, b, mix_seed(seed, 53));
  }
  std::vector<torch::Tensor> params;
  if (spec.mode == "ftll" || spec.mode == "rtll") {
    params.push_back(w);
    if (b.defined()) params.push_back(b);
  } else if (spec.mode == "ftal" || spec.mode == "rtal") {
    for (auto p : r.model.parameters()) params.push_back(p);
  } else {
    throw InputError("unknown fine-tuning mode '" + spec.mode + "'");
  }
  r.epochs = train_parameters(r.model, params, spec.optimizer, spec.epochs, spec.batch_size,
                              attacker_data, seed, cross_entropy_step(r.model), spec.mode);
  return r;
}

std::vector<EpochStats> train_on_soft_labels(torch::jit::Module& teacher,
                                             torch::jit::Module& student, double temperature,
                                             const OptimizerSpec& optimizer, int64_t epochs,
                                             int64_t batch_size, const Dataset& data, uint64_t seed,
                                             const std::string& what) {
  teacher.eval();
  StepFn step = soft_label_step(teacher, student, temperature);
  std::vector<torch::Tensor> params;
  for (auto p : student.parameters()) params.push_back(p);
  return train_parameters(student, params, optimizer, epochs, batch_size, data, seed, step, what);
}

AttackTraining distill_model(torch::jit::Module& teacher, const DistillSpec& spec,
                             const Dataset& attacker_data, uint64_t seed,
                             InputSpec* student_input) {
  if (attacker_data.size() == 0) throw InputError("distillation needs attacker data");
  if (!(spec.temperature > 0)) throw InputError("distillation temperature must be positive");
  ChannelStats stats = channel_stats(attacker_data);
  InputSpec input{attacker_data.sample_shape(), attacker_data.num_classes, stats.mean, stats.std};
  if (student_input) *student_input = input;
  AttackTraining r{build_model(spec.student, input, mix_seed(seed, 59)), {}};
  r.epochs = train_on_soft_labels(teacher, r.model, spec.temperature, spec.optimizer, spec.epochs,
                                  spec.batch_size, attacker_data, seed, "distill");
  return r;
}

AttackTraining extract_model(torch::jit::Module& teacher, const ExtractSpec& spec,
                             const Dataset& attacker_data, uint64_t seed,
                             InputSpec* student_input) {
  Dataset queries = attacker_data;
  if (spec.queries > 0 && spec.queries < queries.size()) {
    queries = take(attacker_data, torch::arange(spec.queries, torch::kInt64));
  }
  if (queries.size() == 0) throw InputError("extraction needs attacker data");
  // The API's answers: one top-1 label per query, collected before training.
  queries.labels = predict_labels(teacher, queries.images);
  Json details{{"queries", queries.size()}};
  ChannelStats stats = channel_stats(queries);
  InputSpec input{queries.sample_shape(), queries.num_classes, stats.mean, stats.std};
  if (student_input) *student_input = input;
  AttackTraining r{build_model(spec.student, input, mix_seed(seed, 61)), {}, details};
  std::vector<torch::Tensor> params;
  for (auto p : r.model.parameters()) params.push_back(p);
  r.epochs = train_parameters(r.model, params, spec.optimizer, spec.epochs, spec.batch_size,
                              queries, seed, cross_entropy_step(r.model), "extract");
  return r;
}

namespace {

Json epochs_json(const AttackTraining& t) {
  Json epochs = Json::array();
  for (const auto& e : t.epochs) epochs.push_back(epoch_stats_to_json(e));
  return epochs;
}

// The student's architecture: the config's, or the suspect's own, which zoo models record.
ArchSpec student_arch(bool configured, const ArchSpec& student, const LoadedModel& model,
                      const std::string& kind) {
  if (configured) return student;
  if (!model.info.contains("arch")) {
    throw InputError(kind + ": the model records no architecture; set 'student'");
  }
  return parse_arch_spec(ConfigObject(model.info["arch"], model.path, "arch"));
}

AttackResult student_result(const LoadedModel& model, const ArchSpec& student,
                            const InputSpec& input, const AttackTraining& t) {
  AttackResult r{t.model, model.info, t.details};
  r.info.erase("guard");  // a student is a new model: whatever served the teacher is not in it
  r.info["arch"] = arch_spec_to_json(student);
  r.info["normalization"] = Json{{"mean", input.mean}, {"std", input.std}};
  r.details["student"] = arch_spec_to_json(student);
  r.details["epochs"] = epochs_json(t);
  return r;
}

// An attack that trains a fresh student from the suspect's answers with `train`.
template <typename Spec, AttackTraining (*train)(torch::jit::Module&, const Spec&, const Dataset&,
                                                 uint64_t, InputSpec*)>
struct StudentAttack : Attack {
  bool has_student = false;  // otherwise the suspect's own architecture, which zoo models record
  std::string kind;
  Spec spec;

  AttackResult apply(const AttackInputs& in) const override {
    Spec s = spec;
    s.student = student_arch(has_student, spec.student, in.model, kind);
    torch::jit::Module teacher = clone_model(in.model.module);
    InputSpec input;
    AttackTraining t = train(teacher, s, *in.attacker, in.spec.seed, &input);
    return student_result(in.model, s.student, input, t);
  }
};
using DistillAttack = StudentAttack<DistillSpec, distill_model>;
using ExtractAttack = StudentAttack<ExtractSpec, extract_model>;

}  // namespace

OptimizerSpec parse_attack_optimizer(ConfigObject& root, const OptimizerSpec& fallback) {
  OptimizerSpec opt = fallback;
  if (root.has("optimizer")) opt = parse_optimizer_spec(root.get_object("optimizer"));
  opt.lr = root.get_number("lr", opt.lr);
  if (!(opt.lr > 0)) root.fail("lr", "must be positive");
  return opt;
}

AttackResult FinetuneAttack::apply(const AttackInputs& in) const {
  AttackTraining t = finetune_model(in.model.module, finetune, *in.attacker, in.spec.seed);
  AttackResult r{t.model, in.model.info, Json::object()};
  r.details["last_layer"] = last_dense_layer(t.model);
  r.details["rebalanced"] = finetune.rebalance;
  if (t.details.contains("rebalanced_layers")) {
    r.details["rebalanced_layers"] = t.details["rebalanced_layers"];
  }
  r.details["epochs"] = epochs_json(t);
  return r;
}

std::unique_ptr<Attack> parse_finetune_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = std::make_unique<FinetuneAttack>();
  FinetuneSpec& f = a->finetune;
  f.mode = root.get_choice("mode", f.mode, {"ftll", "ftal", "rtll", "rtal"});
  OptimizerSpec sgd;
  sgd.name = "sgd";
  sgd.momentum = 0.9;
  f.optimizer = parse_attack_optimizer(root, sgd);
  f.epochs = root.get_positive_int("epochs", f.epochs);
  f.batch_size = root.get_positive_int("batch_size", f.batch_size);
  f.rebalance = root.get_bool("rebalance", f.rebalance);
  return a;
}

namespace {

// The fields every student-training attack shares: student, optimizer (Adam), epochs, batch.
template <typename A>
void parse_student_training(ConfigObject& root, A& attack, const std::string& kind) {
  attack.kind = kind;
  if (root.has("student")) {
    attack.has_student = true;
    attack.spec.student = parse_arch_spec(root.get_object("student"));
  }
  attack.spec.optimizer = parse_attack_optimizer(root, OptimizerSpec{});
  attack.spec.epochs = root.get_positive_int("epochs", attack.spec.epochs);
  attack.spec.batch_size = root.get_positive_int("batch_size", attack.spec.batch_size);
}

}  // namespace

std::unique_ptr<Attack> parse_distill_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = std::make_unique<DistillAttack>();
  parse_student_training(root, *a, "distill");
  a->spec.temperature = root.get_number("temperature", a->spec.temperature);
  if (!(a->spec.temperature > 0)) root.fail("temperature", "must be positive");
  return a;
}

std::unique_ptr<Attack> parse_extract_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = std::make_unique<ExtractAttack>();
  ExtractSpec& e = a->spec;
  parse_student_training(root, *a, "extract");
  e.queries = root.get_int("queries", e.queries);
  if (e.queries < 0) root.fail("queries", "must be 0 (all of the attacker's inputs) or positive");
  return a;
}

}  // namespace ds
