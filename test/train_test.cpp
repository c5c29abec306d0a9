// Training loop and the ds-train job: learning, determinism, config errors, outputs.
#include "model/train.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "jobs/train_job.h"
#include "model/model_io.h"
#include "test_util.h"

namespace {

using ds::testing::TempDir;

// Writes a synthetic dataset as a torch.save-compatible tensor file and returns its path.
std::string write_tensor_dataset(const TempDir& dir, int64_t n, uint64_t seed) {
  ds::Dataset d = ds::testing::quadrant_dataset(n, seed, 1, 12);
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("x", d.images.clamp(0, 1));
  dict.insert("y", d.labels);
  auto bytes = torch::pickle_save(c10::IValue(dict));
  std::string path = dir.file("quad.pt");
  ds::write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
  return path;
}

ds::Json small_config(const std::string& data_path) {
  return ds::Json{{"model", {{"arch", "mlp"}, {"hidden", {32, 16}}}},
                  {"data", {{"format", "tensor"}, {"path", data_path}, {"holdout_fraction", 0.25}}},
                  {"optimizer", {{"name", "adam"}, {"lr", 0.003}}},
                  {"epochs", 3},
                  {"batch_size", 32},
                  {"seed", 4}};
}

TEST(Train, LearnsASeparableProblem) {
  TempDir dir;
  std::string data = write_tensor_dataset(dir, 400, 1);
  ds::TrainConfig c = ds::parse_train_config(small_config(data), "c.json");
  ds::DataSplits splits = ds::load_data(c.data);
  ds::TrainResult r = ds::train_model(c, splits);
  EXPECT_EQ(r.epochs.size(), 3u);
  EXPECT_GT(r.test_accuracy, 0.9);
  EXPECT_LT(r.epochs.back().loss, r.epochs.front().loss);
}

TEST(Train, SameSeedSameModelBytesOtherSeedOtherModel) {
  TempDir dir;
  std::string data = write_tensor_dataset(dir, 300, 2);
  auto run = [&](int64_t seed, const std::string& out) {
    ds::Json j = small_config(data);
    j["seed"] = seed;
    j["model"]["dropout"] = 0.3;  // exercises the dropout generator too
    ds::TrainJob job{ds::parse_train_config(j, "c.json"), "", dir.file(out), ""};
    ds::run_train_job(job);
    return ds::read_file(dir.file(out));
  };
  std::string a = run(4, "a.pt"), b = run(4, "b.pt"), c = run(5, "c.pt");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(TrainJob, WritesModelWithDescriptionAndReport) {
  TempDir dir;
  std::string data = write_tensor_dataset(dir, 200, 3);
  ds::TrainJob job{ds::parse_train_config(small_config(data), "c.json"), "", dir.file("m.pt"),
                   dir.file("r.json")};
  ds::TrainJobResult result = ds::run_train_job(job);
  ds::Json on_disk = ds::read_json_file(dir.file("r.json"));
  EXPECT_EQ(on_disk, result.report);  // the report returned is the one written
  EXPECT_EQ(result.summary().size(), 1u);
  EXPECT_EQ(on_disk["schema_version"], 1);
  EXPECT_EQ(on_disk["outputs"]["model"]["sha256"], ds::load_model(dir.file("m.pt")).sha256);
  EXPECT_EQ(on_disk["epochs"].size(), 3u);
  double acc = on_disk["test_accuracy"];
  EXPECT_GE(acc, 0.0);
  EXPECT_LE(acc, 1.0);
  EXPECT_GT(on_disk["peak_rss_mib"].get<double>(), 0.0);
  ds::LoadedModel m = ds::load_model(dir.file("m.pt"));
  EXPECT_EQ(m.info["input_shape"], ds::Json({1, 12, 12}));
  EXPECT_EQ(m.info["num_classes"], 4);
  EXPECT_EQ(m.info["provenance"][0]["tool"], "ds-train");
  EXPECT_FALSE(m.module.is_training());
}

TEST(TrainConfig, ErrorsNameTheField) {
  auto expect_error = [](ds::Json j, const std::string& needle) {
    try {
      ds::parse_train_config(j, "cfg.json");
      FAIL() << "accepted: " << j.dump();
    } catch (const ds::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
    }
  };
  ds::Json ok = small_config("d.pt");
  EXPECT_NO_THROW(ds::parse_train_config(ok, "cfg.json"));
  ds::Json j = ok;
  j["epochz"] = 3;
  expect_error(j, "unknown field 'epochz'");
  j = ok;
  j["epochs"] = "3";
  expect_error(j, "field 'epochs' must be an integer, got a string");
  j = ok;
  j["epochs"] = 2.5;
  expect_error(j, "field 'epochs' must be an integer, got a number");
  j = ok;
  j["optimizer"]["name"] = "adamw";
  expect_error(j, "field 'optimizer.name' must be one of sgd, adam, rmsprop");
  j = ok;
  j["optimizer"]["nesterov"] = true;
  expect_error(j, "field 'optimizer.nesterov' needs optimizer 'sgd'");
  j = ok;
  j["model"]["hidden"] = {32, -1};
  expect_error(j, "field 'model.hidden'");
  j = ok;
  j["model"] = "mlp";
  expect_error(j, "field 'model' must be an object");
}

TEST(TrainJob, BadDataLeavesNoOutput) {
  TempDir dir;
  ds::Json j = small_config(dir.file("missing.pt"));
  ds::TrainJob job{ds::parse_train_config(j, "c.json"), "", dir.file("m.pt"), dir.file("r.json")};
  EXPECT_THROW(ds::run_train_job(job), ds::InputError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.pt")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("r.json")));
}

TEST(Schedules, StepAndCosine) {
  ds::OptimizerSpec s;
  s.lr = 0.1;
  s.schedule = "step";
  s.step_size = 2;
  s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(ds::scheduled_lr(s, 0, 10), 0.1);
  EXPECT_DOUBLE_EQ(ds::scheduled_lr(s, 3, 10), 0.05);
  s.schedule = "cosine";
  EXPECT_DOUBLE_EQ(ds::scheduled_lr(s, 0, 10), 0.1);
  EXPECT_NEAR(ds::scheduled_lr(s, 5, 10), 0.05, 1e-12);
}

}  // namespace
