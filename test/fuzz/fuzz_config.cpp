// JSON configs: the file is read as the tools read it, then checked by every config parser
// (the first byte picks which: training, white-box or black-box embedding, attack, sweep).
#include "attack/registry.h"
#include "attack/sweep_plan.h"
#include "core/config.h"
#include "fuzz_common.h"
#include "jobs/sweep_job.h"
#include "model/train.h"
#include "watermark/blackbox.h"
#include "watermark/whitebox_embed.h"
#include "watermark/whitebox_extract.h"
#include "watermark/whitebox_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string path = ds::fuzz::write_input(data + 1, size - 1, "config.json");
  return ds::fuzz::run_reader([&] {
    ds::Json json = ds::read_json_file(path);
    switch (data[0] % 5) {
      case 0: ds::parse_train_config(json, path); break;
      case 1: ds::parse_whitebox_embed_config(json, path); break;
      case 2: ds::parse_blackbox_embed_config(json, path); break;
      case 3: ds::parse_attack_spec(json, path); break;
      default: ds::plan_sweep(json, path); break;
    }
  });
}
