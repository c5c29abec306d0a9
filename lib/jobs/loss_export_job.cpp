// ds-gen-keys --export-loss: the white-box loss module for a key, saved with its description.
#include "jobs/loss_export_job.h"

#include "core/errors.h"
#include "core/files.h"
#include "core/report.h"
#include "data/data_spec.h"
#include "model/zoo.h"
#include "watermark/loss_export.h"
#include "watermark/whitebox_embed.h"

namespace ds {

Json write_whitebox_loss(const OwnerKey& key, const std::string& key_path, LoadedModel& model,
                         const std::string& embed_config_path, const std::string& out_path) {
  if (!key.whitebox) fail_input(key_path, "key has no white-box part: no loss to export");
  if (embed_config_path.empty()) {
    throw InputError("--export-loss needs --embed-config (the white-box embedding config whose "
                     "weights the loss uses)");
  }
  WhiteboxEmbedConfig config =
      parse_whitebox_embed_config(read_json_file(embed_config_path), embed_config_path);
  const WhiteboxKey& w = *key.whitebox;
  DataSplits data = load_data(config.data);
  if (data.train.num_classes != key.num_classes || data.train.sample_shape() != key.input_shape) {
    fail_input(embed_config_path, "data (field 'data') differs from the key's input shape or "
                                  "classes");
  }
  // Checks the tap exists with the key's width before anything is written.
  torch::Tensor probe = w.triggers.narrow(0, 0, 1);
  check_tap_width(model.path, w.layer,
                  layer_activations(model.module, probe, w.layer, model.path).size(1),
                  w.layer_width);
  EmbedCentres start = initial_centres(model.module, w, data, model.path, config);
  torch::jit::Module loss = make_whitebox_loss(w, config, key.num_classes, start);
  Json info = whitebox_loss_description(w, config, start);
  info["key_sha256"] = key.sha256;
  save_model(loss, info, out_path);
  Json entry = file_entry(out_path);
  entry["embed_config"] = file_entry(embed_config_path);
  entry["scale"] = start.scale;
  return entry;
}

}  // namespace ds
