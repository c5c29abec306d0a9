// Shared harness: the input goes to a file (the readers take paths, as the tools do), the
// reader runs, and anything but success or ds::InputError (the tools' exit 2) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

#include "core/errors.h"

namespace ds::fuzz {

inline std::string scratch_path(const std::string& name) {
  static const std::string dir = [] {
    std::string d = "/dev/shm/ds-fuzz-" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + d;
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  return dir + "/" + name;
}

inline std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  std::string path = scratch_path(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

template <typename Fn>
int run_reader(Fn&& fn) {
  try {
    fn();
  } catch (const ds::InputError&) {
    // refused with a message naming the file: the expected outcome for bad input
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reader threw something other than InputError: %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace ds::fuzz
