// Weight shifting followed by soft-label fine-tuning, and its registry entry.
#include "attack/weight_shift_attack.h"

#include <ATen/CPUGeneratorImpl.h>

#include "attack/training_attacks.h"
#include "attack/weight_attacks.h"
#include "core/errors.h"
#include "core/runtime.h"
#include "model/model_io.h"
#include "model/topology.h"

namespace ds {

torch::jit::Module shift_weights(const torch::jit::Module& model, double mean_shift, double noise,
                                 uint64_t seed, std::vector<std::string>* shifted) {
  if (!(noise >= 0)) throw InputError("weight shift noise must be >= 0");
  torch::jit::Module out = clone_model(model);
  torch::NoGradGuard no_grad;
  const std::string classifier = last_dense_layer(out) + ".weight";
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 73));
  for (const auto& name : attackable_weights(out)) {
    if (name == classifier) continue;
    torch::Tensor w = require_tensor(out, name);
    const double sd = w.numel() > 1 ? w.std().item<double>() : 0.0;
    torch::Tensor shift = w.mean(0, true) * mean_shift;
    w.sub_(shift + torch::randn(w.sizes(), gen, w.scalar_type()) * (noise * sd));
    if (shifted) shifted->push_back(name);
  }
  return out;
}

namespace {

// The SoK toolbox's settings: lambda 1.5 and 1.0, 10 epochs of SGD with Nesterov momentum 0.9.
// Its learning rate of 0.1 diverges on the zoo MLP; 0.01 does not.
struct WeightShiftAttack : Attack {
  double mean_shift = 1.5;
  double noise = 1.0;
  double temperature = 1.0;  // of the soft labels the model is fine-tuned on
  OptimizerSpec optimizer;
  int64_t epochs = 10;
  int64_t batch_size = 64;

  AttackResult apply(const AttackInputs& in) const override {
    std::vector<std::string> shifted;
    torch::jit::Module teacher = clone_model(in.model.module);
    AttackResult r{shift_weights(in.model.module, mean_shift, noise, in.spec.seed, &shifted),
                   in.model.info, Json::object()};
    std::vector<EpochStats> stats =
        train_on_soft_labels(teacher, r.model, temperature, optimizer, epochs, batch_size,
                             *in.attacker, in.spec.seed, "shift-tune");
    r.details["shifted"] = shifted;
    r.details["epochs"] = Json::array();
    for (const auto& e : stats) r.details["epochs"].push_back(epoch_stats_to_json(e));
    return r;
  }
};

}  // namespace

std::unique_ptr<Attack> parse_weight_shift_attack(ConfigObject& root, const Json&,
                                                  const AttackSpec&) {
  auto a = std::make_unique<WeightShiftAttack>();
  a->mean_shift = root.get_number("mean_shift", a->mean_shift);
  a->noise = root.get_number("noise", a->noise);
  if (!(a->noise >= 0)) root.fail("noise", "must be >= 0");
  a->temperature = root.get_number("temperature", a->temperature);
  if (!(a->temperature > 0)) root.fail("temperature", "must be positive");
  OptimizerSpec sgd;
  sgd.name = "sgd";
  sgd.lr = 0.01;
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  a->optimizer = parse_attack_optimizer(root, sgd);
  a->epochs = root.get_positive_int("epochs", a->epochs);
  a->batch_size = root.get_positive_int("batch_size", a->batch_size);
  return a;
}

}  // namespace ds
