// Terminal-aware progress reporting.
#include "core/progress.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>

namespace ds {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      // --quiet raises the log level above info; progress goes quiet with it.
      enabled_(enabled && spdlog::should_log(spdlog::level::info)),
      tty_(isatty(2) == 1) {}

void Progress::update(int64_t done, const std::string& detail) {
  if (!enabled_ || total_ <= 0) return;
  double t = clock_.seconds();
  double rate = t > 0 ? double(done) / t : 0.0;
  if (tty_) {
    if (done != total_ && t - last_draw_ < 0.1) return;
    last_draw_ = t;
    const int width = 30;
    int filled = int(double(width) * double(done) / double(total_));
    std::string bar(size_t(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f it/s %s\033[K", label_.c_str(), bar.c_str(),
                 (long long)done, (long long)total_, rate, detail.c_str());
    std::fflush(stderr);
  } else if (done * 4 >= total_ * next_plain_quarter_ && next_plain_quarter_ < 4) {
    std::fprintf(stderr, "%s %d%% (%lld/%lld, %.1f it/s) %s\n", label_.c_str(),
                 25 * next_plain_quarter_, (long long)done, (long long)total_, rate,
                 detail.c_str());
    ++next_plain_quarter_;
  }
}

void Progress::finish() {
  if (enabled_ && tty_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace ds
