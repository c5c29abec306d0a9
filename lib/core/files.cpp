// Whole-file reads and temp-then-rename writes.
#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace ds {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail_input(path, "no such file");
  if (fs::is_directory(path, ec)) fail_input(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, std::string("cannot open file: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail_input(path, "read error");
  return ss.str();
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string&)>& write) {
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail_input(path, "output folder does not exist");
  std::string tmp =
      (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    fail_input(path, std::string("cannot write output: ") + std::strerror(err));
  }
}

namespace {

// Linux: the bytes go to an unnamed file (O_TMPFILE) that gets a name only once complete, so
// even a killed process leaves no partial file behind. Returns false where unsupported.
bool write_unnamed_then_link(const std::string& path, const std::string& content) {
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return false;  // no O_TMPFILE on this file system: the caller falls back
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      fail_input(path, std::string("write failed: ") + std::strerror(err));
    }
    done += size_t(n);
  }
  std::string tmp =
      (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
  std::remove(tmp.c_str());
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  int rc = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW);
  int err = errno;
  ::close(fd);
  if (rc != 0) fail_input(path, std::string("cannot write output: ") + std::strerror(err));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    fail_input(path, std::string("cannot write output: ") + std::strerror(err));
  }
  return true;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& content) {
  {
    std::error_code ec;
    fs::path target(path);
    fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec)) fail_input(path, "output folder does not exist");
  }
  if (write_unnamed_then_link(path, content)) return;
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail_input(path, std::string("cannot write output: ") + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) fail_input(path, "write failed (disk full?)");
  });
}

void require_distinct(const std::string& input, const std::string& output) {
  std::error_code ec;
  if (fs::exists(output, ec) && fs::equivalent(input, output, ec)) {
    fail_input(output, "output would overwrite the input " + input);
  }
}

}  // namespace ds
