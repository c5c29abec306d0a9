// Zoo models are written as TorchScript source and compiled with Module::define, so no Python
// is needed to create them and the saved files load in both C++ and Python.
#include "model/zoo.h"

#include <cmath>
#include <sstream>

#include "core/errors.h"
#include "model/topology.h"

namespace ds {
namespace {

using torch::jit::Module;

// All classes of one model share a compilation unit so their qualified names cannot clash.
struct Builder {
  std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();
  std::string arch;

  Module make(const std::string& kind) {
    Module m(
        c10::QualifiedName("__torch__.deepsigns." + arch + "." + kind + std::to_string(count++)),
        cu, false);
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
  }
  int count = 0;
};

// PyTorch's default init for Linear and Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Module linear(Builder& b, int64_t in, int64_t out) {
  Module m = b.make("Linear");
  double bound = 1.0 / std::sqrt(double(in));
  m.register_parameter("weight", torch::empty({out, in}).uniform_(-bound, bound), false);
  m.register_parameter("bias", torch::empty({out}).uniform_(-bound, bound), false);
  return m;
}

Module conv(Builder& b, int64_t in, int64_t out, int64_t k, bool bias, bool he_fan_out) {
  Module m = b.make("Conv2d");
  double fan_in = double(in * k * k);
  torch::Tensor w = torch::empty({out, in, k, k});
  if (he_fan_out) {
    w.normal_(0.0, std::sqrt(2.0 / double(out * k * k)));
  } else {
    w.uniform_(-1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in));
  }
  m.register_parameter("weight", w, false);
  if (bias) {
    m.register_parameter(
        "bias", torch::empty({out}).uniform_(-1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in)),
        false);
  }
  return m;
}

Module batch_norm(Builder& b, int64_t channels) {
  Module m = b.make("BatchNorm2d");
  m.register_parameter("weight", torch::ones({channels}), false);
  m.register_parameter("bias", torch::zeros({channels}), false);
  m.register_buffer("running_mean", torch::zeros({channels}));
  m.register_buffer("running_var", torch::ones({channels}));
  m.register_buffer("num_batches_tracked", torch::zeros({}, torch::kInt64));
  return m;
}

