// ds-inspect: print a model's description, parameters and taps as JSON on stdout.
#include <iostream>

#include "model_io.h"
#include "tool.h"
#include "zoo.h"

int main(int argc, char** argv) {
  std::string model_path;
  std::vector<int64_t> input_shape;
  return ds::run_tool(
      argc, argv, "ds-inspect", "Describe a model: architecture, parameters and taps.",
      [&](CLI::App& app) {
        app.add_option("model", model_path, "TorchScript model (.pt)")->required();
        app.add_option("--input-shape", input_shape,
                       "C H W, for models that do not record their input shape")
            ->expected(3);
      },
      [&] {
        ds::LoadedModel m = ds::load_model(model_path);
        std::vector<int64_t> shape = input_shape.empty() ? m.input_shape() : input_shape;
        ds::Json params = ds::Json::array();
        int64_t count = 0;
        for (const auto& p : m.module.named_parameters()) {
          params.push_back({{"name", p.name}, {"shape", p.value.sizes().vec()}});
          count += p.value.numel();
        }
        ds::Json taps = ds::Json::array();
        for (const auto& t : ds::list_taps(m.module, shape)) {
          taps.push_back({{"name", t.name}, {"shape", t.shape}, {"width", t.width}});
        }
        ds::Json out{{"model", m.path},         {"sha256", m.sha256},  {"input_shape", shape},
                     {"parameters", params},    {"parameter_count", count},
                     {"taps", taps},            {"info", m.info}};
        std::cout << out.dump(2) << std::endl;
        return ds::kExitOk;
      });
}
