// ParquetSink in a scratch directory, driven as a SinkWorker under a full queue drives it:
// batches that end inside transactions and a checkpoint after each of them. Commits must
// follow the transaction boundaries within max_file_age, however the batches fall.
#include "sink/parquet/parquet_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "sink/change_stream.h"
#include "unit_test_util.h"

namespace walflow::sink {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using std::chrono::milliseconds;

// A transaction of 403 changes, then 40 of 8, in batches of 8: no batch ends at a
// transaction boundary. The worker's timer (a checkpoint after every batch here) lands inside
// a transaction every time; each boundary must still be committed within max_file_age (and
// a batch's spacing) of being written.
TEST(ParquetSinkTest, BoundariesCommitWithinMaxFileAgeWhenBatchesEndInsideTransactions) {
  test::ScratchDir dir;
  ParquetSinkOptions options;
  options.name = "lake";
  options.path = dir.File("lake");
  options.max_file_age = milliseconds(150);
  std::vector<uint32_t> sizes = {403};
  for (int i = 0; i < 40; ++i) sizes.push_back(8);
  Stream stream(ItemsTable(), sizes, 8);
  ParquetSink sink(options);
  auto opened = sink.Open();
  ASSERT_TRUE(opened.ok()) << opened.status().message();

  constexpr auto kSpacing = milliseconds(10);
  constexpr auto kSlack = milliseconds(100);
  struct Boundary {
    Lsn end;
    Clock::time_point written;
  };
  std::vector<Boundary> boundaries;
  size_t late = 0;
  Lsn durable;
  for (const auto& b : stream.batches()) {
    ASSERT_TRUE(sink.Write(BatchSlice(*b)).ok());
    const auto now = Clock::now();
    for (const TxMarker& m : b->markers()) boundaries.push_back({m.end_lsn, now});
    if (b != stream.batches().back()) {
      ASSERT_NE(b->markers().empty() ? 0 : b->markers().back().change_end, b->changes().size())
          << "the test wants every batch but the last to end inside a transaction";
    }
    auto checkpoint = sink.Checkpoint();
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().message();
    durable = *checkpoint;
    for (const Boundary& boundary : boundaries) {
      if (now - boundary.written > options.max_file_age + kSlack &&
          !(durable.valid() && durable >= boundary.end) && ++late <= 3) {
        ADD_FAILURE() << "boundary " << boundary.end.ToString() << " written "
                      << std::chrono::duration_cast<milliseconds>(now - boundary.written).count()
                      << " ms ago is not committed (durable: " << durable.ToString() << ")";
      }
    }
    std::this_thread::sleep_for(kSpacing);
  }
  EXPECT_EQ(late, 0u);
  auto flushed = sink.Flush();
  ASSERT_TRUE(flushed.ok());
  ASSERT_TRUE(sink.Close().ok());

  // Commit records: several, each at a transaction boundary, the last one at the end.
  std::vector<Lsn> positions;
  for (const auto& e : std::filesystem::directory_iterator(dir.File("lake/_walflow/commits"))) {
    Json j = Json::parse(test::ReadWholeFile(e.path().string()));
    positions.push_back(*Lsn::Parse(j["position"].get<std::string>()));
  }
  std::sort(positions.begin(), positions.end());
  EXPECT_GE(positions.size(), 3u);
  for (Lsn p : positions) {
    EXPECT_TRUE(std::any_of(boundaries.begin(), boundaries.end(),
                            [&](const Boundary& b) { return b.end == p; }))
        << p.ToString() << " is not a transaction end";
  }
  ASSERT_FALSE(positions.empty());
  EXPECT_EQ(positions.back(), EndOf(static_cast<uint32_t>(sizes.size())));
}

}  // namespace
}  // namespace walflow::sink
