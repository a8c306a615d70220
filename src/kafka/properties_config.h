// `properties:` in the pipeline file: librdkafka settings passed through, for the Kafka sink
// and the Kafka source alike.
#pragma once

#include "core/config_reader.h"
#include "kafka/client.h"

namespace walflow::kafka {

// Reads `properties: {compression.type: zstd, ...}` (absent: none). Each setting is checked
// by librdkafka now, so a bad one is an error naming file:line:key, never its value; the
// settings walflow controls itself are refused.
Status ReadProperties(ConfigReader& reader, Properties* out);

}  // namespace walflow::kafka
