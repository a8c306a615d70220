#include "sink/jsonl/jsonl_spec.h"

#include <unistd.h>

#include "sink/local_path.h"

namespace walflow::sink {

Status JsonlSinkSpec::Parse(ConfigReader& r) {
  WF_RETURN_IF_ERROR(r.String("path", &path, true));
  WF_RETURN_IF_ERROR(encoding.Parse(r));
  return r.Size("max_file_size", &max_file_size);
}

SinkCapabilities JsonlSinkSpec::capabilities() const {
  // The position file names the byte offset that is durable; Open() truncates past it.
  SinkCapabilities caps;
  caps.transactional = true;
  return caps;
}

std::unique_ptr<Sink> JsonlSinkSpec::Make(const SinkContext& context) const {
  JsonlSinkOptions o;
  o.name = name;
  o.path = path;
  o.max_file_size = max_file_size;
  o.encoding = encoding.For(context);
  return std::make_unique<JsonlSink>(std::move(o));
}

SinkCheck JsonlSinkSpec::Check() const {
  SinkCheck check;
  const std::string where = "sink " + name + " (" + path + ")";
  const std::string dir = NearestExistingDirectory(path);
  if (::access(dir.c_str(), W_OK) != 0) {
    check.ok = false;
    check.text = where + ": " + dir + " is not writable";
    return check;
  }
  auto position = JsonlSink::ReadPosition(path);
  if (!position.ok()) {
    check.ok = false;
    check.text = where + ": " + position.status().message();
  } else if (position->has_value() && (*position)->end_lsn.valid()) {
    check.held = (*position)->end_lsn;
    check.text = where + " holds changes up to " + check.held.ToString();
  } else {
    check.text = where + " is empty";
  }
  return check;
}

std::string JsonlSinkSpec::Destination() const { return CanonicalPath(path); }

}  // namespace walflow::sink
