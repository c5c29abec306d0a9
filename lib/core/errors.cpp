// Helpers for building one-line error messages.
#include "core/errors.h"

namespace ds {

void fail_input(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

}  // namespace ds
