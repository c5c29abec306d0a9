// Builds the exported white-box loss module (see loss_export.h).
#include "watermark/loss_export.h"

#include "core/errors.h"

namespace ds {

namespace {

// Mirrors whitebox_embed_step and centre_terms (which hand-differentiates the same terms):
// pull of the carriers' activations (divided by `scale`, or with activation_scale "batch" by
// the norm of their mean in this batch) to their class centres, separation of
// each present class's centre from its nearest other, unit norm, and the payload BCE of every
// carrier present in the batch, with the margin's logit shift; with payload_on
// "centres_and_activations" also a hinge on each carrier's mean (scaled) activation in the batch:
// each bit's projection on the right side by at least 1 (about one standard deviation of a
// random unit vector's projection), and no pull beyond, so the task keeps the features.
const char* const kLossSource = R"(
def forward(self, taps: Dict[str, Tensor], labels: Tensor) -> Tensor:
    f = taps[self.layer].flatten(1)
    centres = self.centres
    if self.nonnegative:
        centres = torch.clamp(centres, 0.0)
    batch = float(labels.size(0))
    counts = torch.bincount(labels, minlength=self.num_classes).to(f.dtype)
    if self.pull_all_classes:
        rows = torch.arange(labels.size(0), device=labels.device)
    else:
        rows = torch.nonzero(torch.index_select(self.is_carrier, 0, labels)).squeeze(1)
    fc = torch.index_select(f, 0, rows)
    scale = self.scale
    if self.batch_scale and rows.size(0) > 0:
        scale = float(torch.clamp(torch.norm(torch.mean(fc.detach(), 0)), 1e-6))
    fc = fc / scale
    target = torch.index_select(centres, 0, torch.index_select(labels, 0, rows))
    pull = 0.5 * torch.sum((fc - target) * (fc - target))
    if self.pull_mean:
        pull = pull / batch
    unit = centres / torch.clamp(torch.norm(centres, 2, 1, True), 1e-12)
    eye = torch.eye(self.num_classes, dtype=unit.dtype, device=unit.device)
    nearest = torch.amax(torch.mm(unit, unit.t()) - 3.0 * eye, [1])
    separation = torch.sum(counts / batch * torch.relu(nearest))
    norm = torch.sum(torch.abs(1.0 - torch.sum(centres * centres, 1)))
    z = torch.mm(torch.index_select(centres, 0, self.carriers), self.projection) - self.margin_shift
    bce = torch.relu(z) - z * self.bits + torch.log1p(torch.exp(-torch.abs(z)))
    present = (torch.index_select(counts, 0, self.carriers) > 0).to(z.dtype)
    payload = torch.sum(torch.sum(bce, 1) * present)
    if self.payload_activations:
        rows_labels = torch.index_select(labels, 0, rows)
        for i in range(self.carriers.size(0)):
            own = torch.nonzero(torch.eq(rows_labels, self.carriers[i])).squeeze(1)
            if own.size(0) > 0:
                mean = torch.mean(torch.index_select(fc, 0, own), 0, True)
                signs = 2.0 * self.bits[i:i + 1] - 1.0
                za = torch.mm(mean, self.projection) * signs
                payload = payload + torch.mean(torch.relu(1.0 - za))
    return self.lambda1 * (pull + separation + norm) + self.lambda2 * payload
)";

}  // namespace

torch::jit::Module make_whitebox_loss(const WhiteboxKey& key, const WhiteboxEmbedConfig& config,
                                      int64_t num_classes, const EmbedCentres& start) {
  if (config.pull_noise > 0) {
    throw InputError("whitebox.pull_noise cannot be exported: it recomputes the marked layer "
                     "from the model's weights, which the loss does not hold (set it to 0 in the "
                     "embedding config)");
  }
  if (config.harden.enabled()) {
    throw InputError("whitebox.harden cannot be exported: it rescales weights after training "
                     "(remove it from the embedding config)");
  }
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module m(c10::QualifiedName("__torch__.deepsigns.WatermarkLoss"), cu, false);
  m.register_attribute("training", c10::BoolType::get(), true);
  torch::NoGradGuard no_grad;
  // Trainable in the user's optimizer: saved with requires_grad set.
  m.register_parameter("centres", start.centres.detach().clone().contiguous().requires_grad_(true),
                       false);
  m.register_buffer("projection", key.projection.to(torch::kFloat32).contiguous());
  torch::Tensor bits = key.bits.to(torch::kFloat32).contiguous();
  m.register_buffer("bits", bits);
  m.register_buffer("margin_shift", ((2.0 * bits - 1.0) * config.margin).contiguous());
  m.register_buffer("carriers", torch::tensor(key.carriers, torch::kInt64));
  torch::Tensor is_carrier = torch::zeros({num_classes}, torch::kBool);
  for (int64_t c : key.carriers) is_carrier[c] = true;
  m.register_buffer("is_carrier", is_carrier);
  m.register_attribute("layer", c10::StringType::get(), key.layer);
  m.register_attribute("num_classes", c10::IntType::get(), num_classes);
  m.register_attribute("scale", c10::FloatType::get(), start.scale);
  m.register_attribute("batch_scale", c10::BoolType::get(), config.activation_scale == "batch");
  m.register_attribute("nonnegative", c10::BoolType::get(), start.clamp);
  m.register_attribute("payload_activations", c10::BoolType::get(),
                       config.payload_on == "centres_and_activations");
  m.register_attribute("pull_mean", c10::BoolType::get(), config.pull_reduction == "mean");
  m.register_attribute("pull_all_classes", c10::BoolType::get(), config.pull_classes == "all");
  m.register_attribute("lambda1", c10::FloatType::get(), config.lambda1);
  m.register_attribute("lambda2", c10::FloatType::get(), config.lambda2);
  // The centres' own learning rate (Adam in ds-embed-wm), for the user's optimizer.
  m.register_attribute("centre_lr", c10::FloatType::get(), config.centre_lr);
  m.define(kLossSource);
  return m;
}

Json whitebox_loss_description(const WhiteboxKey& key, const WhiteboxEmbedConfig& config,
                               const EmbedCentres& start) {
  return Json{{"format", "deepsigns-whitebox-loss"},
              {"format_version", 1},
              {"layer", key.layer},
              {"layer_width", key.layer_width},
              {"carriers", key.carriers},
              {"total_bits", key.total_bits()},
              {"scale", start.scale},
              {"centre_init", config.centre_init},
              {"whitebox", whitebox_embed_config_to_json(config)["whitebox"]},
              {"usage", "loss = cross_entropy + wm(model.taps(x), y); optimise wm.parameters() "
                        "(the centres) at wm.centre_lr beside the model's"}};
}

}  // namespace ds