std::string num(double v) {
  std::ostringstream ss;
  ss.precision(17);
  ss << v;
  std::string s = ss.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// TorchScript for a batch-norm call on submodule `name`, counting batches like PyTorch.
std::string bn_lines(const std::string& indent, const std::string& out, const std::string& in,
                     const std::string& name) {
  std::string s = "self." + name;
  return indent + "if self.training:\n" + indent + "    " + s + ".num_batches_tracked.add_(1)\n" +
         indent + out + " = torch.batch_norm(" + in + ", " + s + ".weight, " + s + ".bias, " + s +
         ".running_mean, " + s + ".running_var, self.training, 0.1, 1e-05, False)\n";
}

// Emits `taps` (recording activations) and `forward` (the same computation without records)
// from one body template in which the line "@TAP name var" marks a tap.
void define_taps_and_forward(Module& m, const std::string& body, const std::string& result) {
  std::istringstream in(body);
  std::string line, taps_body, fwd_body;
  while (std::getline(in, line)) {
    auto at = line.find("@TAP ");
    if (at != std::string::npos) {
      std::istringstream t(line.substr(at + 5));
      std::string name, var;
      t >> name >> var;
      taps_body += line.substr(0, at) + "out[\"" + name + "\"] = " + var + "\n";
    } else {
      taps_body += line + "\n";
      fwd_body += line + "\n";
    }
  }
  std::string src =
      "def taps(self, x: Tensor) -> Dict[str, Tensor]:\n"
      "    out: Dict[str, Tensor] = {}\n" +
      taps_body + "    out[\"logits\"] = " + result + "\n    return out\n\n" +
      "def forward(self, x: Tensor) -> Tensor:\n" + fwd_body + "    return " + result + "\n";
  m.define(src);
}

void register_normalisation(Module& m, const InputSpec& input) {
  int64_t c = input.shape.at(0);
  if (int64_t(input.mean.size()) != c || int64_t(input.std.size()) != c) {
    throw std::invalid_argument("normalisation needs one mean and std per channel");
  }
  m.register_buffer("input_mean", torch::tensor(input.mean, torch::kFloat32).reshape({1, c, 1, 1}));
  m.register_buffer("input_std", torch::tensor(input.std, torch::kFloat32).reshape({1, c, 1, 1}));
}

const std::string kIn = "    ";

// The dense layers fc1..fcK (ReLU, each a tap, dropout) and the classifier after them, reading
// `body`'s flattened h of `width`; then defines taps() and forward().
void add_dense_head(Builder& b, Module& m, const ArchSpec& a, const InputSpec& input, int64_t width,
                    std::string body) {
  int k = 1;
  for (int64_t hidden : a.hidden) {
    std::string name = dense_layer_name(k++);
    m.register_module(name, linear(b, width, hidden));
    body +=
        kIn + "h = torch.relu(torch.linear(h, self." + name + ".weight, self." + name + ".bias))\n";
    body += kIn + "@TAP " + name + " h\n";
    if (a.dropout > 0)
      body += kIn + "h = torch.dropout(h, " + num(a.dropout) + ", self.training)\n";
    width = hidden;
  }
  std::string last = dense_layer_name(k);
  m.register_module(last, linear(b, width, input.num_classes));
  define_taps_and_forward(m, body,
                          "torch.linear(h, self." + last + ".weight, self." + last + ".bias)");
}

Module build_mlp(Builder& b, const ArchSpec& a, const InputSpec& input) {
  Module m = b.make("MLP");
  register_normalisation(m, input);
  int64_t width = 1;
  for (int64_t d : input.shape) width *= d;
  std::string body = kIn + "h = torch.flatten((x - self.input_mean) / self.input_std, 1)\n";
  add_dense_head(b, m, a, input, width, body);
  return m;
}

Module build_cnn(Builder& b, const ArchSpec& a, const InputSpec& input) {
  Module m = b.make("CNN");
  register_normalisation(m, input);
  int64_t ch = input.shape[0], h = input.shape[1], w = input.shape[2];
  std::string body = kIn + "h = (x - self.input_mean) / self.input_std\n";
  int idx = 1;
  for (int64_t out : a.channels) {
    std::string c = conv_layer_name(idx), bn = batch_norm_name(idx);
    m.register_module(c, conv(b, ch, out, 3, !a.batch_norm, false));
    body += kIn + "h = torch.conv2d(h, self." + c + ".weight, " +
            (a.batch_norm ? std::string("None") : "self." + c + ".bias") + ", [1, 1], [1, 1])\n";
    if (a.batch_norm) {
      m.register_module(bn, batch_norm(b, out));
      body += bn_lines(kIn, "h", "h", bn);
    }
    body += kIn + "h = torch.relu(h)\n";
    body += kIn + "@TAP " + c + " h\n";
    body += kIn + "h = torch.max_pool2d(h, [2, 2])\n";
    ch = out;
    h /= 2;
    w /= 2;
    if (h < 1 || w < 1) throw std::invalid_argument("too many conv blocks for the input size");
    ++idx;
  }
  int64_t width = ch * h * w;
  body += kIn + "h = torch.flatten(h, 1)\n";
  add_dense_head(b, m, a, input, width, body);
  return m;
}

// Pre-activation wide residual block (Zagoruyko & Komodakis, 2016).
Module wrn_block(Builder& b, int64_t in, int64_t out, int64_t stride, double dropout) {
  Module m = b.make("WideBasic");
  m.register_module("bn1", batch_norm(b, in));
  m.register_module("conv1", conv(b, in, out, 3, false, true));
  m.register_module("bn2", batch_norm(b, out));
  m.register_module("conv2", conv(b, out, out, 3, false, true));
  bool project = in != out || stride != 1;
  if (project) m.register_module("shortcut", conv(b, in, out, 1, false, true));
  std::string s = std::to_string(stride);
  std::string src = "def forward(self, x: Tensor) -> Tensor:\n";
  src += bn_lines(kIn, "o", "x", "bn1");
  src += kIn + "o = torch.relu(o)\n";
  src += kIn + "y = torch.conv2d(o, self.conv1.weight, None, [" + s + ", " + s + "], [1, 1])\n";
  src += bn_lines(kIn, "y", "y", "bn2");
  src += kIn + "y = torch.relu(y)\n";
  if (dropout > 0) src += kIn + "y = torch.dropout(y, " + num(dropout) + ", self.training)\n";
  src += kIn + "y = torch.conv2d(y, self.conv2.weight, None, [1, 1], [1, 1])\n";
  if (project) {
    src += kIn + "return y + torch.conv2d(o, self.shortcut.weight, None, [" + s + ", " + s +
           "], [0, 0])\n";
  } else {
    src += kIn + "return y + x\n";
  }
  m.define(src);
  return m;
}

Module build_wrn(Builder& b, const ArchSpec& a, const InputSpec& input) {
  if (a.depth < 10 || (a.depth - 4) % 6 != 0) {
    throw std::invalid_argument("wrn depth must be 6n + 4 (10, 16, 22, 28, ...)");
  }
  int64_t n = (a.depth - 4) / 6;
  Module m = b.make("WideResNet");
  register_normalisation(m, input);
  std::vector<int64_t> widths = {16, 16 * a.widen, 32 * a.widen, 64 * a.widen};
  m.register_module("conv1", conv(b, input.shape[0], widths[0], 3, false, true));
  std::string body = kIn + "h = (x - self.input_mean) / self.input_std\n";
  body += kIn + "h = torch.conv2d(h, self.conv1.weight, None, [1, 1], [1, 1])\n";
  int64_t in = widths[0];
  for (int g = 1; g <= 3; ++g) {
    for (int64_t i = 0; i < n; ++i) {
      std::string name = "block" + std::to_string(g) + "_" + std::to_string(i);
      int64_t stride = (g > 1 && i == 0) ? 2 : 1;
      m.register_module(name, wrn_block(b, in, widths[g], stride, a.dropout));
      body += kIn + "h = self." + name + ".forward(h)\n";
      in = widths[g];
    }
    body += kIn + "@TAP block" + std::to_string(g) + " h\n";
  }
  m.register_module("bn1", batch_norm(b, in));
  body += bn_lines(kIn, "h", "h", "bn1");
  body += kIn + "h = torch.relu(h)\n";
  body += kIn + "h = torch.flatten(torch.adaptive_avg_pool2d(h, [1, 1]), 1)\n";
  body += kIn + "@TAP pool h\n";
  Module fc = b.make("Linear");
  fc.register_parameter("weight",
                        torch::empty({input.num_classes, in})
                            .uniform_(-1.0 / std::sqrt(double(in)), 1.0 / std::sqrt(double(in))),
                        false);
  fc.register_parameter("bias", torch::zeros({input.num_classes}), false);
  m.register_module("fc", fc);
  define_taps_and_forward(m, body, "torch.linear(h, self.fc.weight, self.fc.bias)");
  return m;
}

}  // namespace

