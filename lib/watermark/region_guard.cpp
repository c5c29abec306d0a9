// The guard module that serves a model with the keyed-region answers.
#include "watermark/region_guard.h"

#include "model/model_io.h"

namespace ds {

namespace {

const char* const kGuardType = "__torch__.deepsigns.guard.Guarded";

// Same rule as region_of (first region hit wins), then the swap of top and target logits.
const char* const kGuardSource = R"(
def forward(self, x: Tensor) -> Tensor:
    logits = self.inner.forward(x)
    p = torch.matmul(torch.flatten(x, 1) - self.region_centre, torch.t(self.region_directions))
    hit = torch.gt(p, self.region_thresholds)
    first = torch.argmax(torch.mul(hit.long(), self.region_priority), 1)
    inside = torch.any(hit, 1)
    target = torch.unsqueeze(torch.index_select(self.region_targets, 0, first), 1)
    top = torch.unsqueeze(torch.argmax(logits, 1), 1)
    swapped = torch.scatter(logits, 1, top, torch.gather(logits, 1, target))
    swapped = torch.scatter(swapped, 1, target, torch.gather(logits, 1, top))
    return torch.where(torch.unsqueeze(inside, 1), swapped, logits)

def taps(self, x: Tensor) -> Dict[str, Tensor]:
    return self.inner.taps(x)
)";

}  // namespace

torch::jit::Module guard_model(const torch::jit::Module& model, const RegionKey& key) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module g(c10::QualifiedName(kGuardType), cu, false);
  g.register_attribute("training", c10::BoolType::get(), false);
  g.register_module("inner", clone_model(model));
  int64_t k = key.regions();
  g.register_buffer("region_centre", key.centre.clone());
  g.register_buffer("region_directions", key.directions.clone());
  g.register_buffer("region_thresholds", key.thresholds.clone());
  g.register_buffer("region_targets", key.targets.clone());
  g.register_buffer("region_priority", torch::arange(k, 0, -1, torch::kInt64));
  g.define(kGuardSource);
  g.eval();
  return g;
}

bool is_guarded(const torch::jit::Module& model) {
  return model.type()->name() && model.type()->name()->qualifiedName() == kGuardType;
}

}  // namespace ds
