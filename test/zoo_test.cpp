// Model zoo: shapes, taps, parameter names, TorchScript save/load, Python interoperability.
#include "model/zoo.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/errors.h"
#include "core/files.h"
#include "model/model_io.h"
#include "test_util.h"

namespace {

using ds::testing::TempDir;

ds::InputSpec input(int64_t c, int64_t side, int64_t classes) {
  return ds::InputSpec{{c, side, side}, classes, std::vector<double>(size_t(c), 0.5),
                       std::vector<double>(size_t(c), 0.25)};
}

std::vector<std::string> tap_names(torch::jit::Module& m, const std::vector<int64_t>& shape) {
  std::vector<std::string> out;
  for (const auto& t : ds::list_taps(m, shape)) out.push_back(t.name);
  return out;
}

TEST(Zoo, MlpShapesTapsAndNames) {
  ds::ArchSpec a;
  auto m = ds::build_model(a, input(1, 28, 10), 1);
  EXPECT_EQ(tap_names(m, {1, 28, 28}), (std::vector<std::string>{"fc1", "fc2", "logits"}));
  auto taps = ds::list_taps(m, {1, 28, 28});
  EXPECT_EQ(taps[1].width, 512);
  std::vector<std::string> names;
  for (const auto& p : m.named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                                             "fc3.weight", "fc3.bias"}));
  m.eval();
  auto y = m.forward({torch::rand({3, 1, 28, 28})}).toTensor();
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 10}));
}

TEST(Zoo, CnnOn28And32) {
  ds::ArchSpec a;
  a.arch = "cnn";
  a.hidden = {64};
  for (auto [c, side] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
    auto m = ds::build_model(a, input(c, side, 10), 2);
    auto taps = ds::list_taps(m, {c, side, side});
    EXPECT_EQ(taps.size(), 4u);
    EXPECT_EQ(taps[0].name, "conv1");
    EXPECT_EQ(taps[0].shape, (std::vector<int64_t>{32, side, side}));
    EXPECT_EQ(taps[2].name, "fc1");
    EXPECT_EQ(taps[2].width, 64);
    bool has_bn = false;
    for (const auto& b : m.named_buffers()) has_bn |= b.name == "bn1.running_mean";
    EXPECT_TRUE(has_bn);
  }
}

TEST(Zoo, WideResNetDepthAndWidth) {
  ds::ArchSpec a;
  a.arch = "wrn";
  a.depth = 10;
  a.widen = 2;
  a.dropout = 0.0;
  auto m = ds::build_model(a, input(3, 32, 100), 3);
  auto taps = ds::list_taps(m, {3, 32, 32});
  ASSERT_EQ(taps.size(), 5u);
  EXPECT_EQ(taps[2].name, "block3");
  EXPECT_EQ(taps[2].shape, (std::vector<int64_t>{128, 8, 8}));
  EXPECT_EQ(taps[3].name, "pool");
  EXPECT_EQ(taps[3].width, 128);
  EXPECT_EQ(taps[4].width, 100);
  a.depth = 11;
  EXPECT_THROW(ds::build_model(a, input(3, 32, 10), 3), std::invalid_argument);
}

TEST(Zoo, SameSeedSameWeights) {
  ds::ArchSpec a;
  a.arch = "cnn";
  auto m1 = ds::build_model(a, input(1, 28, 10), 5), m2 = ds::build_model(a, input(1, 28, 10), 5);
  auto m3 = ds::build_model(a, input(1, 28, 10), 6);
  auto p1 = m1.named_parameters().begin(), p2 = m2.named_parameters().begin();
  EXPECT_TRUE(torch::equal((*p1).value, (*p2).value));
  EXPECT_FALSE(torch::equal((*p1).value, (*m3.named_parameters().begin()).value));
}

TEST(ModelIo, SaveLoadRoundTripKeepsOutputsAndBytes) {
  TempDir dir;
  ds::ArchSpec a;
  a.arch = "cnn";
  auto m = ds::build_model(a, input(1, 28, 10), 7);
  m.eval();
  ds::Json info{{"input_shape", {1, 28, 28}}, {"num_classes", 10}};
  ds::save_model(m, info, dir.file("m.pt"));
  ds::save_model(m, info, dir.file("m2.pt"));
  EXPECT_EQ(ds::read_file(dir.file("m.pt")), ds::read_file(dir.file("m2.pt")));
  ds::LoadedModel loaded = ds::load_model(dir.file("m.pt"));
  EXPECT_EQ(loaded.input_shape(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(loaded.sha256.size(), 64u);
  auto x = torch::rand({4, 1, 28, 28});
  EXPECT_TRUE(torch::equal(m.forward({x}).toTensor(), loaded.module.forward({x}).toTensor()));
}

TEST(ModelIo, LoadErrorsNameTheFile) {
  TempDir dir;
  ds::write_file_atomically(dir.file("bad.pt"), "not a zip archive");
  try {
    ds::load_model(dir.file("bad.pt"));
    FAIL();
  } catch (const ds::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("bad.pt")), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("not a torch archive"), std::string::npos);
  }
  EXPECT_THROW(ds::load_model(dir.file("missing.pt")), ds::InputError);
}

TEST(ModelIo, PythonLoadsZooModelsWithSameOutputs) {
  TempDir dir;
  for (const char* arch : {"mlp", "cnn", "wrn"}) {
    ds::ArchSpec a;
    a.arch = arch;
    a.depth = 10;
    a.widen = 1;
    int64_t c = a.arch == "wrn" ? 3 : 1, side = a.arch == "wrn" ? 32 : 28;
    auto m = ds::build_model(a, input(c, side, 10), 11);
    m.eval();
    ds::save_model(m, ds::Json::object(), dir.file("m.pt"));
    auto x = torch::rand({5, c, side, side});
    c10::Dict<std::string, torch::Tensor> io;
    io.insert("x", x);
    io.insert("y", m.forward({x}).toTensor());
    auto bytes = torch::pickle_save(c10::IValue(io));
    ds::write_file_atomically(dir.file("io.pt"), std::string(bytes.begin(), bytes.end()));
    std::string cmd = "/usr/bin/python3 " DS_SOURCE_DIR "/test/python/check_model.py " +
                      dir.file("m.pt") + " " + dir.file("io.pt");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << arch << ": " << cmd;
  }
}

TEST(UserModel, PythonScriptedFixtureFollowsTheTapConvention) {
  ds::LoadedModel m = ds::load_model(DS_SOURCE_DIR "/data/fixtures/user_mlp.pt");
  EXPECT_TRUE(m.info.empty());
  EXPECT_THROW(m.input_shape(), ds::InputError);
  auto taps = ds::list_taps(m.module, {1, 28, 28});
  ASSERT_EQ(taps.size(), 2u);
  EXPECT_EQ(taps[0].name, "hidden");
  EXPECT_EQ(taps[0].width, 32);
  EXPECT_EQ(taps[1].name, "logits");
}

}  // namespace
