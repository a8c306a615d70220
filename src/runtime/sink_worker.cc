#include "runtime/sink_worker.h"

#include <algorithm>

#include "core/log.h"

namespace walflow::runtime {

SinkWorker::SinkWorker(std::unique_ptr<sink::Sink> sink, size_t queue_batches,
                       std::chrono::milliseconds flush_interval)
    : sink_(std::move(sink)), queue_(queue_batches), flush_interval_(flush_interval) {}

SinkWorker::~SinkWorker() {
  if (thread_.joinable()) {
    queue_.Close();
    thread_.join();
  }
}

Result<Lsn> SinkWorker::Open() {
  WF_ASSIGN_OR_RETURN(resume_, sink_->Open());
  durable_.store(resume_.value);
  skipping_ = resume_.valid();
  return resume_;
}

Status SinkWorker::UseSourceOffsets() {
  auto held = ParseSourceOffsets(sink_->durable_source_state());
  if (!held.ok()) return held.status().WithContext("sink " + sink_->name());
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    held_ = std::move(held).value();
  }
  by_offsets_ = true;
  skipping_ = false;  // LSNs of a partitioned source are not an order
  return Status::OK();
}

SourceOffsets SinkWorker::held_offsets() const {
  std::lock_guard<std::mutex> lock(held_mu_);
  return held_;
}

void SinkWorker::Start() {
  thread_ = std::thread([this] { Run(); });
}

bool SinkWorker::Push(const ChangeBatchPtr& batch, std::chrono::milliseconds timeout) {
  if (failed_.load()) return false;
  return queue_.Push(batch, timeout);
}

Status SinkWorker::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

void SinkWorker::Fail(Status s) {
  WF_LOG_ERROR("sink", "sink {} failed: {}", sink_->name(), s.message());
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error_ = std::move(s);
  }
  failed_.store(true);
  queue_.Close();
}

Status SinkWorker::Handle(const ChangeBatch& batch) {
  size_t first_change = 0, first_marker = 0;
  for (const std::string& holder : batch.held_by()) {
    // A snapshot chunk delivered again for sinks that lack it; this one holds it.
    if (holder == sink_->name()) return Status::OK();
  }
  if (skipping_) {
    // Batches arrive in commit order, so what the sink already holds is a prefix.
    const auto& changes = batch.changes();
    const auto& markers = batch.markers();
    while (first_change < changes.size() && changes[first_change].commit_lsn < resume_) {
      ++first_change;
    }
    while (first_marker < markers.size() && markers[first_marker].end_lsn <= resume_) {
      ++first_marker;
    }
    if (first_change < changes.size() || first_marker < markers.size()) skipping_ = false;
    if (first_change > 0) {
      WF_LOG_DEBUG("sink", "sink {}: skipped {} change(s) it already holds", sink_->name(),
                   first_change);
    }
  }
  if (by_offsets_ && !batch.markers().empty()) {
    // Everything handled is durable after the next checkpoint, skipped batches included.
    handled_end_ = batch.markers().back().end_lsn;
  }
  SourceOffsets held_now;
  if (by_offsets_) {
    // Records of one partition, a marker per record whose commit_lsn is its offset + 1.
    std::lock_guard<std::mutex> lock(held_mu_);
    const auto& markers = batch.markers();
    int64_t& held = held_[batch.source_stream()];  // 0 when new: nothing to skip
    while (first_marker < markers.size() &&
           static_cast<int64_t>(markers[first_marker].commit_lsn.value) <= held) {
      ++first_marker;
    }
    if (first_marker > 0) first_change = markers[first_marker - 1].change_end;
    // Handed over now (written below, or held already): a partition read again from an
    // older offset later in this run skips it too.
    if (!markers.empty()) {
      held = std::max(held, static_cast<int64_t>(markers.back().commit_lsn.value));
    }
    held_now = held_;
  }
  if (first_change == batch.changes().size() && first_marker == batch.markers().size()) {
    return Status::OK();
  }
  WF_RETURN_IF_ERROR(sink_->Write(sink::BatchSlice(batch, first_change, first_marker)));
  if (by_offsets_ && !batch.markers().empty()) written_end_ = batch.markers().back().end_lsn;
  if (by_offsets_ && !batch.source_state().empty()) {
    WF_ASSIGN_OR_RETURN(SourceOffsets state, ParseSourceOffsets(batch.source_state()));
    MergeSourceOffsets(held_now, &state);
    sink_->NoteSourceState(FormatSourceOffsets(state));
  }
  events_.fetch_add(batch.changes().size() - first_change);
  return Status::OK();
}

void SinkWorker::Publish(Lsn durable) {
  // Skipped batches never reach the sink, so its own position stops at the last one it
  // wrote; once that is durable, so is everything handled (UseSourceOffsets).
  if (durable >= written_end_ && handled_end_ > durable) durable = handled_end_;
  durable_.store(durable.value);
}

void SinkWorker::Run() {
  using Clock = std::chrono::steady_clock;
  // Under load a checkpoint every flush interval; when the queue runs dry, sooner, so
  // that a quiet stream is confirmed quickly without an fsync per small batch.
  const auto idle_spacing =
      std::min<std::chrono::milliseconds>(kIdleCheckpointSpacing, flush_interval_);
  auto last_checkpoint = Clock::now();
  auto next_checkpoint = last_checkpoint + flush_interval_;
  bool dirty = false;
  while (true) {
    auto deadline =
        dirty ? std::min(next_checkpoint, last_checkpoint + idle_spacing) : next_checkpoint;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    bool drained = false;
    auto batch = queue_.Pop(wait, &drained);
    if (failed_.load()) return;
    if (batch) {
      Status s = Handle(**batch);
      if (!s.ok()) return Fail(std::move(s));
      dirty = true;
    }
    if (drained) return;
    auto now = Clock::now();
    bool idle = !batch || queue_.size() == 0;
    if (now >= next_checkpoint || (dirty && idle && now - last_checkpoint >= idle_spacing)) {
      auto durable = sink_->Checkpoint();
      if (!durable.ok()) return Fail(durable.status());
      Publish(*durable);
      dirty = false;
      last_checkpoint = Clock::now();
      next_checkpoint = last_checkpoint + flush_interval_;
    }
  }
}

Status SinkWorker::Finish() {
  if (finished_) return error();
  finished_ = true;
  queue_.Close();
  if (thread_.joinable()) thread_.join();
  if (failed_.load()) {
    (void)sink_->Close();
    return error();
  }
  auto durable = sink_->Flush();
  if (!durable.ok()) return durable.status();
  Publish(*durable);
  return sink_->Close();
}

}  // namespace walflow::runtime
