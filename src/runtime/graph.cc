#include "runtime/graph.h"

#include <algorithm>
#include <thread>

#include "core/log.h"

namespace walflow::runtime {

using std::chrono::milliseconds;

// While no batch comes, the operators are ticked this often (an idle commit is due soon).
constexpr milliseconds kIdleTick{25};

Result<std::unique_ptr<Graph>> Graph::Open(const PipelineConfig& config, GraphOptions options,
                                           std::vector<std::unique_ptr<Operator>> operators) {
  std::unique_ptr<Graph> g(new Graph);
  g->operators_ = std::move(operators);
  if (!g->operators_.empty()) {
    g->operator_queue_ =
        std::make_unique<BoundedQueue<ChangeBatchPtr>>(std::max<size_t>(config.queue_batches, 1));
  }
  for (const auto& spec : config.sinks) {
    const sink::SinkCapabilities caps = spec->capabilities();
    SinkWorkerOptions wo;
    wo.queue_batches = config.queue_batches;
    wo.flush_interval = spec->flush_interval;
    wo.from = spec->from;
    wo.needs_transaction_boundaries = caps.needs_transaction_boundaries;
    wo.metrics = options.metrics;
    auto w = std::make_unique<SinkWorker>(spec->Make(options.sink_context), std::move(wo));
    WF_ASSIGN_OR_RETURN(Lsn durable, w->Open());
    SinkHolding h{spec->name, durable, {}};
    if (options.partitioned_source) {
      WF_RETURN_IF_ERROR(w->UseSourceOffsets());
      h.offsets = w->held_offsets();
    }
    std::string holds;
    if (options.partitioned_source) {
      holds = h.offsets.empty() ? "holds nothing from Kafka yet"
                                : "holds " + FormatSourceOffsets(h.offsets);
    } else {
      holds = durable.valid() ? "holds changes up to " + durable.ToString() : "empty";
    }
    std::string from =
        spec->from.empty() ? "every table" : fmt::format("{}", fmt::join(spec->from, ", "));
    WF_LOG_INFO("sink", "sink {} ({}, {}; from {}): {}", spec->name, spec->Describe(),
                sink::DescribeGuarantee(caps), from, holds);
    g->holdings_.push_back(std::move(h));
    g->workers_.push_back(std::move(w));
  }
  // Operators after the sinks: an operator without state starts past what any sink holds.
  Lsn sinks_hold;
  for (const SinkHolding& h : g->holdings_) sinks_hold = std::max(sinks_hold, h.durable);
  for (auto& op : g->operators_) {
    WF_ASSIGN_OR_RETURN(Lsn held, op->Open(sinks_hold));
    WF_LOG_INFO("graph", "operator {}: {}", op->name(),
                held.valid() ? "state up to " + held.ToString() : "empty");
    if (op->stateful()) {
      SinkHolding h{op->holding_name(), held, {}};
      h.is_operator = true;
      h.tables = op->input_tables();
      g->holdings_.push_back(std::move(h));
    }
  }
  return g;
}

Graph::~Graph() { (void)Finish(Status::OK()); }

void Graph::Start() {
  for (auto& w : workers_) w->Start();
  if (operator_queue_ && !operator_thread_.joinable()) {
    operator_thread_ = std::thread([this] { RunOperators(); });
  }
}

Status Graph::OperatorError() const {
  if (!operators_failed_.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard<std::mutex> lock(operator_error_mu_);
  return operator_error_;
}

Status Graph::Health() const {
  for (const auto& w : workers_) {
    if (w->failed()) return w->error();
  }
  return OperatorError();
}

Status Graph::Tick() { return Health(); }

Status Graph::TickOperators() {
  const Lsn sinks = SinksDurable();
  const bool idle = operator_queue_->size() == 0;
  for (auto& op : operators_) WF_RETURN_IF_ERROR(op->Tick(sinks, idle));
  return Status::OK();
}

Status Graph::PushToSinks(const ChangeBatchPtr& b, const std::function<Status()>& while_full) {
  for (auto& w : workers_) {
    while (!w->Push(b, milliseconds(100))) {
      WF_RETURN_IF_ERROR(Health());
      WF_RETURN_IF_ERROR(while_full());
    }
  }
  return Status::OK();
}

Status Graph::ApplyOperators(const ChangeBatchPtr& batch) {
  // Each operator sees what the ones before it handed on (a view reads another's output).
  std::vector<ChangeBatchPtr> current{batch}, next;
  for (auto& op : operators_) {
    next.clear();
    for (const auto& b : current) WF_RETURN_IF_ERROR(op->Apply(b, &next));
    current.swap(next);
  }
  // A slow sink slows this thread, whose full queue slows the source.
  for (const auto& b : current) {
    WF_RETURN_IF_ERROR(PushToSinks(b, [] { return Status::OK(); }));
  }
  return TickOperators();
}

void Graph::RunOperators() {
  while (true) {
    bool drained = false;
    std::optional<ChangeBatchPtr> batch = operator_queue_->Pop(kIdleTick, &drained);
    if (drained) return;
    Status s = batch ? ApplyOperators(*batch) : TickOperators();
    if (!s.ok()) {
      {
        std::lock_guard<std::mutex> lock(operator_error_mu_);
        operator_error_ = s;
      }
      operators_failed_.store(true, std::memory_order_release);
      return;
    }
  }
}

Status Graph::Deliver(const ChangeBatchPtr& batch, const std::function<Status()>& while_full) {
  if (finishing_.load(std::memory_order_acquire)) {
    return FailedPrecondition("the pipeline graph is shutting down");
  }
  if (!operator_queue_) return PushToSinks(batch, while_full);
  WF_RETURN_IF_ERROR(Health());
  while (!operator_queue_->Push(batch, milliseconds(100))) {
    WF_RETURN_IF_ERROR(Health());
    WF_RETURN_IF_ERROR(while_full());
  }
  return Status::OK();
}

Lsn Graph::SinksDurable() const {
  Lsn m;
  bool first = true;
  for (const auto& w : workers_) {
    const Lsn d = w->durable();
    if (first || d < m) m = d;
    first = false;
  }
  return m;
}

Lsn Graph::Durable() const {
  // A graph always has a sink (the config requires one), so SinksDurable() is a bound.
  Lsn m = SinksDurable();
  for (const auto& op : operators_) {
    if (op->stateful()) m = std::min(m, op->durable());
  }
  return m;
}

bool Graph::WaitDurable(Lsn target, milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Durable() < target) {
    if (!Health().ok() || std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

std::vector<SourceOffsets> Graph::HeldOffsets() const {
  std::vector<SourceOffsets> out;
  for (const auto& w : workers_) out.push_back(w->held_offsets());
  return out;
}

uint64_t Graph::events_written() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n = std::max(n, w->events_written());
  return n;
}

Status Graph::Finish(Status cause) {
  if (!finished_.exchange(true)) {
    finishing_.store(true, std::memory_order_release);
    // The operators take what is queued first (unless one failed), then the sinks drain.
    if (operator_queue_) operator_queue_->Close();
    if (operator_thread_.joinable()) operator_thread_.join();
    finish_status_ = OperatorError();
    for (auto& w : workers_) {
      Status s = w->Finish();
      if (finish_status_.ok() && !s.ok()) finish_status_ = s;
    }
    for (auto& op : operators_) {
      Status s = op->Close();
      if (finish_status_.ok() && !s.ok()) finish_status_ = s;
    }
  }
  return cause.ok() ? finish_status_ : cause;
}

}  // namespace walflow::runtime
