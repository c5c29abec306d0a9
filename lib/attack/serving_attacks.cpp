// Input filters in front of a served model, and their registry entry.
#include "attack/serving_attacks.h"

#include "core/errors.h"
#include "model/model_io.h"

namespace ds {
namespace {

// The filter as TorchScript: the body of `pre(self, x)`, ending in `return`.
std::string filter_source(const InputFilter& f) {
  const std::string k = std::to_string(f.size), p = std::to_string(f.size / 2);
  if (f.kind == "smooth") {
    return "    return torch.avg_pool2d(x, [" + k + ", " + k + "], [1, 1], [" + p + ", " + p +
           "], False, False)\n";
  }
  if (f.kind == "median") {
    return "    xp = torch.constant_pad_nd(x, [" + p + ", " + p + ", " + p + ", " + p +
           "], 0.0)\n" + "    windows = xp.unfold(2, " + k + ", 1).unfold(3, " + k +
           ", 1).flatten(4)\n" + "    return torch.median(windows, 4)[0]\n";
  }
  const std::string levels = std::to_string((int64_t(1) << f.bits) - 1) + ".0";
  return "    return torch.round(x * " + levels + ") / " + levels + "\n";
}

struct PreprocessAttack : Attack {
  InputFilter filter;
  AttackResult apply(const AttackInputs& in) const override {
    return {serve_behind_filter(in.model.module, filter), in.model.info,
            Json{{"filter", filter.kind}, {"size", filter.size}, {"bits", filter.bits}}};
  }
};

}  // namespace

torch::jit::Module serve_behind_filter(const torch::jit::Module& model, const InputFilter& f) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module served(c10::QualifiedName("__torch__.deepsigns.served.Served"), cu, false);
  served.register_attribute("training", c10::BoolType::get(), false);
  served.register_module("inner", clone_model(model));
  served.define("def pre(self, x: Tensor) -> Tensor:\n" + filter_source(f) +
                "\n"
                "def forward(self, x: Tensor) -> Tensor:\n"
                "    return self.inner.forward(self.pre(x))\n"
                "\n"
                "def taps(self, x: Tensor) -> Dict[str, Tensor]:\n"
                "    return self.inner.taps(self.pre(x))\n");
  served.eval();
  return served;
}

std::unique_ptr<Attack> parse_preprocess_attack(ConfigObject& root, const Json&,
                                                const AttackSpec&) {
  auto a = std::make_unique<PreprocessAttack>();
  InputFilter& f = a->filter;
  f.kind = root.get_choice("filter", f.kind, {"smooth", "median", "bits"});
  f.size = root.get_positive_int("size", f.size);
  if (f.size % 2 == 0 || f.size > 15) root.fail("size", "must be odd and at most 15");
  f.bits = root.get_positive_int("bits", f.bits);
  if (f.bits > 8) root.fail("bits", "must be in 1..8");
  return a;
}

}  // namespace ds
