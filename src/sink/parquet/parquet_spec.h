// The parquet sink's options in the pipeline file (type: parquet).
#pragma once

#include "sink/parquet/parquet_sink.h"
#include "sink/registry.h"

namespace walflow::sink {

class ParquetSinkSpec final : public SinkSpec {
 public:
  // name, s3.stop and keep_commit_records are filled in by Make.
  ParquetSinkOptions options;

  Status Parse(ConfigReader& reader) override;
  std::string Describe() const override;
  SinkCapabilities capabilities() const override;
  std::unique_ptr<Sink> Make(const SinkContext& context) const override;
  SinkCheck Check() const override;
  std::string Destination() const override;

 private:
  Status ParseS3(ConfigReader& reader);
};

}  // namespace walflow::sink
