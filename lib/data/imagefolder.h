// The index of an image folder (ROOT/CLASS/IMAGE): file paths and labels found by listing the
// folders, without opening an image, so it is cheap to build for any size of dataset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ds {

struct ImageEntry {
  std::string path;  // ROOT/CLASS/NAME
  int64_t label = 0;
};

struct ImageIndex {
  std::string root;
  std::vector<std::string> classes;  // subfolder names in bytewise order; label = position
  std::vector<ImageEntry> entries;   // by class, then by file name (bytewise)
};

// Whether a file name ends in .png, .jpg or .jpeg, in any letter case.
bool has_image_extension(const std::string& name);

// Lists ROOT's subfolders as classes, as torchvision's ImageFolder does (hidden ones included),
// and the image files directly inside each. Other files and deeper folders are ignored.
// InputError for a root that is not a folder, has no class folders, or has a class folder
// without images.
ImageIndex scan_image_folder(const std::string& root);

// InputError naming both roots unless they hold the same class names.
void require_same_classes(const ImageIndex& train, const ImageIndex& test);

// The entries at `positions`, in that order.
ImageIndex select(const ImageIndex& index, const std::vector<int64_t>& positions);

}  // namespace ds
