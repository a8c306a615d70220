// ObjectStore on a local directory: an object is written to ".<name>.inprogress" next to
// its final name, fsynced, renamed, and the directory fsynced.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "storage/file_io.h"
#include "storage/object_store.h"

namespace walflow::storage {
namespace {

constexpr const char* kLockFile = ".walflow-lock";
constexpr std::string_view kInProgressSuffix = ".inprogress";

bool IsInProgress(std::string_view name) {
  return name.size() > kInProgressSuffix.size() && name[0] == '.' &&
         name.substr(name.size() - kInProgressSuffix.size()) == kInProgressSuffix;
}

std::string DirOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string TempPathOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + std::string(kInProgressSuffix);
}

class LocalUpload : public ObjectUpload {
 public:
  LocalUpload(std::string path) : path_(std::move(path)), temp_(TempPathOf(path_)) {}
  ~LocalUpload() override {
    if (file_.is_open()) (void)Abort();
  }

  Status Open() { return file_.Open(temp_, 0); }
  Status Append(std::string_view data) override { return file_.Append(data); }
  Status Commit() override {
    WF_RETURN_IF_ERROR(file_.Sync());
    WF_RETURN_IF_ERROR(file_.Close());
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      return IOError("cannot rename " + temp_ + " to " + path_ + ": " + std::strerror(errno));
    }
    return SyncDirectory(DirOf(path_));
  }
  Status Abort() override {
    (void)file_.Close();
    return RemoveFile(temp_);
  }
  uint64_t size() const override { return file_.size(); }

 private:
  std::string path_, temp_;
  AppendFile file_;
};

class LocalStore : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  Status Init(bool lock) {
    WF_RETURN_IF_ERROR(CreateDirectories(root_));
    return lock ? lock_.Acquire(root_, kLockFile) : Status::OK();
  }

  std::string Describe(const std::string& key) const override { return root_ + "/" + key; }

  Status CheckAccess() override {
    // Creating and removing a file proves the directory is writable by this process.
    const std::string probe = root_ + "/.walflow-probe";
    WF_RETURN_IF_ERROR(WriteFileAtomically(probe, ""));
    return RemoveFile(probe);
  }

  Result<std::unique_ptr<ObjectUpload>> Create(const std::string& key) override {
    const std::string path = Describe(key);
    WF_RETURN_IF_ERROR(CreateDirectories(DirOf(path)));
    auto upload = std::make_unique<LocalUpload>(path);
    WF_RETURN_IF_ERROR(upload->Open());
    return std::unique_ptr<ObjectUpload>(std::move(upload));
  }

  Status Put(const std::string& key, std::string_view data) override {
    const std::string path = Describe(key);
    WF_RETURN_IF_ERROR(CreateDirectories(DirOf(path)));
    return WriteFileAtomically(path, data);
  }

  Result<std::string> Get(const std::string& key) override { return ReadFile(Describe(key)); }

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    WF_RETURN_IF_ERROR(Walk("", prefix, false, &out));
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status Delete(const std::string& key) override { return RemoveFile(Describe(key)); }

  Result<size_t> RemoveIncompleteUploads(const std::string& prefix) override {
    std::vector<ObjectInfo> temps;
    WF_RETURN_IF_ERROR(Walk("", prefix, true, &temps));
    for (const ObjectInfo& t : temps) WF_RETURN_IF_ERROR(RemoveFile(Describe(t.key)));
    return temps.size();
  }

 private:
  // Collects regular files under root_/rel whose key starts with `prefix`: visible objects,
  // or (`in_progress`) the temporary files of unfinished uploads. Hidden names are skipped.
  Status Walk(const std::string& rel, const std::string& prefix, bool in_progress,
              std::vector<ObjectInfo>* out) {
    const std::string dir = rel.empty() ? root_ : root_ + "/" + rel;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return Status::OK();
      return IOError("cannot list directory " + dir + ": " + std::strerror(errno));
    }
    std::vector<std::pair<std::string, bool>> entries;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;
      entries.emplace_back(name, S_ISDIR(st.st_mode));
    }
    ::closedir(d);
    for (const auto& [name, is_dir] : entries) {
      const std::string key = rel.empty() ? name : rel + "/" + name;
      // Prune directories that cannot hold a key with the prefix.
      const std::string dir_key = key + "/";
      if (is_dir) {
        if (name[0] == '.') continue;
        if (prefix.compare(0, std::min(prefix.size(), dir_key.size()), dir_key, 0,
                           std::min(prefix.size(), dir_key.size())) != 0) {
          continue;
        }
        WF_RETURN_IF_ERROR(Walk(key, prefix, in_progress, out));
        continue;
      }
      if (in_progress != IsInProgress(name)) continue;
      if (!in_progress && name[0] == '.') continue;
      if (key.compare(0, prefix.size(), prefix) != 0 &&
          !(in_progress && InProgressMatches(rel, name, prefix))) {
        continue;
      }
      struct stat st;
      uint64_t size = ::stat((dir + "/" + name).c_str(), &st) == 0 ? st.st_size : 0;
      out->push_back({key, size});
    }
    return Status::OK();
  }

  // A temporary file matches the prefix when the object it would become does.
  static bool InProgressMatches(const std::string& rel, const std::string& name,
                                const std::string& prefix) {
    std::string final_name = name.substr(1, name.size() - 1 - kInProgressSuffix.size());
    std::string key = rel.empty() ? final_name : rel + "/" + final_name;
    return key.compare(0, prefix.size(), prefix) == 0;
  }

  std::string root_;
  DirectoryLock lock_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenLocalStore(const std::string& dir, bool lock) {
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  auto store = std::make_unique<LocalStore>(root);
  WF_RETURN_IF_ERROR(store->Init(lock));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace walflow::storage
