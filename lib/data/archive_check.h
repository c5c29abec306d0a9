// Structural checks of torch archives (zip files of records, as torch.save and
// torch::jit::save write them) before LibTorch parses them. LibTorch 1.13's readers trust the
// file: fuzzing found a heap overflow in its zip reader on a corrupt central directory and a
// 4 GB allocation from a pickle string length, both on files of a few hundred bytes. These
// checks refuse such files with an InputError naming the file.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace ds {

// The zip structure: end record, central directory and local headers within the file, records
// stored or deflated with sizes that fit the file, no ZIP64.
void check_zip_archive(const std::string& bytes, const std::string& path);

// The zip structure, then every "data.pkl" record's pickle opcodes: each length-prefixed
// argument fits in the bytes that remain, and the stream ends with STOP.
void check_pickle_archive(const std::string& bytes, const std::string& path);

// A tensor read from a file: its sizes, strides and offset stay inside its storage (LibTorch
// does not check, and reading such a tensor reads past the buffer).
void check_tensor_storage(const at::Tensor& t, const std::string& path, const std::string& what);

}  // namespace ds
