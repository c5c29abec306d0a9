// Training loop over TorchScript modules.
#include "model/train.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/errors.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "data/batch_stream.h"
#include "model/distributed.h"
#include "model/model_io.h"

namespace ds {

OptimizerSpec parse_optimizer_spec(ConfigObject obj) {
  OptimizerSpec s;
  s.name = obj.get_choice("name", s.name, {"sgd", "adam", "rmsprop"});
  s.lr = obj.get_number("lr", s.lr);
  if (!(s.lr > 0)) obj.fail("lr", "must be positive");
  s.momentum = obj.get_number("momentum", s.momentum);
  if (s.momentum < 0 || s.momentum >= 1) obj.fail("momentum", "must be in [0, 1)");
  s.nesterov = obj.get_bool("nesterov", s.nesterov);
  if (s.nesterov && (s.name != "sgd" || s.momentum == 0)) {
    obj.fail("nesterov", "needs optimizer 'sgd' with momentum > 0");
  }
  s.weight_decay = obj.get_number("weight_decay", s.weight_decay);
  if (s.weight_decay < 0) obj.fail("weight_decay", "must be >= 0");
  s.schedule = obj.get_choice("schedule", s.schedule, {"none", "step", "cosine"});
  s.step_size = obj.get_positive_int("step_size", s.step_size);
  s.gamma = obj.get_number("gamma", s.gamma);
  if (!(s.gamma > 0 && s.gamma <= 1)) obj.fail("gamma", "must be in (0, 1]");
  obj.finish();
  return s;
}

Json optimizer_spec_to_json(const OptimizerSpec& s) {
  return Json{{"name", s.name},       {"lr", s.lr},
              {"momentum", s.momentum}, {"nesterov", s.nesterov},
              {"weight_decay", s.weight_decay}, {"schedule", s.schedule},
              {"step_size", s.step_size}, {"gamma", s.gamma}};
}

void read_run_fields(ConfigObject& root, RunSettings& c) {
  c.batch_size = root.get_positive_int("batch_size", c.batch_size);
  c.seed = root.get_seed("seed", c.seed);
  c.threads = int(root.get_positive_int("threads", c.threads));
  root.finish();
}

void add_run_fields(const RunSettings& c, Json& j) {
  j["batch_size"] = c.batch_size;
  j["seed"] = c.seed;
  j["threads"] = c.threads;
}

TrainConfig parse_train_config(const Json& json, const std::string& file) {
  ConfigObject root(json, file);
  TrainConfig c;
  c.arch = parse_arch_spec(root.get_object("model"));
  c.data = parse_data_spec(root.get_object("data"));
  c.optimizer = parse_optimizer_spec(root.get_object("optimizer"));
  c.epochs = root.get_positive_int("epochs", c.epochs);
  c.eval_batch_size = root.get_positive_int("eval_batch_size", c.eval_batch_size);
  read_run_fields(root, c);
  return c;
}

Json train_config_to_json(const TrainConfig& c) {
  Json j{{"model", arch_spec_to_json(c.arch)}, {"data", data_spec_to_json(c.data)},
         {"optimizer", optimizer_spec_to_json(c.optimizer)}, {"epochs", c.epochs},
         {"eval_batch_size", c.eval_batch_size}};
  add_run_fields(c, j);
  return j;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& s,
                                                        const std::vector<torch::Tensor>& params) {
  if (s.name == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(s.lr).momentum(s.momentum).nesterov(s.nesterov)
                    .weight_decay(s.weight_decay));
  }
  if (s.name == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(s.lr).weight_decay(s.weight_decay));
  }
  if (s.name == "rmsprop") {
    // Keras' RMSprop (the authors' optimizer) uses rho 0.9 and eps 1e-7.
    return std::make_unique<torch::optim::RMSprop>(
        params, torch::optim::RMSpropOptions(s.lr).alpha(0.9).eps(1e-7).momentum(s.momentum)
                    .weight_decay(s.weight_decay));
  }
  throw std::invalid_argument("unknown optimizer " + s.name);
}

