// A SampleSource over a file of fixed-size records (IDX images, CIFAR binary batches): each
// sample's bytes are read at their offset when asked for, so nothing but the labels is held.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/sample_source.h"

namespace ds {

struct RecordLayout {
  uint64_t header_bytes = 0;  // before the first record
  uint64_t record_bytes = 0;  // from one record to the next
  uint64_t pixel_offset = 0;  // where a record's C x H x W bytes start within it
  int64_t count = 0;          // records
  std::vector<int64_t> shape;  // C, H, W of one sample (uint8, C-major)
};

// One source over several files of the same layout, concatenated (CIFAR-10's five batches).
// InputError naming a file that is shorter than its layout says.
std::shared_ptr<SampleSource> open_record_files(const std::vector<std::string>& paths,
                                                const std::vector<RecordLayout>& layouts);

}  // namespace ds
