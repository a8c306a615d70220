// SnapshotState: the state file that says which snapshot chunks were delivered where.
// Round trips, a missing file, damaged files, and removal when nothing is left.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/snapshot.h"
#include "unit_test_util.h"

namespace walflow::runtime {
namespace {

SnapshotChunk KeyChunk(std::string table, std::optional<pg::KeyValues> lo,
                       std::optional<pg::KeyValues> hi, Lsn first, Lsn last) {
  SnapshotChunk c;
  c.table = std::move(table);
  c.bounds.lo = std::move(lo);
  c.bounds.hi = std::move(hi);
  // A valid `first` stands for a chunk some sinks already hold.
  if (first.valid()) c.held_by = {"files", "lake \"2\""};
  c.last_position = last;
  return c;
}

SnapshotChunk CtidChunk(std::string table, int64_t first_page, int64_t end_page, Lsn first,
                        Lsn last) {
  SnapshotChunk c;
  c.table = std::move(table);
  c.bounds.by_ctid = true;
  c.bounds.first_page = first_page;
  c.bounds.end_page = end_page;
  // A valid `first` stands for a chunk some sinks already hold.
  if (first.valid()) c.held_by = {"files", "lake \"2\""};
  c.last_position = last;
  return c;
}

// A state with every kind of chunk and job, and key values that need escaping in JSON.
SnapshotState RichState() {
  SnapshotState s;
  s.consistent_point = Lsn(0x16B374D848ULL);
  s.chunks.push_back(KeyChunk("public.orders", std::nullopt, pg::KeyValues{"100"},
                              Lsn(0x16B374D846ULL), Lsn(0x16B374D846ULL)));
  s.chunks.push_back(KeyChunk("public.orders", pg::KeyValues{"100"}, std::nullopt,
                              Lsn(0x16B374D847ULL), Lsn(0x2000000000ULL)));
  s.chunks.push_back(
      KeyChunk("sales.\"Lines\"",
               pg::KeyValues{"O'Brien", "tab\there", "new\nline", "back\\slash \"quoted\""},
               pg::KeyValues{"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "",
                             std::string("ctl\x01\x1f", 5), "{\"json\": [1, 2]}"},
               Lsn(), Lsn()));
  s.chunks.push_back(CtidChunk("public.no_key", 0, 128, Lsn(1), Lsn(0xFFFFFFFF00000000ULL)));
  s.chunks.push_back(CtidChunk("public.no_key", 128, -1, Lsn(), Lsn()));
  s.jobs.push_back({"public.orders", std::nullopt});
  s.jobs.push_back({"sales.\"Lines\"", pg::KeyValues{"it's", "\t\\N"}, {"files", "lake"}});
  return s;
}

void ExpectSameState(const SnapshotState& expected, const SnapshotState& actual) {
  EXPECT_EQ(actual.consistent_point, expected.consistent_point);
  ASSERT_EQ(actual.chunks.size(), expected.chunks.size());
  for (size_t i = 0; i < expected.chunks.size(); ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    const SnapshotChunk& e = expected.chunks[i];
    const SnapshotChunk& a = actual.chunks[i];
    EXPECT_EQ(a.table, e.table);
    EXPECT_EQ(a.bounds.by_ctid, e.bounds.by_ctid);
    EXPECT_EQ(a.bounds.lo, e.bounds.lo);
    EXPECT_EQ(a.bounds.hi, e.bounds.hi);
    EXPECT_EQ(a.bounds.first_page, e.bounds.first_page);
    EXPECT_EQ(a.bounds.end_page, e.bounds.end_page);
    EXPECT_EQ(a.held_by, e.held_by);
    EXPECT_EQ(a.last_position, e.last_position);
  }
  ASSERT_EQ(actual.jobs.size(), expected.jobs.size());
  for (size_t i = 0; i < expected.jobs.size(); ++i) {
    SCOPED_TRACE("job " + std::to_string(i));
    EXPECT_EQ(actual.jobs[i].table, expected.jobs[i].table);
    EXPECT_EQ(actual.jobs[i].after, expected.jobs[i].after);
    EXPECT_EQ(actual.jobs[i].held_by, expected.jobs[i].held_by);
  }
}

TEST(SnapshotStateTest, RoundTrip) {
  test::ScratchDir dir;
  const std::string path = dir.File("wf_slot.json");
  const SnapshotState saved = RichState();
  ASSERT_TRUE(saved.Save(path).ok());
  auto loaded = SnapshotState::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameState(saved, *loaded);
  EXPECT_FALSE(loaded->empty());
  // Replaced atomically: no temporary file is left next to it.
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"wf_slot.json"}));

  // Saving what was loaded writes the same bytes.
  const std::string first = test::ReadWholeFile(path);
  ASSERT_TRUE(loaded->Save(path).ok());
  EXPECT_EQ(test::ReadWholeFile(path), first);
  EXPECT_EQ(first.back(), '\n');
}

