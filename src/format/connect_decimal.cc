#include "format/connect_decimal.h"

#include "format/debezium_reader_internal.h"
#include "pg/text_format.h"

namespace walflow::format {

bool DecodeBase64(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  if (in.size() % 4 != 0) return false;
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=') pad = in[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = k >= 4 - pad ? 0 : value(in[i + k]);
      if (d < 0) return false;
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>(v >> 16));
    if (pad < 2) out->push_back(static_cast<char>(v >> 8 & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(v & 0xff));
  }
  return true;
}

Status AppendBase64Decimal(std::string_view base64, int32_t scale, std::string* out) {
  std::string bytes;
  if (!DecodeBase64(base64, &bytes)) return InvalidArgument("bad base64 " + Shown(base64));
  if (bytes.empty()) return InvalidArgument("empty decimal value");
  if (bytes.size() > kMaxDecimalBytes) {
    return InvalidArgument("decimal of " + std::to_string(bytes.size()) +
                           " bytes is longer than a PostgreSQL numeric can be");
  }
  pg::AppendNumeric(bytes, scale, out);
  return Status::OK();
}

}  // namespace walflow::format
