// A progress bar on stderr for long loops: redrawn in place on a terminal, a few plain lines
// otherwise (logs and CI output stay readable).
#pragma once

#include <cstdint>
#include <string>

#include "core/runtime.h"

namespace ds {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  // `done` steps of `total` finished; `detail` is shown after the rate (e.g. "loss 0.31").
  void update(int64_t done, const std::string& detail);
  // Clears the bar on a terminal.
  void finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool tty_;
  int next_plain_quarter_ = 1;
  double last_draw_ = -1;
  Stopwatch clock_;
};

}  // namespace ds
