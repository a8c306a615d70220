#include "core/config_reader.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace walflow {
namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Splits "<number><unit>" ("64MB", "10s"); false without digits or past `limit`.
bool SplitNumberAndUnit(const std::string& text, uint64_t limit, uint64_t* n, std::string* unit) {
  size_t i = 0;
  *n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    *n = *n * 10 + (text[i] - '0');
    if (*n > limit) return false;
    ++i;
  }
  if (i == 0) return false;
  *unit = text.substr(i);
  return true;
}

}  // namespace

std::string ConfigLocation::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  if (!key.empty()) out += ": " + key;
  return out;
}

ConfigLocation LocationOf(const YAML::Node& node, const std::string& file, const std::string& key) {
  ConfigLocation loc;
  loc.file = file;
  loc.key = key;
  if (node.IsDefined() && node.Mark().line >= 0) {
    loc.line = node.Mark().line + 1;
    loc.column = node.Mark().column + 1;
  }
  return loc;
}

Status ConfigError(const ConfigLocation& at, const std::string& message) {
  return InvalidArgument(at.ToString() + ": " + message);
}

ConfigReader::ConfigReader(const YAML::Node& node, std::string path, std::string file)
    : node_(node), path_(std::move(path)), file_(std::move(file)) {}

Status ConfigReader::CheckIsMap() const {
  if (!node_.IsMap()) return ConfigError(Here(), "expected a mapping of keys to values");
  return Status::OK();
}

ConfigLocation ConfigReader::Here() const {
  return LocationOf(node_, file_, path_.empty() ? "(top)" : path_);
}

std::string ConfigReader::KeyPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

ConfigLocation ConfigReader::At(const std::string& key) const {
  return LocationOf(node_[key], file_, KeyPath(key));
}

YAML::Node ConfigReader::Get(const std::string& key) {
  known_.insert(key);
  return node_[key];
}

bool ConfigReader::Has(const std::string& key) const {
  YAML::Node n = node_[key];
  return n.IsDefined() && !n.IsNull();
}

Status ConfigReader::Scalar(const std::string& key, std::string* out, bool required) {
  YAML::Node n = Get(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required) return ConfigError(Here(), "missing required key '" + key + "'");
    return Status::OK();
  }
  if (!n.IsScalar()) return ConfigError(At(key), "expected a single value");
  *out = n.Scalar();
  return Status::OK();
}

Status ConfigReader::String(const std::string& key, std::string* out, bool required) {
  std::string v;
  const bool had = Has(key);
  WF_RETURN_IF_ERROR(Scalar(key, &v, required));
  if (had) {
    if (v.empty()) return ConfigError(At(key), "must not be empty");
    *out = v;
  }
  return Status::OK();
}

Status ConfigReader::SecretString(const std::string& key, Secret* out, bool required) {
  std::string v;
  WF_RETURN_IF_ERROR(String(key, &v, required));
  if (!v.empty()) *out = Secret(std::move(v));
  return Status::OK();
}

Status ConfigReader::Bool(const std::string& key, bool* out) {
  std::string v;
  WF_RETURN_IF_ERROR(Scalar(key, &v, false));
  if (v.empty()) return Status::OK();
  if (v == "true" || v == "yes" || v == "on") {
    *out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    *out = false;
  } else {
    return ConfigError(At(key), "expected true or false, got '" + v + "'");
  }
  return Status::OK();
}

Status ConfigReader::Integer(const std::string& key, uint64_t min, uint64_t max, uint64_t* out) {
  std::string v;
  WF_RETURN_IF_ERROR(Scalar(key, &v, false));
  if (v.empty()) return Status::OK();
  char* end = nullptr;
  uint64_t n = std::strtoull(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0' || v[0] == '-' || n < min || n > max) {
    return ConfigError(At(key), "expected a number between " + std::to_string(min) + " and " +
                                    std::to_string(max) + ", got '" + v + "'");
  }
  *out = n;
  return Status::OK();
}

