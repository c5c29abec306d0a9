// TorchScript model files: c10::Error on load becomes a one-line InputError.
#include "model/model_io.h"

#include <filesystem>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/archive_check.h"

namespace ds {

const char* const kModelInfoFile = "deepsigns.json";

std::vector<int64_t> LoadedModel::input_shape() const {
  if (!info.contains("input_shape") || !info["input_shape"].is_array()) {
    fail_input(path, "the model does not record its input shape (pass it explicitly)");
  }
  return info["input_shape"].get<std::vector<int64_t>>();
}

int64_t LoadedModel::num_classes() const {
  if (!info.contains("num_classes")) fail_input(path, "the model does not record its classes");
  return info["num_classes"].get<int64_t>();
}

LoadedModel load_model(const std::string& path) {
  LoadedModel m;
  m.path = path;
  if (!std::filesystem::is_regular_file(path)) fail_input(path, "no such model file");
  const std::string bytes = read_file(path);
  m.sha256 = sha256_hex(bytes);
  check_zip_archive(bytes, path);  // before LibTorch's reader sees it (archive_check.h)
  torch::jit::ExtraFilesMap extra{{kModelInfoFile, ""}};
  try {
    std::istringstream in(bytes);
    m.module = torch::jit::load(in, c10::nullopt, extra);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    fail_input(path, "not a loadable TorchScript model (" + what + ")");
  }
  const std::string& text = extra[kModelInfoFile];
  if (!text.empty()) {
    try {
      m.info = Json::parse(text);
    } catch (const Json::parse_error&) {
      fail_input(path, std::string("corrupt ") + kModelInfoFile + " inside the model");
    }
  }
  return m;
}

void save_model(const torch::jit::Module& module, const Json& info, const std::string& path) {
  torch::jit::ExtraFilesMap extra{{kModelInfoFile, info.dump(2)}};
  // Saving to a stream keeps the archive's internal folder name fixed ("archive"); saving to a
  // path would embed the temporary file's name and make the bytes differ between runs.
  std::ostringstream bytes;
  try {
    module.save(bytes, extra);
  } catch (const c10::Error& e) {
    std::string what = e.what();
    fail_input(path, "cannot save model: " + what.substr(0, what.find('\n')));
  }
  write_file_atomically(path, bytes.str());
}

torch::jit::Module clone_model(const torch::jit::Module& module) {
  // Without the guard, deepcopy clones parameters through autograd and the copies are not
  // leaves (an optimizer refuses them).
  torch::NoGradGuard no_grad;
  return module.deepcopy();
}

torch::Tensor find_tensor(const torch::jit::Module& module, const std::string& name) {
  for (const auto& p : module.named_parameters()) {
    if (p.name == name) return p.value;
  }
  for (const auto& b : module.named_buffers()) {
    if (b.name == name) return b.value;
  }
  return torch::Tensor();
}

torch::Tensor require_tensor(const torch::jit::Module& module, const std::string& name) {
  torch::Tensor t = find_tensor(module, name);
  if (!t.defined()) throw InputError("model has no parameter '" + name + "'");
  return t;
}

}  // namespace ds