double scheduled_lr(const OptimizerSpec& s, int64_t epoch, int64_t total) {
  if (s.schedule == "step") return s.lr * std::pow(s.gamma, double(epoch / s.step_size));
  if (s.schedule == "cosine" && total > 1) {
    return 0.5 * s.lr * (1.0 + std::cos(M_PI * double(epoch) / double(total)));
  }
  return s.lr;
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

std::vector<torch::Tensor> trainable_parameters(const torch::jit::Module& model) {
  std::vector<torch::Tensor> out;
  for (auto p : model.parameters()) {
    p.requires_grad_(true);
    out.push_back(p);
  }
  return out;
}

double evaluate_accuracy(torch::jit::Module& model, const Dataset& data, int64_t batch_size) {
  if (data.size() == 0) return 0.0;
  c10::InferenceMode guard;
  bool was_training = model.is_training();
  model.eval();
  int64_t correct = 0;
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    int64_t len = std::min(batch_size, data.size() - start);
    auto logits = model.forward({data.images_range(start, len)}).toTensor();
    correct += logits.argmax(1).eq(data.labels.narrow(0, start, len)).sum().item<int64_t>();
  }
  model.train(was_training);
  return double(correct) / double(data.size());
}

Json epoch_stats_to_json(const EpochStats& s) {
  Json j{{"epoch", s.epoch},
         {"loss", s.loss},
         {"train_accuracy", s.train_accuracy},
         {"lr", s.lr},
         {"seconds", s.seconds},
         {"samples_per_second", s.samples_per_second}};
  if (s.test_accuracy >= 0) j["test_accuracy"] = s.test_accuracy;
  if (s.comm_seconds >= 0) {
    j["communication_seconds"] = s.comm_seconds;
    j["communication_share"] = s.seconds > 0 ? s.comm_seconds / s.seconds : 0.0;
  }
  if (s.data_wait_seconds >= 0) {
    j["data_wait_seconds"] = s.data_wait_seconds;
    j["data_wait_share"] = s.seconds > 0 ? s.data_wait_seconds / s.seconds : 0.0;
    j["samples_loaded"] = s.samples_loaded;
    if (s.loader_seconds > 0) j["samples_per_loader_second"] = double(s.samples_loaded) / s.loader_seconds;
  }
  return j;
}

namespace {

// The per-batch work of run_epoch that compare_step_seconds times too: loss, gradients, and
// the loss and the number of correct predictions read back.
struct StepResult {
  double loss = 0;
  int64_t correct = 0;
};
StepResult forward_backward(const StepFn& step, const torch::Tensor& x, const torch::Tensor& y,
                            const BatchShard& shard) {
  StepOutput out = step(x, y, shard);
  out.loss.backward();
  return {out.loss.item<double>(), out.logits.argmax(1).eq(y).sum().item<int64_t>()};
}

}  // namespace