TEST(SnapshotStateTest, OnlyJobsOrOnlyChunks) {
  test::ScratchDir dir;
  const std::string path = dir.File("s.json");
  SnapshotState jobs_only;
  jobs_only.jobs.push_back({"public.t", pg::KeyValues{"5"}});
  ASSERT_TRUE(jobs_only.Save(path).ok());
  auto loaded = SnapshotState::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameState(jobs_only, *loaded);
  EXPECT_FALSE(loaded->consistent_point.valid());

  SnapshotState chunks_only;
  chunks_only.chunks.push_back(KeyChunk("public.t", std::nullopt, std::nullopt, Lsn(7), Lsn(9)));
  ASSERT_TRUE(chunks_only.Save(path).ok());
  loaded = SnapshotState::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameState(chunks_only, *loaded);
}

TEST(SnapshotStateTest, NeedsDeliveryIsNotPersisted) {
  test::ScratchDir dir;
  const std::string path = dir.File("s.json");
  SnapshotState s;
  s.chunks.push_back(KeyChunk("public.t", std::nullopt, pg::KeyValues{"1"}, Lsn(5), Lsn(5)));
  s.chunks.back().needs_delivery = true;
  ASSERT_TRUE(s.Save(path).ok());
  auto loaded = SnapshotState::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->chunks.size(), 1u);
  EXPECT_FALSE(loaded->chunks[0].needs_delivery);
}

TEST(SnapshotStateTest, MissingFileIsAnEmptyState) {
  test::ScratchDir dir;
  auto loaded = SnapshotState::Load(dir.File("never_written.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->empty());
  EXPECT_FALSE(loaded->consistent_point.valid());
  EXPECT_TRUE(loaded->chunks.empty());
  EXPECT_TRUE(loaded->jobs.empty());
}

TEST(SnapshotStateTest, DamagedFileIsDataLossNamingThePath) {
  test::ScratchDir dir;
  const std::string path = dir.File("wf_slot.json");
  ASSERT_TRUE(RichState().Save(path).ok());
  const std::string good = test::ReadWholeFile(path);

  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from << " not in:\n" << good;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"empty", ""},
      {"truncated", good.substr(0, good.size() / 2)},
      {"not json", "chunks: none\n"},
      {"an array", "[]"},
      {"a number", "1"},
      {"no version", "{\"consistent_point\":\"\",\"chunks\":[],\"jobs\":[]}"},
      {"future version", replace("\"version\": 1", "\"version\": 2")},
      {"version as text", replace("\"version\": 1", "\"version\": \"1\"")},
      {"no chunks", "{\"version\":1,\"consistent_point\":\"\",\"jobs\":[]}"},
      {"no jobs", "{\"version\":1,\"consistent_point\":\"\",\"chunks\":[]}"},
      {"bad lsn", replace("\"16/B374D848\"", "\"16-B374D848\"")},
      {"lsn as number", replace("\"16/B374D848\"", "97")},
      {"key not a list", replace("\"313030\"\n", "313030\n")},  // "100" in hex
      {"key not hex", replace("\"313030\"\n", "\"31303\"\n")},
      {"page as text", replace("\"end_page\": 128", "\"end_page\": \"128\"")},
      {"missing by_ctid", replace("\"by_ctid\": true,", "")},
  };
  for (const auto& [what, text] : damaged) {
    SCOPED_TRACE(what);
    test::WriteWholeFile(path, text);
    auto loaded = SnapshotState::Load(path);
    ASSERT_FALSE(loaded.ok()) << "accepted:\n" << text;
    EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(loaded.status().message().find(path), std::string::npos) << loaded.status().message();
  }
}

TEST(SnapshotStateTest, SavingAnEmptyStateRemovesTheFile) {
  test::ScratchDir dir;
  const std::string path = dir.File("wf_slot.json");
  ASSERT_TRUE(RichState().Save(path).ok());
  ASSERT_EQ(dir.List().size(), 1u);

  SnapshotState empty;
  empty.consistent_point = Lsn(0x100);  // no chunk and no job: nothing worth keeping
  ASSERT_TRUE(empty.empty());
  ASSERT_TRUE(empty.Save(path).ok());
  EXPECT_TRUE(dir.List().empty());
  auto loaded = SnapshotState::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->empty());

  // Removing a file that is not there is fine.
  EXPECT_TRUE(SnapshotState().Save(path).ok());
  EXPECT_TRUE(dir.List().empty());
}

TEST(SnapshotStateTest, SaveIntoAMissingDirectoryFails) {
  test::ScratchDir dir;
  Status s = RichState().Save(dir.File("no/such/dir/s.json"));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no/such/dir"), std::string::npos) << s.ToString();
}

TEST(SnapshotStateTest, KeysThatAreNotUtf8) {
  // A text key of a SQL_ASCII database reaches walflow as raw bytes (the server does not
  // convert to client_encoding UTF8 from SQL_ASCII). Saving such a chunk bound must not
  // throw out of Save, and must not lose the bound.
  test::ScratchDir dir;
  const std::string path = dir.File("s.json");
  SnapshotState s;
  s.chunks.push_back(KeyChunk("public.latin1", pg::KeyValues{"caf\xe9"}, pg::KeyValues{"\xff\xfe"},
                              Lsn(5), Lsn(5)));
  s.jobs.push_back({"public.latin1", pg::KeyValues{"na\xefve"}});
  Status saved = Status::OK();
  ASSERT_NO_THROW(saved = s.Save(path));
  ASSERT_TRUE(saved.ok()) << saved.ToString();
  auto loaded = SnapshotState::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameState(s, *loaded);
}

}  // namespace
}  // namespace walflow::runtime
