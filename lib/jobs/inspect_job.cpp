// Inspection job: what a model file holds.
#include "jobs/inspect_job.h"

#include "model/model_io.h"
#include "model/zoo.h"

namespace ds {

Json inspect_model(const std::string& model_path, const std::vector<int64_t>& input_shape) {
  LoadedModel m = load_model(model_path);
  std::vector<int64_t> shape = input_shape.empty() ? m.input_shape() : input_shape;
  Json params = Json::array();
  int64_t count = 0;
  for (const auto& p : m.module.named_parameters()) {
    params.push_back({{"name", p.name}, {"shape", p.value.sizes().vec()}});
    count += p.value.numel();
  }
  Json taps = Json::array();
  for (const auto& t : list_taps(m.module, shape)) {
    taps.push_back({{"name", t.name}, {"shape", t.shape}, {"width", t.width}});
  }
  return Json{{"model", m.path},      {"sha256", m.sha256},       {"input_shape", shape},
              {"parameters", params}, {"parameter_count", count}, {"taps", taps},
              {"info", m.info}};
}

}  // namespace ds
