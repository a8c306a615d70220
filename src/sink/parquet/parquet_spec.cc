#include "sink/parquet/parquet_spec.h"

#include <cstdlib>

#include "sink/local_path.h"

namespace walflow::sink {
namespace {

bool IsS3(const std::string& path) { return path.rfind("s3://", 0) == 0; }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

Status ParquetSinkSpec::Parse(ConfigReader& r) {
  ParquetSinkOptions& o = options;
  WF_RETURN_IF_ERROR(r.String("path", &o.path, true));
  WF_RETURN_IF_ERROR(
      r.Enum<format::parquet::Compression>("compression",
                                           {{"zstd", format::parquet::Compression::kZstd},
                                            {"snappy", format::parquet::Compression::kSnappy},
                                            {"none", format::parquet::Compression::kNone}},
                                           &o.compression));
  WF_RETURN_IF_ERROR(r.Size("max_file_size", &o.max_file_size));
  WF_RETURN_IF_ERROR(r.Duration("max_file_age", std::chrono::milliseconds(100), &o.max_file_age));
  WF_RETURN_IF_ERROR(r.Size("row_group_size", &o.row_group_size));
  if (o.row_group_size < (64u << 10)) {
    return ConfigError(r.At("row_group_size"), "must be at least 64KB");
  }
  std::string partition = "none";
  WF_RETURN_IF_ERROR(r.Enum<std::string>(
      "partition_by", {{"none", "none"}, {"commit_date", "commit_date"}}, &partition));
  o.partition_by_commit_date = partition == "commit_date";
  if (!IsS3(o.path)) {
    if (r.Has("s3")) return ConfigError(r.At("s3"), "s3 settings need an s3://bucket/prefix path");
    r.Get("s3");
    return Status::OK();
  }
  Status url = storage::ParseS3Url(o.path, &o.s3.bucket, &o.s3.prefix);
  if (!url.ok()) return ConfigError(r.At("path"), url.message());
  return ParseS3(r);
}

Status ParquetSinkSpec::ParseS3(ConfigReader& r) {
  storage::S3Options& s3 = options.s3;
  s3.access_key_id = Env("AWS_ACCESS_KEY_ID");
  s3.secret_access_key = Secret(Env("AWS_SECRET_ACCESS_KEY"));
  s3.session_token = Secret(Env("AWS_SESSION_TOKEN"));
  if (!Env("AWS_REGION").empty()) {
    s3.region = Env("AWS_REGION");
  } else if (!Env("AWS_DEFAULT_REGION").empty()) {
    s3.region = Env("AWS_DEFAULT_REGION");
  }
  if (r.Has("s3")) {
    ConfigReader m = r.Child("s3");
    WF_RETURN_IF_ERROR(m.CheckIsMap());
    WF_RETURN_IF_ERROR(m.String("endpoint", &s3.endpoint));
    if (!s3.endpoint.empty() && s3.endpoint.rfind("http://", 0) != 0 &&
        s3.endpoint.rfind("https://", 0) != 0) {
      return ConfigError(m.At("endpoint"), "expected an http:// or https:// URL");
    }
    WF_RETURN_IF_ERROR(m.String("region", &s3.region));
    WF_RETURN_IF_ERROR(m.String("access_key_id", &s3.access_key_id));
    WF_RETURN_IF_ERROR(m.SecretString("secret_access_key", &s3.secret_access_key));
    WF_RETURN_IF_ERROR(m.SecretString("session_token", &s3.session_token));
    WF_RETURN_IF_ERROR(m.Bool("path_style", &s3.path_style));
    WF_RETURN_IF_ERROR(m.Size("part_size", &s3.part_size));
    if (s3.part_size < (5u << 20)) return ConfigError(m.At("part_size"), "must be at least 5MB");
    WF_RETURN_IF_ERROR(m.Duration("timeout", std::chrono::milliseconds(1000), &s3.timeout));
    uint64_t attempts = s3.max_attempts;
    WF_RETURN_IF_ERROR(m.Integer("max_attempts", 1, 100, &attempts));
    s3.max_attempts = static_cast<int>(attempts);
    WF_RETURN_IF_ERROR(m.Finish());
  } else {
    r.Get("s3");
  }
  if (s3.access_key_id.empty() || s3.secret_access_key.empty()) {
    return ConfigError(location,
                       "no S3 credentials: set s3.access_key_id and s3.secret_access_key, or the "
                       "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return Status::OK();
}

std::string ParquetSinkSpec::Describe() const {
  std::string d =
      "parquet " + options.path + " (" + format::parquet::CompressionName(options.compression);
  if (!options.s3.endpoint.empty()) d += ", endpoint " + options.s3.endpoint;
  return d + ")";
}

SinkCapabilities ParquetSinkSpec::capabilities() const {
  SinkCapabilities caps;
  caps.transactional = true;  // a commit record names the files and the position
  caps.needs_transaction_boundaries = true;
  return caps;
}

std::unique_ptr<Sink> ParquetSinkSpec::Make(const SinkContext& context) const {
  ParquetSinkOptions o = options;
  o.name = name;
  o.s3.stop = context.stop;
  return std::make_unique<ParquetSink>(std::move(o));
}

SinkCheck ParquetSinkSpec::Check() const {
  SinkCheck check;
  const std::string where = "sink " + name + " (" + options.path + ")";
  ParquetSinkOptions o = options;
  o.name = name;
  auto position = ParquetSink::ReadPosition(o);
  if (!position.ok()) {
    check.ok = false;
    check.text = where + ": " + position.status().message();
  } else if (position->has_value()) {
    check.held = **position;
    check.text = where + " holds changes up to " + check.held.ToString();
  } else {
    check.text = where + " is empty";
  }
  return check;
}

std::string ParquetSinkSpec::Destination() const {
  return IsS3(options.path) ? options.path : CanonicalPath(options.path);
}

}  // namespace walflow::sink