Status ConfigReader::Duration(const std::string& key, std::chrono::milliseconds* out) {
  std::string v;
  WF_RETURN_IF_ERROR(Scalar(key, &v, false));
  if (v.empty()) return Status::OK();
  if (!ParseDuration(v, out)) {
    return ConfigError(At(key), "expected a duration such as 500ms, 10s or 2m, got '" + v + "'");
  }
  return Status::OK();
}

Status ConfigReader::Duration(const std::string& key, std::chrono::milliseconds min,
                              std::chrono::milliseconds* out) {
  WF_RETURN_IF_ERROR(Duration(key, out));
  if (*out < min) {
    std::string bound = min.count() % 1000 == 0 ? std::to_string(min.count() / 1000) + "s"
                                                : std::to_string(min.count()) + "ms";
    return ConfigError(At(key), "must be at least " + bound);
  }
  return Status::OK();
}

Status ConfigReader::Size(const std::string& key, uint64_t* out) {
  std::string v;
  WF_RETURN_IF_ERROR(Scalar(key, &v, false));
  if (v.empty()) return Status::OK();
  if (!ParseByteSize(v, out) || *out == 0) {
    return ConfigError(At(key), "expected a size such as 512KB, 64MB or 1GB, got '" + v + "'");
  }
  return Status::OK();
}

Status ConfigReader::StringList(const std::string& key, std::vector<std::string>* out,
                                std::vector<ConfigLocation>* locations, bool* present) {
  YAML::Node n = Get(key);
  *present = n.IsDefined() && !n.IsNull();
  if (!*present) return Status::OK();
  auto add = [&](const YAML::Node& item, const std::string& item_key) -> Status {
    ConfigLocation at = LocationOf(item, file_, item_key);
    if (!item.IsScalar() || item.Scalar().empty()) return ConfigError(at, "expected a name");
    out->push_back(item.Scalar());
    if (locations) locations->push_back(std::move(at));
    return Status::OK();
  };
  if (n.IsScalar()) return add(n, KeyPath(key));
  if (!n.IsSequence() || n.size() == 0) {
    return ConfigError(At(key), "expected a non-empty list such as [public.orders]");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    WF_RETURN_IF_ERROR(add(n[i], KeyPath(key) + "[" + std::to_string(i) + "]"));
  }
  return Status::OK();
}

ConfigReader ConfigReader::Child(const std::string& key) {
  return ConfigReader(Get(key), KeyPath(key), file_);
}

Status ConfigReader::Finish() const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string key = it->first.Scalar();
    if (known_.count(key)) continue;
    std::string hint;
    size_t best = 3;
    for (const auto& k : known_) {
      size_t d = EditDistance(key, k);
      if (d < best) {
        best = d;
        hint = " (did you mean '" + k + "'?)";
      }
    }
    return ConfigError(LocationOf(it->first, file_, KeyPath(key)), "unknown key" + hint);
  }
  return Status::OK();
}

bool ParseDuration(const std::string& text, std::chrono::milliseconds* out) {
  uint64_t n;
  std::string unit;
  if (!SplitNumberAndUnit(text, 1ull << 40, &n, &unit)) return false;
  uint64_t ms;
  if (unit == "ms") {
    ms = n;
  } else if (unit == "s" || unit.empty()) {
    ms = n * 1000;
  } else if (unit == "m" || unit == "min") {
    ms = n * 60000;
  } else if (unit == "h") {
    ms = n * 3600000;
  } else {
    return false;
  }
  *out = std::chrono::milliseconds(ms);
  return true;
}

bool ParseByteSize(const std::string& text, uint64_t* out) {
  uint64_t n;
  std::string unit;
  if (!SplitNumberAndUnit(text, 1ull << 50, &n, &unit)) return false;
  while (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  uint64_t mul;
  if (unit.empty() || unit == "B") {
    mul = 1;
  } else if (unit == "KB" || unit == "KiB" || unit == "kB") {
    mul = 1ull << 10;
  } else if (unit == "MB" || unit == "MiB") {
    mul = 1ull << 20;
  } else if (unit == "GB" || unit == "GiB") {
    mul = 1ull << 30;
  } else {
    return false;
  }
  if (n > std::numeric_limits<uint64_t>::max() / mul) return false;
  *out = n * mul;
  return true;
}

}  // namespace walflow
