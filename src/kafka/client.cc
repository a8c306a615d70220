#include "kafka/client.h"

#include <algorithm>
#include <cstring>

#include "core/log.h"

namespace walflow::kafka {
namespace {

void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // syslog levels: 0..3 errors, 4 warning, 5..6 notice/info, 7 debug.
  if (level <= 3) {
    WF_LOG_ERROR("kafka", "{}: {}: {}", rd_kafka_name(rk), fac, buf);
  } else if (level == 4) {
    WF_LOG_WARN("kafka", "{}: {}: {}", rd_kafka_name(rk), fac, buf);
  } else {
    WF_LOG_DEBUG("kafka", "{}: {}: {}", rd_kafka_name(rk), fac, buf);
  }
}

void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* errors = static_cast<ClientErrors*>(opaque);
  if (errors) errors->Record(static_cast<rd_kafka_resp_err_t>(err), reason);
  WF_LOG_DEBUG("kafka", "{}: {}", rd_kafka_name(rk), reason);
}

Status SetOne(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
              const std::string& what, bool from_file) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    // librdkafka's message may quote the value; name the property only.
    return InvalidArgument(
        what + ": librdkafka setting '" + key + "'" + (from_file ? " (properties)" : "") +
        (std::strstr(err, "No such configuration property") ? ": no such setting"
                                                            : ": invalid value"));
  }
  return Status::OK();
}

}  // namespace

Status CheckSetting(const std::string& key, const std::string& value) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err);
  rd_kafka_conf_destroy(conf);
  if (res == RD_KAFKA_CONF_UNKNOWN) return InvalidArgument("no such librdkafka setting");
  if (res != RD_KAFKA_CONF_OK) return InvalidArgument("invalid value for this librdkafka setting");
  return Status::OK();
}

Properties SecuritySettings(const Properties& properties) {
  Properties out;
  for (const auto& [k, v] : properties) {
    if (k.rfind("security.", 0) == 0 || k.rfind("ssl.", 0) == 0 || k.rfind("sasl.", 0) == 0) {
      out.emplace_back(k, v);
    }
  }
  return out;
}

void HandleDeleter::operator()(rd_kafka_t* rk) const {
  if (rk) rd_kafka_destroy(rk);
}

void ClientErrors::Record(rd_kafka_resp_err_t err, const char* reason) {
  std::lock_guard<std::mutex> lock(mu_);
  latest_ = reason ? reason : rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
      err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
      err == RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM ||
      err == RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE) {
    authentication_failed_ = true;
  }
}

bool ClientErrors::AuthenticationFailed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return authentication_failed_;
}

std::string ClientErrors::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

void ClientErrors::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  latest_.clear();
  authentication_failed_ = false;
}

Status WithClientErrors(Status s, const ClientErrors& errors, const std::string& brokers,
                        const std::string& what) {
  std::string latest = errors.Latest();
  if (errors.AuthenticationFailed()) {
    return FailedPrecondition(what + ": authentication with the brokers " + brokers + " failed: " +
                              latest + " (check the sasl.* and ssl.* settings in properties)");
  }
  if (s.code() != StatusCode::kUnavailable) return s;
  return Unavailable(s.message() + " (brokers " + brokers + (latest.empty() ? "" : ": " + latest) +
                     ")");
}

Result<Handle> NewClient(rd_kafka_type_t type, const ClientSpec& spec, ClientErrors* errors) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto fail = [&](Status s) {
    rd_kafka_conf_destroy(conf);
    return s;
  };
  Status s = SetOne(conf, "bootstrap.servers", spec.brokers, spec.what, false);
  if (!s.ok()) return fail(InvalidArgument(spec.what + ": brokers: not a valid broker list"));
  for (const auto& [k, v] : spec.walflow_settings) {
    s = SetOne(conf, k, v, spec.what, false);
    if (!s.ok()) return fail(s);
  }
  for (const auto& [k, v] : spec.user_settings) {
    s = SetOne(conf, k, v.Reveal(), spec.what, true);
    if (!s.ok()) return fail(s);
  }
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  rd_kafka_conf_set_error_cb(conf, ErrorCallback);
  rd_kafka_conf_set_opaque(conf, errors);
  if (spec.prepare) spec.prepare(conf, spec.opaque);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) return fail(InvalidArgument(spec.what + ": cannot create the Kafka client: " + err));
  return Handle(rk);
}

