#include "cli/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dsw::io {

namespace {

// Reads `fd` to its end into `out`; on failure returns strerror of the read's error.
// (Plain read(2): libstdc++'s filebuf throws from any read error, a directory's EISDIR or an
// EIO, whatever the stream's exception mask, which ended the process.)
std::optional<std::string> read_fd(int fd, std::string& out) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return std::nullopt;
    } else if (errno != EINTR) {
      return std::string(std::strerror(errno));
    }
  }
}

}  // namespace

std::optional<std::string> read_all(const std::string& path, std::string& out) {
  out.clear();
  if (path == "-") {
    if (auto err = read_fd(STDIN_FILENO, out)) return "cannot read standard input: " + *err;
    return std::nullopt;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  auto err = read_fd(fd, out);
  ::close(fd);
  if (err) return "cannot read " + path + ": " + *err;
  return std::nullopt;
}

}  // namespace dsw::io
