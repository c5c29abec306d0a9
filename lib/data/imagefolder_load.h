// Decoding the chosen files of an image folder's index into memory, in parallel over LibTorch's
// threads, or leaving them to a streamed source that decodes each batch's files when asked.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/imagefolder.h"

namespace ds {

// The shape every image is fitted to: `shape` (C, H, W) when given, else that of the first
// image of `train` (the first readable one with skip_bad).
ImageTarget choose_target(const std::vector<int64_t>& shape, const ImageIndex& train,
                          bool skip_bad);

// Both splits decoded, with `digest` the SHA-256 over every file's name relative to its root,
// label and content hash. InputError for the first bad file in index order, whatever the thread
// count, unless skip_bad, which leaves bad files out and sets skipped_files.
DataSplits decode_image_splits(const ImageIndex& train, const ImageIndex& test,
                               const ImageTarget& target, bool skip_bad);

// Both splits streamed: every load decodes the files it is asked for (data.stream), so memory
// holds the index and the batches in flight, not the pixels. `digest` covers each file's name
// relative to its root, label and size (the contents are read only when a batch needs them).
DataSplits stream_image_splits(const ImageIndex& train, const ImageIndex& test,
                               const ImageTarget& target);

}  // namespace ds
