// The jsonl sink's options in the pipeline file (type: jsonl).
#pragma once

#include "sink/jsonl/jsonl_sink.h"
#include "sink/registry.h"

namespace walflow::sink {

class JsonlSinkSpec final : public SinkSpec {
 public:
  std::string path;
  uint64_t max_file_size = 64ull << 20;
  EventEncodingSpec encoding;

  Status Parse(ConfigReader& reader) override;
  std::string Describe() const override { return "jsonl " + path; }
  SinkCapabilities capabilities() const override;
  std::unique_ptr<Sink> Make(const SinkContext& context) const override;
  SinkCheck Check() const override;
  std::string Destination() const override;
};

}  // namespace walflow::sink
