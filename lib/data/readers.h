// Dataset file readers (IDX, CIFAR binary batches, torch.save'd tensor files) and the IDX
// writer for fixtures. Every header size is checked against the bytes present before a tensor
// is allocated, so a corrupt header cannot trigger a huge allocation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace ds {

// Single-file readers (exposed for tests and tools). Each throws InputError naming the file.
Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes = 10);
// Reads CIFAR-10 (1 label byte) or CIFAR-100 (coarse, fine label bytes; the fine label is used).
Dataset load_cifar(const std::vector<std::string>& files, bool cifar100);
// The same IDX and CIFAR datasets with the pixels left on disk (Dataset::stream), read at their
// offsets when a batch needs them; the labels are read now. IDX files must not be gzipped.
Dataset stream_idx(const std::string& images_path, const std::string& labels_path,
                   int64_t num_classes = 10);
Dataset stream_cifar(const std::vector<std::string>& files, bool cifar100);
// A file written by torch.save({'x': images, 'y': labels}, path); optional 'classes': int.
Dataset load_tensor_file(const std::string& path);

// The IDX format, for fixtures and tests: writes uint8 images (N x H x W) and labels.
void write_idx_images(const std::string& path, const torch::Tensor& images_u8);
void write_idx_labels(const std::string& path, const torch::Tensor& labels);

}  // namespace ds
