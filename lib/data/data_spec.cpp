// Data specs: parsing, and loading the files a spec names through the readers.
#include "data/data_spec.h"

#include <filesystem>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/image_codecs.h"
#include "data/imagefolder.h"
#include "data/imagefolder_load.h"
#include "data/readers.h"

namespace ds {
namespace fs = std::filesystem;
namespace {

std::string first_existing(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    fs::path p = fs::path(dir) / n;
    if (fs::exists(p)) return p.string();
  }
  fail_input((fs::path(dir) / names.front()).string(),
             "no such file (also tried " + names.back() + ")");
}

void parse_image_fields(ConfigObject& obj, DataSpec& s) {
  bool images = s.format == "imagefolder";
  for (const char* field : {"shape", "skip_bad"}) {
    if (obj.has(field) && !images) obj.fail(field, "applies only to format 'imagefolder'");
  }
  s.shape = obj.get_int_list("shape", {});
  s.skip_bad = obj.get_bool("skip_bad", false);
  if (s.shape.empty()) return;
  auto side_ok = [](int64_t v) { return v >= 1 && v <= kMaxImagePixels; };  // no overflow below
  if (s.shape.size() != 3 || (s.shape[0] != 1 && s.shape[0] != 3) || !side_ok(s.shape[1]) ||
      !side_ok(s.shape[2]) || s.shape[1] * s.shape[2] > kMaxImagePixels) {
    obj.fail("shape", "must be [C, H, W] with C 1 or 3 and H x W at most " +
                          std::to_string(kMaxImagePixels) + " pixels");
  }
}

void parse_stream_fields(ConfigObject& obj, DataSpec& s) {
  s.stream = obj.get_bool("stream", s.stream);
  s.loader_threads = obj.get_int("loader_threads", s.loader_threads);
  if (s.loader_threads < 0 || s.loader_threads > 64) obj.fail("loader_threads", "must be 0..64");
  s.prefetch_batches = obj.get_int("prefetch_batches", s.prefetch_batches);
  if (s.prefetch_batches < 1 || s.prefetch_batches > 1024) {
    obj.fail("prefetch_batches", "must be 1..1024");
  }
  if (s.stream && s.skip_bad) {
    obj.fail("stream", "cannot be combined with skip_bad (a file found bad mid-epoch cannot be "
                       "left out without changing the batches)");
  }
  if (s.stream && s.format == "tensor") {
    obj.fail("stream", "cannot be true for format 'tensor' (a torch.save file is read whole)");
  }
}

DataSplits read_idx_spec(const DataSpec& spec) {
  if (!fs::is_directory(spec.path)) fail_input(spec.path, "not a folder of IDX files");
  auto f = [&](const std::string& stem) { return first_existing(spec.path, {stem + ".gz", stem}); };
  DataSplits out;
  out.files = {f("train-images-idx3-ubyte"), f("train-labels-idx1-ubyte"),
               f("t10k-images-idx3-ubyte"), f("t10k-labels-idx1-ubyte")};
  auto read = spec.stream ? stream_idx : load_idx;
  out.train = read(out.files[0], out.files[1], 10);
  out.test = read(out.files[2], out.files[3], 10);
  return out;
}

DataSplits read_cifar_spec(const DataSpec& spec) {
  if (!fs::is_directory(spec.path)) fail_input(spec.path, "not a folder of CIFAR binary files");
  bool c100 = spec.format == "cifar100";
  std::vector<std::string> train_files;
  if (c100) {
    train_files = {first_existing(spec.path, {"train.bin"})};
  } else {
    for (int i = 1; i <= 5; ++i) {
      train_files.push_back(first_existing(spec.path, {"data_batch_" + std::to_string(i) + ".bin"}));
    }
  }
  std::string test_file = first_existing(spec.path, {c100 ? "test.bin" : "test_batch.bin"});
  DataSplits out;
  auto read = spec.stream ? stream_cifar : load_cifar;
  out.train = read(train_files, c100);
  out.test = read({test_file}, c100);
  out.files = train_files;
  out.files.push_back(test_file);
  return out;
}

DataSplits read_tensor_spec(const DataSpec& spec) {
  DataSplits out;
  Dataset all = load_tensor_file(spec.path);
  out.files = {spec.path};
  if (spec.test_path.empty()) {
    std::tie(out.train, out.test) = split(all, spec.holdout_fraction, spec.seed);
    return out;
  }
  out.train = all;
  out.test = load_tensor_file(spec.test_path);
  out.files.push_back(spec.test_path);
  if (out.test.sample_shape() != out.train.sample_shape()) {
    fail_input(spec.test_path, "image shape differs from the training file " + spec.path);
  }
  int64_t classes = std::max(out.train.num_classes, out.test.num_classes);
  out.train.num_classes = out.test.num_classes = classes;
  return out;
}

DataSplits read_imagefolder_spec(const DataSpec& spec) {
  ImageIndex train = scan_image_folder(spec.path), test;
  ImageTarget target = choose_target(spec.shape, train, spec.skip_bad);
  std::vector<std::string> files = {spec.path};
  if (spec.test_path.empty()) {
    auto [rest, held] = split_indices(int64_t(train.entries.size()), spec.holdout_fraction,
                                      spec.seed, spec.path);
    test = select(train, held);
    train = select(train, rest);
  } else {
    test = scan_image_folder(spec.test_path);
    require_same_classes(train, test);
    files.push_back(spec.test_path);
  }
  // The positions subset() would keep, chosen before decoding so that only they are read.
  int64_t n_train = int64_t(train.entries.size()), n_test = int64_t(test.entries.size());
  train = select(train, subset_indices(n_train, spec.train_fraction, spec.seed));
  test = select(test, subset_indices(n_test, spec.test_fraction, spec.seed + 1));
  DataSplits out = spec.stream ? stream_image_splits(train, test, target)
                               : decode_image_splits(train, test, target, spec.skip_bad);
  out.files = files;
  return out;
}

}  // namespace

