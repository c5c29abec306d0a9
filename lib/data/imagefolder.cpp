// Building an image folder's index by listing its folders.
#include "data/imagefolder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/errors.h"

namespace ds {
namespace fs = std::filesystem;
namespace {

// Sorted file or folder names of `dir` that pass `keep`.
template <typename Keep>
std::vector<std::string> sorted_names(const fs::path& dir, Keep keep) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (keep(*it)) names.push_back(it->path().filename().string());
  }
  if (ec) fail_input(dir.string(), "cannot list the folder (" + ec.message() + ")");
  std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned: bytewise
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

// Names in `a` that are not in `b` (both sorted).
std::vector<std::string> missing_from(const std::vector<std::string>& a,
                                      const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

bool has_image_extension(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

ImageIndex scan_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) fail_input(root, "not a folder of class folders");
  ImageIndex index;
  index.root = root;
  index.classes = sorted_names(root, [](const fs::directory_entry& e) {
    std::error_code ignored;
    return e.is_directory(ignored);
  });
  if (index.classes.empty()) {
    fail_input(root, "holds no class folders (expected ROOT/CLASS/IMAGE.png)");
  }
  for (size_t label = 0; label < index.classes.size(); ++label) {
    fs::path dir = fs::path(root) / index.classes[label];
    auto files = sorted_names(dir, [](const fs::directory_entry& e) {
      std::error_code ignored;
      return e.is_regular_file(ignored) && has_image_extension(e.path().filename().string());
    });
    if (files.empty()) fail_input(dir.string(), "class folder holds no .png, .jpg or .jpeg files");
    for (const auto& f : files) index.entries.push_back({(dir / f).string(), int64_t(label)});
  }
  return index;
}

void require_same_classes(const ImageIndex& train, const ImageIndex& test) {
  if (train.classes == test.classes) return;
  auto only_train = missing_from(train.classes, test.classes);
  auto only_test = missing_from(test.classes, train.classes);
  std::string why = "class folders differ from those of " + train.root;
  if (!only_train.empty()) why += ": missing " + join(only_train);
  if (!only_test.empty())
    why += (only_train.empty() ? ": " : "; ") + std::string("extra ") + join(only_test);
  fail_input(test.root, why);
}

ImageIndex select(const ImageIndex& index, const std::vector<int64_t>& positions) {
  ImageIndex out{index.root, index.classes, {}};
  out.entries.reserve(positions.size());
  for (int64_t p : positions) out.entries.push_back(index.entries[size_t(p)]);
  return out;
}

}  // namespace ds
