// librdkafka handles as walflow uses them: configuration from the pipeline file (errors
// name the property, never its value, since values may be passwords), librdkafka's logs
// and errors routed to walflow's log, and topic creation.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/secret.h"
#include "core/status.h"

namespace walflow::kafka {

// Settings walflow itself sets (client ids, transactional ids, timeouts).
using Settings = std::vector<std::pair<std::string, std::string>>;
// `properties:` from the pipeline file: any of them may be a password, so every value is a
// Secret (never printed).
using Properties = std::vector<std::pair<std::string, Secret>>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const;
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// What a client reports through librdkafka's error callback, for clearer messages than
// "timed out" ("cannot reach any broker of 127.0.0.1:9092: Connection refused").
class ClientErrors {
 public:
  void Record(rd_kafka_resp_err_t err, const char* reason);
  // The latest error, or "" if none since the last Clear().
  std::string Latest() const;
  // Whether an authentication failure was reported since the last Clear().
  bool AuthenticationFailed() const;
  void Clear();

 private:
  mutable std::mutex mu_;
  std::string latest_;                  // GUARDED_BY(mu_)
  bool authentication_failed_ = false;  // GUARDED_BY(mu_)
};

// `s` (a failure talking to the cluster) with what the client reported: an
// authentication failure becomes FailedPrecondition (retrying cannot fix it); an
// Unavailable status names the brokers and librdkafka's latest reason.
Status WithClientErrors(Status s, const ClientErrors& errors, const std::string& brokers,
                        const std::string& what);

struct ClientSpec {
  std::string what;  // "sink bus", "source": starts every message about this client
  std::string brokers;
  Settings walflow_settings;  // settings walflow needs (applied first)
  Properties user_settings;   // `properties:` from the file (may override defaults)
  // Set on the configuration before the handle is created (delivery report callback, ...).
  void (*prepare)(rd_kafka_conf_t* conf, void* opaque) = nullptr;
  void* opaque = nullptr;
};

// Checks one librdkafka setting (name and value) without creating a client; the error
// names the setting, never the value.
Status CheckSetting(const std::string& key, const std::string& value);

// The connection security settings among `properties` (security.*, ssl.*, sasl.*), for a
// helper client on the same cluster that must not take the main client's tuning.
Properties SecuritySettings(const Properties& properties);

// Creates a producer or consumer. `errors` (may be null) receives the error callbacks and
// must outlive the handle.
Result<Handle> NewClient(rd_kafka_type_t type, const ClientSpec& spec, ClientErrors* errors);

// A librdkafka error code as a Status: transient conditions (timeouts, brokers down) are
// Unavailable so that the pipeline retries; the rest need the operator.
Status FromCode(rd_kafka_resp_err_t err, const std::string& context);
// Takes ownership of `error` (which may be null: OK).
Status FromError(rd_kafka_error_t* error, const std::string& context);

struct TopicSpec {
  std::string name;
  int32_t partitions = -1;          // -1: the broker's default
  int32_t replication_factor = -1;  // -1: the broker's default
  Settings config;                  // e.g. {"cleanup.policy", "compact"}
};

// Creates the topics that do not exist. A cluster that does not offer topic creation (no
// answer within a few seconds, or a refusal) leaves them to its automatic creation:
// logged, not an error, and `*no_create_api` is set so that later calls skip asking.
Status EnsureTopics(rd_kafka_t* rk, const std::vector<TopicSpec>& topics,
                    std::chrono::milliseconds timeout, const std::string& what,
                    bool* no_create_api);

// Number of partitions of `topic`, or NotFound / Unavailable.
Result<int> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                           std::chrono::milliseconds timeout);

}  // namespace walflow::kafka
