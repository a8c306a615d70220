// Local paths of the sinks that write files.
#pragma once

#include <string>

namespace walflow::sink {

// The absolute path with symbolic links and ".." resolved as far as it exists, so that two
// spellings of one directory compare equal.
std::string CanonicalPath(const std::string& path);
// `path` if it exists, else its nearest existing parent ("." for a relative path).
std::string NearestExistingDirectory(const std::string& path);

}  // namespace walflow::sink
