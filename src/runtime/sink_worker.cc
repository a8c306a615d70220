#include "runtime/sink_worker.h"

#include <algorithm>

#include "core/log.h"

namespace walflow::runtime {
namespace {

// The worker's metrics, declared once here; labelled by sink name.
struct SinkWorkerMetrics {
  CounterFamily* events = nullptr;
  CounterFamily* checkpoints = nullptr;
  GaugeFamily* durable = nullptr;
  GaugeFamily* queued = nullptr;
  HistogramFamily* checkpoint_seconds = nullptr;

  explicit SinkWorkerMetrics(MetricsRegistry& r) {
    events =
        r.DeclareCounter("walflow_sink_events_total", "Change events handed to the sink.", {"sink"})
            .value();
    checkpoints = r.DeclareCounter("walflow_sink_checkpoints_total",
                                   "Checkpoints that made the sink's writes durable.", {"sink"})
                      .value();
    durable = r.DeclareGauge("walflow_sink_durable_position",
                             "Position (LSN, or a sequence for Kafka sources) up to which the "
                             "sink's data is durable.",
                             {"sink"})
                  .value();
    queued = r.DeclareGauge("walflow_sink_queued_batches", "Batches waiting in the sink's queue.",
                            {"sink"})
                 .value();
    checkpoint_seconds =
        r.DeclareHistogram("walflow_sink_checkpoint_seconds", "Time a checkpoint took.",
                           DefaultLatencyBuckets(), {"sink"})
            .value();
  }
};

}  // namespace

SinkWorker::SinkWorker(std::unique_ptr<sink::Sink> sink, size_t queue_batches,
                       std::chrono::milliseconds flush_interval)
    : SinkWorker(std::move(sink), SinkWorkerOptions{queue_batches, flush_interval}) {}

SinkWorker::SinkWorker(std::unique_ptr<sink::Sink> sink, SinkWorkerOptions options)
    : sink_(std::move(sink)), options_(std::move(options)), queue_(options_.queue_batches) {
  if (!options_.from.empty()) selection_.emplace(options_.from);
  if (options_.metrics) {
    SinkWorkerMetrics m(*options_.metrics);
    const LabelValues labels{sink_->name()};
    events_metric_ = m.events->With(labels);
    checkpoints_metric_ = m.checkpoints->With(labels);
    durable_metric_ = m.durable->With(labels);
    checkpoint_seconds_ = m.checkpoint_seconds->With(labels);
    auto reg = m.queued->WithCallback(labels, [this] { return double(queue_.size()); });
    if (reg.ok()) queue_metric_ = std::move(reg).value();
  }
}

SinkWorker::~SinkWorker() {
  if (thread_.joinable()) {
    queue_.Close();
    thread_.join();
  }
  queue_metric_.Reset();
}

Result<Lsn> SinkWorker::Open() {
  WF_ASSIGN_OR_RETURN(resume_, sink_->Open());
  durable_.store(resume_.value);
  if (durable_metric_) durable_metric_->Set(double(resume_.value));
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

Status SinkWorker::WriteSlice(const sink::BatchSlice& slice) {
  if (slice.first_change == slice.end_change && slice.first_marker == slice.end_marker) {
    return Status::OK();
  }
  WF_RETURN_IF_ERROR(sink_->Write(slice));
  const auto& markers = slice.batch->markers();
  if (slice.first_marker < slice.end_marker) {
    // Changes after the slice's last marker belong to a transaction still open.
    in_transaction_ = slice.end_change > markers[slice.end_marker - 1].change_end;
  } else if (slice.end_change > slice.first_change) {
    in_transaction_ = true;
  }
  dirty_ = true;
  return Status::OK();
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
    // Records of one partition, one marker per record.
    std::lock_guard<std::mutex> lock(held_mu_);
    const auto& markers = batch.markers();
    int64_t& held = held_[batch.source_stream()];  // next offset to take; 0 when new
    while (first_marker < markers.size() && markers[first_marker].source_offset < held) {
      ++first_marker;
    }
    if (first_marker > 0) first_change = markers[first_marker - 1].change_end;
    // Handed over now (written below, or held already): a partition read again from an
    // older offset later in this run skips it too.
    if (!markers.empty()) held = std::max(held, markers.back().source_offset + 1);
    held_now = held_;
  }
  if (first_change == batch.changes().size() && first_marker == batch.markers().size()) {
    return Status::OK();
  }
  sink::BatchSlice slice(batch, first_change, first_marker);
  if (selection_) slice.selection = &*selection_;
  if (options_.needs_transaction_boundaries && in_transaction_ &&
      CheckpointDue(Clock::now(), false) && first_marker < slice.end_marker) {
    // Due while a transaction is open: write up to its end, checkpoint there, go on.
    sink::BatchSlice head = slice;
    head.end_marker = first_marker + 1;
    head.end_change = batch.markers()[first_marker].change_end;
    WF_RETURN_IF_ERROR(WriteSlice(head));
    WF_RETURN_IF_ERROR(CheckpointNow());
    slice.first_change = head.end_change;
    slice.first_marker = head.end_marker;
  }
  WF_RETURN_IF_ERROR(WriteSlice(slice));
  if (by_offsets_ && !batch.markers().empty()) written_end_ = batch.markers().back().end_lsn;
  if (by_offsets_ && !batch.source_state().empty()) {
    WF_ASSIGN_OR_RETURN(SourceOffsets state, ParseSourceOffsets(batch.source_state()));
    MergeSourceOffsets(held_now, &state);
    sink_->NoteSourceState(FormatSourceOffsets(state));
  }
  uint64_t handed = batch.changes().size() - first_change;
  if (selection_) {
    handed = 0;
    for (size_t i = first_change; i < batch.changes().size(); ++i) {
      handed += selection_->Selects(*batch.changes()[i].table);
    }
  }
  events_.fetch_add(handed);
  if (events_metric_) events_metric_->Add(handed);
  return Status::OK();
}

void SinkWorker::Publish(Lsn durable) {
  // Skipped batches never reach the sink, so its own position stops at the last one it
  // wrote; once that is durable, so is everything handled (UseSourceOffsets).
  if (durable >= written_end_ && handled_end_ > durable) durable = handled_end_;
  durable_.store(durable.value);
  if (durable_metric_) durable_metric_->Set(double(durable.value));
}

bool SinkWorker::CheckpointDue(Clock::time_point now, bool idle) const {
  // Under load a checkpoint every flush interval; when the queue runs dry, sooner, so that
  // a quiet stream is confirmed quickly without an fsync per small batch.
  const auto idle_spacing =
      std::min<std::chrono::milliseconds>(kIdleCheckpointSpacing, options_.flush_interval);
  return now >= next_checkpoint_ || (dirty_ && idle && now - last_checkpoint_ >= idle_spacing);
}

Status SinkWorker::CheckpointNow() {
  const auto started = Clock::now();
  auto durable = sink_->Checkpoint();
  if (!durable.ok()) return durable.status();
  Publish(*durable);
  dirty_ = false;
  last_checkpoint_ = Clock::now();
  next_checkpoint_ = last_checkpoint_ + options_.flush_interval;
  if (checkpoints_metric_) {
    checkpoints_metric_->Add();
    checkpoint_seconds_->Observe(std::chrono::duration<double>(last_checkpoint_ - started).count());
  }
  return Status::OK();
}

void SinkWorker::Run() {
  const auto idle_spacing =
      std::min<std::chrono::milliseconds>(kIdleCheckpointSpacing, options_.flush_interval);
  last_checkpoint_ = Clock::now();
  next_checkpoint_ = last_checkpoint_ + options_.flush_interval;
  while (true) {
    auto deadline =
        dirty_ ? std::min(next_checkpoint_, last_checkpoint_ + idle_spacing) : next_checkpoint_;
    // While a transaction is open such a sink cannot checkpoint: only its marker (the next
    // batch) can change that, so wait for it rather than for the deadline.
    if (options_.needs_transaction_boundaries && in_transaction_) {
      deadline = Clock::now() + options_.flush_interval;
    }
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    bool drained = false;
    auto batch = queue_.Pop(wait, &drained);
    if (failed_.load()) return;
    if (batch) {
      Status s = Handle(**batch);
      if (!s.ok()) return Fail(std::move(s));
    }
    if (drained) return;
    const bool idle = !batch || queue_.size() == 0;
    // A sink that needs transaction boundaries waits for the open transaction's marker.
    if (CheckpointDue(Clock::now(), idle) &&
        !(options_.needs_transaction_boundaries && in_transaction_)) {
      Status s = CheckpointNow();
      if (!s.ok()) return Fail(std::move(s));
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
