// ds-inspect: print a model's description, parameters and taps as JSON on stdout.
#include <iostream>

#include "core/tool.h"
#include "jobs/inspect_job.h"

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
        std::cout << ds::inspect_model(model_path, input_shape).dump(2) << std::endl;
        return ds::kExitOk;
      });
}
