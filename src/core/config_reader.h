// Reading walflow's YAML pipeline file. Every value keeps where it came from, so that every
// error names the file, line, column and key ("pipeline.yaml:7:5: sinks[1].path: ...").
// Each component (the sources, every sink type) reads its own keys with a ConfigReader;
// keys a reader did not ask for are reported as unknown, with the nearest known key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/secret.h"
#include "core/status.h"

namespace walflow {

// Where a value came from, for messages that refer back to the file.
struct ConfigLocation {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string key;  // e.g. "source.postgres.tables[1]"
  std::string ToString() const;
};

ConfigLocation LocationOf(const YAML::Node& node, const std::string& file, const std::string& key);
// InvalidArgument "<location>: <message>".
Status ConfigError(const ConfigLocation& at, const std::string& message);

// The keys of one YAML mapping.
class ConfigReader {
 public:
  // `path` is the mapping's own key ("sinks[0]", "" for the top level).
  ConfigReader(const YAML::Node& node, std::string path, std::string file);

  Status CheckIsMap() const;
  ConfigLocation Here() const;
  ConfigLocation At(const std::string& key) const;
  std::string KeyPath(const std::string& key) const;
  const std::string& file() const { return file_; }

  // The raw node of `key`, marked as known.
  YAML::Node Get(const std::string& key);
  bool Has(const std::string& key) const;

  // Each leaves `*out` alone when the key is absent (unless required); wrong values are
  // errors naming the key.
  Status Scalar(const std::string& key, std::string* out, bool required);
  Status String(const std::string& key, std::string* out, bool required = false);
  // A password or token: like String, kept as a Secret (never printed, not even in errors).
  Status SecretString(const std::string& key, Secret* out, bool required = false);
  Status Bool(const std::string& key, bool* out);
  Status Integer(const std::string& key, uint64_t min, uint64_t max, uint64_t* out);
  Status Duration(const std::string& key, std::chrono::milliseconds* out);
  // A duration of at least `min`.
  Status Duration(const std::string& key, std::chrono::milliseconds min,
                  std::chrono::milliseconds* out);
  Status Size(const std::string& key, uint64_t* out);
  // A list of non-empty strings, or a single string; `*present` tells whether the key was there.
  Status StringList(const std::string& key, std::vector<std::string>* out,
                    std::vector<ConfigLocation>* locations, bool* present);

  template <typename E>
  Status Enum(const std::string& key, const std::vector<std::pair<std::string, E>>& choices,
              E* out) {
    std::string v;
    WF_RETURN_IF_ERROR(Scalar(key, &v, false));
    if (v.empty()) return Status::OK();
    std::string names;
    for (const auto& [name, value] : choices) {
      if (name == v) {
        *out = value;
        return Status::OK();
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    return ConfigError(At(key), "expected one of " + names + ", got '" + v + "'");
  }

  // A reader of the mapping under `key`.
  ConfigReader Child(const std::string& key);

  // An error for the first key nobody asked for.
  Status Finish() const;

 private:
  YAML::Node node_;
  std::string path_;
  std::string file_;
  std::set<std::string> known_;
};

// "500ms", "10s", "2m", "1h"; a bare number is seconds.
bool ParseDuration(const std::string& text, std::chrono::milliseconds* out);
// "64MB", "512KB", "1GB", "1048576"; binary units.
bool ParseByteSize(const std::string& text, uint64_t* out);

}  // namespace walflow