ArchSpec parse_arch_spec(ConfigObject obj) {
  ArchSpec a;
  a.arch = obj.get_choice("arch", a.arch, {"mlp", "cnn", "wrn", "torchscript"});
  if (a.arch == "torchscript") {
    a.path = obj.get_string("path", "");
    if (a.path.empty()) obj.fail("path", "is required: the TorchScript model to train");
    obj.finish();
    return a;
  }
  if (a.arch == "cnn") a.hidden = {512};
  a.hidden = obj.get_int_list("hidden", a.hidden);
  for (int64_t h : a.hidden) {
    if (h <= 0) obj.fail("hidden", "widths must be positive");
  }
  if (a.arch == "mlp" && a.hidden.empty()) obj.fail("hidden", "needs at least one hidden layer");
  a.channels = obj.get_int_list("channels", a.channels);
  for (int64_t c : a.channels) {
    if (c <= 0) obj.fail("channels", "must be positive");
  }
  a.batch_norm = obj.get_bool("batch_norm", a.batch_norm);
  a.depth = obj.get_int("depth", a.depth);
  if (a.arch == "wrn" && (a.depth < 10 || (a.depth - 4) % 6 != 0)) {
    obj.fail("depth", "must be 6n + 4 (10, 16, 22, 28, ...)");
  }
  a.widen = obj.get_positive_int("widen", a.widen);
  a.dropout = obj.get_number("dropout", a.arch == "wrn" ? 0.0 : a.dropout);
  if (a.dropout < 0 || a.dropout >= 1) obj.fail("dropout", "must be in [0, 1)");
  obj.finish();
  return a;
}