EpochStats run_epoch(torch::jit::Module& model,
                     const std::vector<torch::optim::Optimizer*>& optimizers,
                     const Dataset& data, int64_t batch_size, uint64_t order_seed,
                     const StepFn& step, const std::string& label) {
  Stopwatch clock;
  const double comm_before = communication_seconds();
  const int64_t loaded_before = data.streamed() ? data.stream->loaded() : 0;
  model.train(true);
  std::vector<torch::Tensor> params;
  for (auto* o : optimizers) {
    for (auto& group : o->param_groups()) {
      for (auto& p : group.params()) params.push_back(p);
    }
  }
  std::vector<int64_t> order = seeded_permutation(data.size(), order_seed);
  torch::Tensor order_t = torch::from_blob(order.data(), {int64_t(order.size())}, torch::kInt64);
  int64_t batches = (data.size() + batch_size - 1) / batch_size;
  // Each global batch and this process's share of it (loaded ahead when streamed).
  std::vector<torch::Tensor> global_idx, mine_idx;
  for (int64_t b = 0; b < batches; ++b) {
    int64_t start = b * batch_size, len = std::min(batch_size, data.size() - start);
    Slice mine = batch_slice(len);
    global_idx.push_back(order_t.narrow(0, start, len));
    mine_idx.push_back(global_idx.back().narrow(0, mine.offset, mine.size));
  }
  std::vector<torch::Tensor> to_load;
  for (const auto& idx : mine_idx) {
    if (idx.numel() > 0) to_load.push_back(idx);
  }
  BatchStream stream(data, to_load, data.streamed() ? data.stream->loader_threads : 0,
                     data.streamed() ? data.stream->prefetch_batches : 1);
  Progress progress(label, batches);
  double loss_sum = 0, correct = 0;
  for (int64_t b = 0; b < batches; ++b) {
    const torch::Tensor& idx = mine_idx[size_t(b)];
    const int64_t len = global_idx[size_t(b)].numel();
    for (auto* o : optimizers) o->zero_grad();
    double loss = 0;
    if (idx.numel() > 0) {
      torch::Tensor x = stream.next();
      torch::Tensor y = data.labels.index_select(0, idx);
      BatchShard shard{len, 1.0 / double(world_size()),
                       distributed() ? data.labels.index_select(0, global_idx[size_t(b)]) : y};
      StepResult r = forward_backward(step, x, y, shard);
      loss = r.loss;
      correct += double(r.correct);
    }
    allreduce_gradients(params);
    for (auto* o : optimizers) o->step();
    if (!std::isfinite(loss)) {
      throw std::runtime_error("training diverged (loss is " + std::to_string(loss) +
                               "); lower the learning rate");
    }
    loss_sum += loss * double(len);
    progress.update(b + 1, "loss " + std::to_string(loss).substr(0, 6));
  }
  progress.finish();
  if (distributed()) {
    std::vector<double> totals = allreduce_sum({loss_sum, correct});
    loss_sum = totals[0], correct = totals[1];
    std::vector<torch::Tensor> buffers;
    for (auto buf : model.buffers()) buffers.push_back(buf);
    broadcast_from_writer(buffers);
  }
  EpochStats s;
  s.loss = loss_sum / double(data.size());
  s.train_accuracy = correct / double(data.size());
  s.lr = optimizers.front()->param_groups().front().options().get_lr();
  s.seconds = clock.seconds();
  s.samples_per_second = double(data.size()) / s.seconds;
  if (data.streamed()) {
    s.data_wait_seconds = stream.wait_seconds();
    s.samples_loaded = data.stream->loaded() - loaded_before;
    s.loader_seconds = stream.load_seconds();
  }
  if (distributed()) s.comm_seconds = communication_seconds() - comm_before;
  return s;
}

StepFn cross_entropy_step(torch::jit::Module& model) {
  return [&model](const torch::Tensor& x, const torch::Tensor& y, const BatchShard& shard) {
    torch::Tensor logits = model.forward({x}).toTensor();
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    return StepOutput{loss / double(shard.global_size), logits};
  };
}

StepFn soft_label_step(torch::jit::Module& teacher, torch::jit::Module& student,
                       double temperature) {
  const double t = temperature;
  return [&teacher, &student, t](const torch::Tensor& x, const torch::Tensor&,
                                 const BatchShard& shard) {
    torch::Tensor soft;
    {
      torch::NoGradGuard no_grad;
      soft = torch::softmax(teacher.forward({x}).toTensor() / t, 1);
    }
    torch::Tensor logits = student.forward({x}).toTensor();
    torch::Tensor loss = torch::kl_div(torch::log_softmax(logits / t, 1), soft,
                                       at::Reduction::Sum) *
                         (t * t / double(shard.global_size));
    return StepOutput{loss, logits};
  };
}

