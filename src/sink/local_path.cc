#include "sink/local_path.h"

#include <unistd.h>

#include <filesystem>

namespace walflow::sink {

std::string CanonicalPath(const std::string& path) {
  std::error_code ec;
  std::string canonical =
      std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec).string();
  if (ec) return path;
  while (canonical.size() > 1 && canonical.back() == '/') canonical.pop_back();
  return canonical;
}

std::string NearestExistingDirectory(const std::string& path) {
  std::string dir = path;
  while (!dir.empty() && ::access(dir.c_str(), F_OK) != 0) {
    auto slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
  }
  return dir.empty() ? "." : dir;
}

}  // namespace walflow::sink
