#include "pg/heartbeat.h"

#include <memory>

#include "core/log.h"
#include "pg/connection.h"

namespace walflow::pg {

const char* const kHeartbeatPrefix = "walflow_heartbeat";

Heartbeat::Heartbeat(Secret dsn, std::chrono::milliseconds interval, std::string slot)
    : dsn_(std::move(dsn)), interval_(interval), slot_(std::move(slot)) {
  if (interval_.count() > 0) thread_ = std::thread([this] { Run(); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::Run() {
  std::unique_ptr<Connection> conn;
  bool warned = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [&] { return stop_; })) {
    lock.unlock();
    if (!conn) {
      auto c = Connection::Open(dsn_.Reveal(), Connection::Kind::kSql, "walflow-heartbeat");
      if (c.ok()) conn = std::move(c).value();
    }
    if (conn) {
      Status s =
          conn->Query("SELECT pg_logical_emit_message(false, $1, $2)", {kHeartbeatPrefix, slot_})
              .status();
      if (!s.ok()) {
        if (!warned) WF_LOG_WARN("pg", "heartbeat failed (will retry): {}", s.message());
        warned = true;
        conn.reset();
      }
    }
    lock.lock();
  }
}

}  // namespace walflow::pg