StepTimes compare_step_seconds(const StepSetup& a, const StepSetup& b, const Dataset& data,
                               int64_t batch_size, uint64_t order_seed, int64_t steps_each,
                               int64_t block) {
  if (distributed()) throw std::logic_error("compare_step_seconds runs in one process");
  std::vector<int64_t> order = seeded_permutation(data.size(), order_seed);
  torch::Tensor order_t = torch::from_blob(order.data(), {int64_t(order.size())}, torch::kInt64);
  const int64_t batches = std::max<int64_t>(1, data.size() / batch_size);
  auto timed_step = [&](const StepSetup& s, int64_t b) {
    torch::Tensor idx = order_t.narrow(0, (b % batches) * batch_size,
                                       std::min(batch_size, data.size()));
    torch::Tensor x = data.images_at(idx);
    torch::Tensor y = data.labels.index_select(0, idx);
    BatchShard shard{y.size(0), 1.0, y};
    Stopwatch clock;
    for (auto* o : s.optimizers) o->zero_grad();
    forward_backward(s.step, x, y, shard);
    for (auto* o : s.optimizers) o->step();
    return clock.seconds();
  };
  a.model->train(true);
  b.model->train(true);
  std::vector<double> ta, tb;
  for (int64_t done = 0, round = 0; done < steps_each; done += block, ++round) {
    const int64_t n = std::min(block, steps_each - done);
    for (int pass = 0; pass < 2; ++pass) {
      const bool a_now = (pass == 0) == (round % 2 == 0);
      for (int64_t i = 0; i < n; ++i) {
        double t = timed_step(a_now ? a : b, done + i);
        (a_now ? ta : tb).push_back(t);
      }
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  return StepTimes{median(ta), median(tb), steps_each};
}

namespace {

// The input statistics of the training set. Streamed across ranks, each reads a share of the
// samples and the sums are added up, so no rank reads the whole set.
ChannelStats training_stats(const Dataset& train) {
  if (!train.streamed() || !distributed()) return channel_stats(train);
  ChannelSums mine = channel_sums(train, rank(), world_size());
  std::vector<double> both = mine.sum;
  both.insert(both.end(), mine.sumsq.begin(), mine.sumsq.end());
  both = allreduce_sum(both);
  const size_t c = mine.sum.size();
  ChannelSums all{{both.begin(), both.begin() + long(c)}, {both.begin() + long(c), both.end()}};
  return channel_stats(train, all);
}

}  // namespace

TrainResult train_model(const TrainConfig& config, const DataSplits& data) {
  TrainResult r;
  r.input.shape = data.train.sample_shape();
  r.input.num_classes = data.train.num_classes;
  // A user's model normalises its inputs its own way and its file says how; the statistics
  // (a full pass over the training set) are measured only where nothing says it.
  std::optional<LoadedModel> start;
  Json norm = Json::object();
  if (config.arch.arch == "torchscript") {
    start = load_model(config.arch.path);
    norm = start->info.value("normalization", Json::object());
  }
  if (!norm.contains("mean") || !norm.contains("std")) {
    ChannelStats stats = training_stats(data.train);
    r.input.mean = stats.mean;
    r.input.std = stats.std;
  }
  r.input.mean = norm.value("mean", r.input.mean);
  r.input.std = norm.value("std", r.input.std);
  try {
    if (start) {
      r.model = start_from(*start, r.input);
      r.starting_model = Json{{"path", start->path}, {"sha256", start->sha256}};
    } else {
      r.model = build_model(config.arch, r.input, mix_seed(config.seed, 1));
    }
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("model: ") + e.what());
  }
  // Dropout draws from torch's global generator; seed it from the training seed.
  seed_training_generator(mix_seed(config.seed, 2));
  auto optimizer = make_optimizer(config.optimizer, trainable_parameters(r.model));
  StepFn step = cross_entropy_step(r.model);
  for (int64_t e = 0; e < config.epochs; ++e) {
    set_lr(*optimizer, scheduled_lr(config.optimizer, e, config.epochs));
    std::string label = "epoch " + std::to_string(e + 1) + "/" + std::to_string(config.epochs);
    EpochStats s = run_epoch(r.model, {optimizer.get()}, data.train, config.batch_size,
                             mix_seed(config.seed, 100 + uint64_t(e)), step, label);
    s.epoch = e + 1;
    s.test_accuracy = evaluate_accuracy(r.model, data.test, config.eval_batch_size);
    r.train_seconds += s.seconds;
    spdlog::info("{}: loss {:.4f}  train acc {:.4f}  test acc {:.4f}  {:.0f} samples/s", label,
                 s.loss, s.train_accuracy, s.test_accuracy, s.samples_per_second);
    r.epochs.push_back(s);
  }
  r.model.eval();
  r.test_accuracy = r.epochs.empty() ? evaluate_accuracy(r.model, data.test, config.eval_batch_size)
                                     : r.epochs.back().test_accuracy;
  return r;
}

}  // namespace ds
