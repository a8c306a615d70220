#include "kafka/properties_config.h"

namespace walflow::kafka {

Status ReadProperties(ConfigReader& r, Properties* out) {
  YAML::Node props = r.Get("properties");
  if (!props.IsDefined() || props.IsNull()) return Status::OK();
  if (!props.IsMap()) {
    return ConfigError(r.At("properties"), "expected a mapping of librdkafka settings to values");
  }
  for (auto it = props.begin(); it != props.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string key_path = r.KeyPath("properties." + key);
    if (!it->second.IsScalar()) {
      return ConfigError(LocationOf(it->second, r.file(), key_path), "expected a single value");
    }
    if (key == "bootstrap.servers" || key == "transactional.id" || key == "group.id" ||
        key == "enable.auto.commit" || key == "enable.idempotence" || key == "isolation.level") {
      return ConfigError(LocationOf(it->first, r.file(), key_path),
                         "set by walflow itself (use brokers, transactional_id, group_id or "
                         "exactly_once)");
    }
    Status valid = CheckSetting(key, it->second.Scalar());
    if (!valid.ok()) return ConfigError(LocationOf(it->first, r.file(), key_path), valid.message());
    out->emplace_back(key, Secret(it->second.Scalar()));
  }
  return Status::OK();
}

}  // namespace walflow::kafka
