// Local files with the durability walflow's exactly-once guarantee rests on: appends
// that reach the disk on Sync(), and small state files replaced atomically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace walflow::storage {

// mkdir -p; fails with a message naming the path.
Status CreateDirectories(const std::string& path);

// Writes `contents` to `path` so that after a crash the file holds either its old or its
// new contents in full: temporary file, fsync, rename, fsync of the directory.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

// NotFound when the file does not exist.
Result<std::string> ReadFile(const std::string& path);

// Names (not paths) of the entries in `dir`, sorted.
Result<std::vector<std::string>> ListDirectory(const std::string& dir);

Status RemoveFile(const std::string& path);
Status SyncDirectory(const std::string& dir);
bool FileExists(const std::string& path);

// An exclusive flock(2) on a lock file, held until Release() or destruction: one walflow
// process per output directory.
class DirectoryLock {
 public:
  DirectoryLock() = default;
  ~DirectoryLock() { Release(); }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  // FailedPrecondition naming `dir` when another process holds the lock.
  Status Acquire(const std::string& dir, const std::string& lock_file);
  void Release();

 private:
  int fd_ = -1;
};

// A file written only at its end.
class AppendFile {
 public:
  AppendFile() = default;
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Opens (creating if needed) and cuts the file to `size` bytes: whatever a crash left
  // past the last durable point is dropped. Fails if the file is shorter than `size`.
  Status Open(const std::string& path, uint64_t size);
  Status Append(std::string_view data);
  Status Sync();
  Status Close();
  bool is_open() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

}  // namespace walflow::storage