DataSpec parse_data_spec(ConfigObject obj) {
  DataSpec s;
  s.format = obj.get_choice("format", s.format,
                            {"idx", "cifar10", "cifar100", "tensor", "imagefolder"});
  s.path = obj.get_string("path", s.format == "idx" ? s.path : "");
  if (s.path.empty()) obj.fail("path", "is required for format '" + s.format + "'");
  s.test_path = obj.get_string("test_path", "");
  s.holdout_fraction = obj.get_fraction("holdout_fraction", s.holdout_fraction, false);
  s.train_fraction = obj.get_fraction("train_fraction", s.train_fraction, false);
  s.test_fraction = obj.get_fraction("test_fraction", s.test_fraction, false);
  s.seed = obj.get_seed("seed", 0);
  parse_image_fields(obj, s);
  parse_stream_fields(obj, s);
  obj.finish();
  return s;
}

Json data_spec_to_json(const DataSpec& s) {
  Json j{{"format", s.format},
         {"path", s.path},
         {"test_path", s.test_path},
         {"holdout_fraction", s.holdout_fraction},
         {"train_fraction", s.train_fraction},
         {"test_fraction", s.test_fraction},
         {"seed", s.seed}};
  // Only for image folders, so that the other formats' configs and digests stay as they were.
  if (s.format == "imagefolder") {
    if (!s.shape.empty()) j["shape"] = s.shape;
    j["skip_bad"] = s.skip_bad;
  }
  return j;
}

DataSplits load_data(const DataSpec& spec, bool keep_streamed) {
  bool images = spec.format == "imagefolder";
  DataSplits out = images                    ? read_imagefolder_spec(spec)
                   : spec.format == "idx"    ? read_idx_spec(spec)
                   : spec.format == "tensor" ? read_tensor_spec(spec)
                                             : read_cifar_spec(spec);
  if (!images) {  // image folders draw their subsets before decoding
    out.train = subset(out.train, spec.train_fraction, spec.seed);
    out.test = subset(out.test, spec.test_fraction, spec.seed + 1);
  }
  for (Dataset* d : {&out.train, &out.test}) {
    if (!d->streamed()) continue;
    d->stream->loader_threads = int(spec.loader_threads);
    d->stream->prefetch_batches = int(spec.prefetch_batches);
    if (!keep_streamed) *d = in_memory(*d);
  }
  Sha256 h;
  if (images) {
    h.update(out.digest);  // over each image read (imagefolder_load.h): files lists the folders
  } else {
    for (const auto& f : out.files) h.update(sha256_file(f));
  }
  h.update(data_spec_to_json(spec).dump());
  out.digest = h.hex_digest();
  return out;
}

Json data_inputs_to_json(const DataSplits& data) {
  Json j{{"digest", data.digest}, {"files", data.files}};
  if (data.skipped_files) j["skipped_files"] = *data.skipped_files;
  return j;
}

}  // namespace ds
