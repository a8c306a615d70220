// Kafka Connect's Decimal (and the value of Debezium's VariableScaleDecimal) as JSON carries
// it: the unscaled integer as base64 of its big-endian two's-complement bytes (Java's
// BigInteger.toByteArray), the scale beside it in the schema or the struct. The inverse of
// pg::DecimalToUnscaled followed by pg::AppendBase64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace walflow::format {

// PostgreSQL's numeric holds at most 131072 digits before the point and 16383 after it
// (about 61 KiB as an unscaled integer); longer values are refused, not converted.
inline constexpr size_t kMaxDecimalBytes = 64 * 1024;
inline constexpr int32_t kMaxDecimalScale = 16383;

// Standard base64 with '=' padding, as Jackson writes byte arrays; false for any other text
// (missing padding, line breaks, the URL-safe alphabet). `out` is replaced.
bool DecodeBase64(std::string_view base64, std::string* out);

// Appends the numeric text (pg::AppendNumeric) of the decimal whose unscaled value is
// `base64`. InvalidArgument for bad base64, no bytes, or more than kMaxDecimalBytes.
Status AppendBase64Decimal(std::string_view base64, int32_t scale, std::string* out);

}  // namespace walflow::format