Json arch_spec_to_json(const ArchSpec& a) {
  if (a.arch == "torchscript") return Json{{"arch", a.arch}, {"path", a.path}};
  Json j{{"arch", a.arch}, {"dropout", a.dropout}};
  if (a.arch == "mlp" || a.arch == "cnn") j["hidden"] = a.hidden;
  if (a.arch == "cnn") {
    j["channels"] = a.channels;
    j["batch_norm"] = a.batch_norm;
  }
  if (a.arch == "wrn") {
    j["depth"] = a.depth;
    j["widen"] = a.widen;
  }
  return j;
}

torch::jit::Module start_from(const LoadedModel& loaded, const InputSpec& input) {
  const std::string& path = loaded.path;
  torch::jit::Module model = clone_model(loaded.module);
  std::vector<int64_t> shape = {2};
  shape.insert(shape.end(), input.shape.begin(), input.shape.end());
  torch::Tensor logits;
  {
    c10::InferenceMode guard;
    model.eval();
    try {
      logits = model.forward({torch::zeros(shape)}).toTensor();
    } catch (const std::exception& e) {
      std::string what = e.what();
      fail_input(path, "does not run on the data's inputs of shape " + Json(input.shape).dump() +
                           " (" + what.substr(0, what.find('\n')) + ")");
    }
    if (logits.dim() != 2 || logits.size(1) != input.num_classes) {
      fail_input(path, "outputs shape " + Json(logits.sizes().vec()).dump() + ", the data has " +
                           std::to_string(input.num_classes) + " classes");
    }
    call_taps(model, torch::zeros(shape), path);
  }
  model.train();
  return model;
}

torch::jit::Module build_model(const ArchSpec& arch, const InputSpec& input, uint64_t seed) {
  if (input.shape.size() != 3) throw std::invalid_argument("input shape must be C, H, W");
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  Builder b;
  b.arch = arch.arch;
  if (arch.arch == "mlp") return build_mlp(b, arch, input);
  if (arch.arch == "cnn") return build_cnn(b, arch, input);
  if (arch.arch == "wrn") return build_wrn(b, arch, input);
  if (arch.arch == "torchscript") return start_from(load_model(arch.path), input);
  throw std::invalid_argument("unknown architecture '" + arch.arch + "'");
}

c10::Dict<std::string, torch::Tensor> call_taps(torch::jit::Module& model, const torch::Tensor& x,
                                                const std::string& model_path) {
  auto method = model.find_method("taps");
  if (!method) {
    fail_input(
        model_path,
        "model has no 'taps' method (see docs/METHOD.md: making your own PyTorch model usable)");
  }
  c10::IValue out = (*method)({x});
  if (!out.isGenericDict()) fail_input(model_path, "'taps' must return Dict[str, Tensor]");
  return c10::impl::toTypedDict<std::string, torch::Tensor>(out.toGenericDict());
}

std::vector<TapInfo> list_taps(torch::jit::Module& model, const std::vector<int64_t>& input_shape) {
  c10::InferenceMode guard;
  bool was_training = model.is_training();
  model.eval();
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  auto taps = call_taps(model, torch::zeros(shape), "model");
  model.train(was_training);
  std::vector<TapInfo> out;
  for (const auto& kv : taps) {
    TapInfo t;
    t.name = kv.key();
    auto s = kv.value().sizes();
    t.shape.assign(s.begin() + 1, s.end());
    t.width = kv.value().numel();
    out.push_back(t);
  }
  return out;
}

torch::Tensor layer_activations(torch::jit::Module& model, const torch::Tensor& x,
                                const std::string& layer, const std::string& model_path) {
  auto taps = call_taps(model, x, model_path);
  if (!taps.contains(layer)) {
    std::string names;
    for (const auto& kv : taps) names += (names.empty() ? "" : ", ") + kv.key();
    fail_input(model_path, "model has no tap '" + layer + "' (it has: " + names + ")");
  }
  return taps.at(layer).flatten(1);
}

void check_tap_width(const std::string& model_path, const std::string& layer, int64_t width,
                     int64_t expected) {
  if (width != expected) {
    fail_input(model_path, "tap '" + layer + "' has width " + std::to_string(width) +
                               ", the key expects " + std::to_string(expected));
  }
}

}  // namespace ds
