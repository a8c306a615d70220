// Fuzz target for everything that parses bytes from the server: the pgoutput decoder,
// change assembly (including spooled streamed transactions) and the text codecs behind
// the Debezium encoder. Input: a sequence of [u16 length][message] frames.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "format/debezium_json.h"
#include "pg/change_assembler.h"

namespace {

std::string SpoolDir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/walflow-fuzz-XXXXXX";
    const char* d = mkdtemp(tmpl);
    return std::string(d ? d : "/tmp");
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace walflow;
  pg::AssemblerOptions options;
  options.spool_dir = SpoolDir();
  options.spool_memory_limit = 256;  // exercise spilling
  options.batch_max_changes = 3;
  format::DebeziumOptions enc_options;
  enc_options.schemas = (size & 1) != 0;
  enc_options.decimal_handling =
      (size & 2) ? format::DecimalHandling::kPrecise : format::DecimalHandling::kDouble;
  format::DebeziumJsonEncoder encoder(enc_options);
  std::string out;
  pg::ChangeAssembler assembler(options, nullptr, [&](std::shared_ptr<ChangeBatch> batch) {
    for (const Change& c : batch->changes()) {
      out.clear();
      (void)encoder.AppendValue(*batch, c, &out);
      (void)encoder.AppendKey(*batch, c, &out);
    }
    return Status::OK();
  });
  size_t pos = 0;
  uint64_t lsn = 1;
  while (pos + 2 <= size) {
    size_t len = data[pos] | (data[pos + 1] << 8);
    pos += 2;
    if (len > size - pos) len = size - pos;
    std::string_view message(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    if (!assembler.decoder().Consume(Lsn(lsn++), message).ok()) break;
  }
  (void)assembler.Flush();
  return 0;
}
