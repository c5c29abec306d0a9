// Exceptions the library throws; the tool skeleton maps each to an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace ds {

// Bad input a user can fix: a missing or malformed file, a wrong config field, a model that
// does not fit the key. Tools exit with kExitBadInput. The message is one line and names the
// file and the problem.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws InputError("<path>: <problem>").
[[noreturn]] void fail_input(const std::string& path, const std::string& problem);

}  // namespace ds