Status FromCode(rd_kafka_resp_err_t err, const std::string& context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  std::string message = context + ": " + rd_kafka_err2str(err);
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: return Unavailable(message);
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION: return FailedPrecondition(message);
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
      return FailedPrecondition(message +
                                " (another producer uses the same transactional_id: two "
                                "pipelines must not share one)");
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return InvalidArgument(message +
                             " (raise message.max.bytes in properties and the topic's "
                             "max.message.bytes)");
    default: return Unavailable(message);
  }
}

Status FromError(rd_kafka_error_t* error, const std::string& context) {
  if (!error) return Status::OK();
  rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  std::string detail = rd_kafka_error_string(error);
  bool fatal = rd_kafka_error_is_fatal(error);
  bool retriable = rd_kafka_error_is_retriable(error);
  rd_kafka_error_destroy(error);
  Status s = FromCode(code, context);
  std::string message = context + ": " + detail;
  if (fatal && s.code() == StatusCode::kUnavailable) return Aborted(message);
  if (retriable) return Unavailable(message);
  return Status(s.code(), message);
}

Status EnsureTopics(rd_kafka_t* rk, const std::vector<TopicSpec>& wanted,
                    std::chrono::milliseconds timeout, const std::string& what,
                    bool* no_create_api) {
  if (wanted.empty() || *no_create_api) return Status::OK();
  // Which exist: metadata of all topics (asking for one topic may auto-create it with the
  // broker's defaults).
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t merr =
      rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (merr) return FromCode(merr, what + ": listing topics");
  std::vector<TopicSpec> topics;
  for (const TopicSpec& t : wanted) {
    bool exists = false;
    for (int i = 0; i < md->topic_cnt && !exists; ++i) {
      exists = t.name == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (!exists) topics.push_back(t);
  }
  rd_kafka_metadata_destroy(md);
  if (topics.empty()) return Status::OK();
  // Clusters without the CreateTopics API leave the request unanswered; do not wait long.
  timeout = std::min(timeout, std::chrono::milliseconds(5000));
  std::vector<rd_kafka_NewTopic_t*> specs;
  char err[512];
  for (const TopicSpec& t : topics) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, err, sizeof err);
    if (!nt) {
      for (auto* s : specs) rd_kafka_NewTopic_destroy(s);
      return InvalidArgument(what + ": topic " + t.name + ": " + err);
    }
    for (const auto& [k, v] : t.config) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    specs.push_back(nt);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_CreateTopics(rk, specs.data(), specs.size(), options, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000);
  Status status;
  rd_kafka_resp_err_t code = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
  if (code) {
    if (code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION ||
        code == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
        code == RD_KAFKA_RESP_ERR_INVALID_REQUEST || code == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      WF_LOG_WARN("kafka",
                  "{}: the cluster did not create topic {} ({}); topics are left to "
                  "its automatic creation, with its default partition count",
                  what, topics[0].name, rd_kafka_err2str(code));
      *no_create_api = true;
    } else {
      status = FromCode(code, what + ": creating topics");
    }
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t code = rd_kafka_topic_result_error(results[i]);
      const char* name = rd_kafka_topic_result_name(results[i]);
      if (code == RD_KAFKA_RESP_ERR_NO_ERROR) {
        WF_LOG_INFO("kafka", "{}: created topic {}", what, name);
      } else if (code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        WF_LOG_WARN("kafka",
                    "{}: could not create topic {} ({}); relying on the broker's "
                    "automatic topic creation",
                    what, name, msg ? msg : rd_kafka_err2str(code));
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* s : specs) rd_kafka_NewTopic_destroy(s);
  return status;
}

Result<int> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                           std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err) return FromCode(err, "metadata of topic " + topic);
  int count = -1;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic == md->topics[i].topic) {
      topic_err = md->topics[i].err;
      count = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || count <= 0) {
    return NotFound("topic " + topic + " does not exist");
  }
  if (topic_err) return FromCode(topic_err, "metadata of topic " + topic);
  return count;
}

}  // namespace walflow::kafka
