// The object stores the lake sink writes through: a local directory, and an S3 store
// (walflow's libcurl client, signed with SigV4) against s3rver behind its verifying front,
// read back with an independent client (the AWS SDK).
#include "storage/object_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stop_token>
#include <thread>

#include "s3_server.h"
#include "temp_dir.h"

namespace walflow::storage {
namespace {

using walflow::test::S3Server;
using walflow::test::TempDir;

std::string Bytes(size_t n, uint32_t seed) {
  std::string out;
  for (int b = 0; b < 256 && out.size() < n; ++b) out.push_back(static_cast<char>(b));
  std::mt19937 rng(seed);
  while (out.size() < n) out.push_back(static_cast<char>(rng()));
  return out;
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const auto& o : objects) keys.push_back(o.key);
  return keys;
}

TEST(LocalStoreTest, ObjectsAppearOnlyWhenCommitted) {
  TempDir dir;
  auto store = OpenLocalStore(dir.File("lake"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ObjectStore& s = **store;
  ASSERT_TRUE(s.CheckAccess().ok());

  auto upload = s.Create("public.t/000000000001-0000.parquet");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  const std::string data = Bytes(100000, 1);
  ASSERT_TRUE((*upload)->Append(data.substr(0, 5000)).ok());
  ASSERT_TRUE((*upload)->Append(data.substr(5000)).ok());
  EXPECT_EQ((*upload)->size(), data.size());
  auto listed = s.List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty()) << "an unfinished upload is not an object";
  EXPECT_TRUE(
      std::filesystem::exists(dir.path() / "lake/public.t/.000000000001-0000.parquet.inprogress"));

  ASSERT_TRUE((*upload)->Commit().ok());
  listed = s.List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(Keys(*listed), std::vector<std::string>{"public.t/000000000001-0000.parquet"});
  EXPECT_EQ((*listed)[0].size, data.size());
  auto got = s.Get("public.t/000000000001-0000.parquet");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
}

TEST(LocalStoreTest, AbortAndLeftoversOfACrash) {
  TempDir dir;
  auto store = OpenLocalStore(dir.File("lake"));
  ASSERT_TRUE(store.ok());
  ObjectStore& s = **store;
  auto upload = s.Create("a/x.parquet");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Append("abc").ok());
  ASSERT_TRUE((*upload)->Abort().ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "lake/a/.x.parquet.inprogress"));

  // What a kill -9 leaves: temporary files, in the root and in subfolders.
  std::filesystem::create_directories(dir.path() / "lake/b/c");
  std::ofstream(dir.path() / "lake/b/c/.y.parquet.inprogress") << "partial";
  std::ofstream(dir.path() / "lake/.z.json.inprogress") << "partial";
  std::ofstream(dir.path() / "lake/b/c/kept.parquet") << "whole";
  auto removed = s.RemoveIncompleteUploads("b/");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u) << "only under the prefix";
  removed = s.RemoveIncompleteUploads("");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  auto listed = s.List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(Keys(*listed), std::vector<std::string>{"b/c/kept.parquet"});
}

TEST(LocalStoreTest, PutGetListDeleteAndPrefixes) {
  TempDir dir;
  auto store = OpenLocalStore(dir.File("lake"));
  ASSERT_TRUE(store.ok());
  ObjectStore& s = **store;
  for (const char* key :
       {"t2/b", "t1/a", "t1/c/d", "_walflow/commits/000000000001.json", "t10/x"}) {
    ASSERT_TRUE(s.Put(key, key).ok()) << key;
  }
  auto all = s.List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"_walflow/commits/000000000001.json", "t1/a",
                                                  "t1/c/d", "t10/x", "t2/b"}));
  auto t1 = s.List("t1/");
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(Keys(*t1), (std::vector<std::string>{"t1/a", "t1/c/d"}));
  auto t1any = s.List("t1");
  ASSERT_TRUE(t1any.ok());
  EXPECT_EQ(Keys(*t1any), (std::vector<std::string>{"t1/a", "t1/c/d", "t10/x"}));
  ASSERT_TRUE(s.Put("t1/a", "replaced").ok());
  EXPECT_EQ(*s.Get("t1/a"), "replaced");
  ASSERT_TRUE(s.Delete("t1/a").ok());
  ASSERT_TRUE(s.Delete("t1/a").ok()) << "deleting a missing object succeeds";
  EXPECT_EQ(s.Get("t1/a").status().code(), StatusCode::kNotFound);
}

TEST(LocalStoreTest, OneWriterPerDirectory) {
  TempDir dir;
  auto first = OpenLocalStore(dir.File("lake"));
  ASSERT_TRUE(first.ok());
  auto second = OpenLocalStore(dir.File("lake"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another walflow process"), std::string::npos)
      << second.status().message();
  auto reader = OpenLocalStore(dir.File("lake"), /*lock=*/false);
  EXPECT_TRUE(reader.ok()) << "a reader (walflow check) does not take the lock";
}

TEST(LocalStoreTest, UnwritablePathIsAClearError) {
  TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  auto store = OpenLocalStore(dir.File("file") + "/lake");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(dir.File("file")), std::string::npos)
      << store.status().message();
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    server_.CreateBucket("lake");
  }

  S3Options Options(const std::string& prefix = "raw") const {
    S3Options o;
    o.bucket = "lake";
    o.prefix = prefix;
    o.endpoint = server_.endpoint();
    o.region = server_.region();
    o.access_key_id = server_.access_key_id();
    o.secret_access_key = Secret(server_.secret_access_key());
    o.path_style = true;
    o.part_size = 5u << 20;
    o.timeout = std::chrono::seconds(2);
    o.max_attempts = 2;
    return o;
  }

  std::unique_ptr<ObjectStore> Open(S3Options o) {
    auto store = OpenS3Store(std::move(o));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  S3Server server_;
};

TEST_F(S3StoreTest, PutGetListDeleteWithUnusualKeys) {
  auto s = Open(Options());
  ASSERT_TRUE(s->CheckAccess().ok());
  const std::vector<std::string> keys = {"public.t/date=2024-01-01/000000000001-0000.parquet",
                                         "we ird/ключ + ü & = ~.bin", "_walflow/commits/1.json"};
  for (size_t i = 0; i < keys.size(); ++i) {
    Status st = s->Put(keys[i], Bytes(1000 + i, i));
    ASSERT_TRUE(st.ok()) << keys[i] << ": " << st.ToString();
  }
  // Read back by the independent client, under the prefix.
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(server_.GetObject("lake", "raw/" + keys[i]), Bytes(1000 + i, i)) << keys[i];
    auto got = s->Get(keys[i]);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, Bytes(1000 + i, i));
  }
  auto listed = s->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(*listed), sorted);
  auto one = s->List("public.t/");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(Keys(*one), std::vector<std::string>{keys[0]});
  ASSERT_TRUE(s->Delete(keys[1]).ok());
  ASSERT_TRUE(s->Delete(keys[1]).ok());
  EXPECT_EQ(s->Get(keys[1]).status().code(), StatusCode::kNotFound);
}

TEST_F(S3StoreTest, ListingPastOnePage) {
  auto s = Open(Options());
  for (int i = 0; i < 1003; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "t/%05d", i);
    ASSERT_TRUE(s->Put(key, "x").ok());
  }
  auto listed = s->List("t/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1003u);
  EXPECT_EQ(listed->front().key, "t/00000");
  EXPECT_EQ(listed->back().key, "t/01002");
}

TEST_F(S3StoreTest, MultipartUploadInvisibleUntilCompleted) {
  auto s = Open(Options());
  const std::string data = Bytes(12u << 20, 7);  // three parts: 5 MiB, 5 MiB, 2 MiB
  auto upload = s->Create("t/big.parquet");
  ASSERT_TRUE(upload.ok());
  for (size_t at = 0; at < data.size(); at += 1 << 20) {
    Status st = (*upload)->Append(std::string_view(data).substr(at, 1 << 20));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_TRUE(server_.ListKeys("lake", "raw/t/").empty()) << "not visible before completion";
  EXPECT_EQ(server_.ListMultipartUploads("lake").size(), 1u);
  Status st = (*upload)->Commit();
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << server_.Log();
  EXPECT_EQ(server_.GetObject("lake", "raw/t/big.parquet"), data);
  EXPECT_TRUE(server_.ListMultipartUploads("lake").empty());
}

TEST_F(S3StoreTest, AbortedAndLeftOverUploadsAreRemoved) {
  auto s = Open(Options());
  {
    auto upload = s->Create("t/a.parquet");
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Append(Bytes(6u << 20, 1)).ok());  // one part sent
    ASSERT_TRUE((*upload)->Abort().ok());
  }
  EXPECT_TRUE(server_.ListMultipartUploads("lake").empty());
  // An upload a crashed process left, and one outside the prefix.
  server_.Client({"create-multipart", "lake", "raw/t/left.parquet"});
  server_.Client({"create-multipart", "lake", "other/x.parquet"});
  auto removed = s->RemoveIncompleteUploads("");
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1u);
  auto uploads = server_.ListMultipartUploads("lake");
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].key, "other/x.parquet");
}

TEST_F(S3StoreTest, WrongSecretIsAClearErrorWithoutTheSecret) {
  S3Options o = Options();
  o.secret_access_key = Secret("not-the-secret-4711");
  auto s = Open(o);
  Status st = s->CheckAccess();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("access_key_id"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("not-the-secret-4711"), std::string::npos) << st.message();
}

TEST_F(S3StoreTest, MissingBucketIsAClearError) {
  S3Options o = Options();
  o.bucket = "no-such-bucket";
  auto s = Open(o);
  Status st = s->CheckAccess();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("bucket 'no-such-bucket' does not exist"), std::string::npos)
      << st.message();
}

TEST_F(S3StoreTest, StoreDownIsRetryableAndWorksWhenBack) {
  auto s = Open(Options());
  ASSERT_TRUE(s->Put("t/a", "1").ok());
  server_.Stop();
  Status st = s->Put("t/b", "2");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("after 2 attempts"), std::string::npos) << st.message();
  server_.Start();
  ASSERT_TRUE(s->Put("t/b", "2").ok());
  EXPECT_EQ(server_.GetObject("lake", "raw/t/b"), "2");
}

TEST_F(S3StoreTest, AStalledStoreTimesOut) {
  auto s = Open(Options());
  server_.Pause();
  auto start = std::chrono::steady_clock::now();
  Status st = s->Put("t/c", "3");
  auto took = std::chrono::steady_clock::now() - start;
  server_.Resume();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_LT(took, std::chrono::seconds(15)) << "two attempts of a 2 s timeout, with backoff";
  ASSERT_TRUE(s->Put("t/c", "3").ok());
}

// Retries back off for seconds; a stop request must not wait for them.
TEST_F(S3StoreTest, StopRequestEndsTheRetriesOfAStoreThatIsDown) {
  S3Options o = Options();
  o.max_attempts = 8;  // about 11 s of backoff
  std::stop_source stop;
  o.stop = stop.get_token();
  auto s = Open(o);
  server_.Stop();
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  Status st = s->Put("t/d", "4");
  const auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_LT(took, std::chrono::seconds(1));
  // Stopped stays stopped, even with the store back.
  server_.Start();
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(s->Put("t/d", "4").code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(100));
}

// A request waiting for an answer that does not come ends at a stop request too.
TEST_F(S3StoreTest, StopRequestEndsARequestToAStalledStore) {
  S3Options o = Options();
  o.timeout = std::chrono::seconds(10);
  std::stop_source stop;
  o.stop = stop.get_token();
  auto s = Open(o);
  server_.Pause();
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  Status st = s->Put("t/e", "5");
  const auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  server_.Resume();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << "curl checks for a stop about once a second";
}

// Restarts the server with S3_SERVER_FAULT set (see s3-server.mjs).
void RestartWithFault(S3Server& server, const char* fault) {
  ::setenv("S3_SERVER_FAULT", fault, 1);
  server.Restart();
  ::unsetenv("S3_SERVER_FAULT");
}

std::string CommitMultipart(ObjectStore& s, const std::string& key, const std::string& data,
                            Status* committed) {
  auto upload = s.Create(key);
  if (!upload.ok()) return upload.status().ToString();
  for (size_t at = 0; at < data.size(); at += 1 << 20) {
    Status st = (*upload)->Append(std::string_view(data).substr(at, 1 << 20));
    if (!st.ok()) return st.ToString();
  }
  *committed = (*upload)->Commit();
  return "";
}

// The first CompleteMultipartUpload completed the object but its answer was lost; the
// retry gets NoSuchUpload. The object is there, whole: the commit succeeded.
TEST_F(S3StoreTest, CompletionWhoseAnswerWasLostSucceeds) {
  RestartWithFault(server_, "complete-response-lost");
  auto s = Open(Options());
  const std::string data = Bytes(11u << 20, 8);  // 5 MiB, 5 MiB, 1 MiB
  Status committed = Internal("not committed");
  ASSERT_EQ(CommitMultipart(*s, "t/lost-answer.parquet", data, &committed), "");
  EXPECT_TRUE(committed.ok()) << committed.ToString() << "\n" << server_.Log();
  EXPECT_NE(server_.Log().find("answer dropped"), std::string::npos) << server_.Log();
  EXPECT_EQ(server_.GetObject("lake", "raw/t/lost-answer.parquet"), data);
}

// The retry gets NoSuchUpload and there is no such object (the upload was aborted): an
// error, not a success.
TEST_F(S3StoreTest, CompletionOfALostUploadIsAnError) {
  RestartWithFault(server_, "upload-lost");
  auto s = Open(Options());
  Status committed;
  ASSERT_EQ(CommitMultipart(*s, "t/lost-upload.parquet", Bytes(11u << 20, 9), &committed), "");
  ASSERT_FALSE(committed.ok()) << server_.Log();
  EXPECT_NE(committed.message().find("NoSuchUpload"), std::string::npos) << committed.ToString();
  EXPECT_TRUE(server_.ListKeys("lake", "raw/t/").empty());
}

// A different object under the key (another size) is not taken for the completed upload.
TEST_F(S3StoreTest, CompletionRetryDoesNotTakeAnotherObjectForItsOwn) {
  RestartWithFault(server_, "upload-lost");
  server_.PutObject("lake", "raw/t/other.parquet", "an older, smaller object");
  auto s = Open(Options());
  Status committed;
  ASSERT_EQ(CommitMultipart(*s, "t/other.parquet", Bytes(11u << 20, 10), &committed), "");
  ASSERT_FALSE(committed.ok()) << server_.Log();
  EXPECT_NE(committed.message().find("NoSuchUpload"), std::string::npos) << committed.ToString();
  EXPECT_NE(committed.message().find("exists but is not this upload"), std::string::npos)
      << committed.ToString();
  EXPECT_EQ(server_.GetObject("lake", "raw/t/other.parquet"), "an older, smaller object");
}

TEST(S3UrlTest, Parses) {
  std::string bucket, prefix;
  ASSERT_TRUE(ParseS3Url("s3://b/raw/x/", &bucket, &prefix).ok());
  EXPECT_EQ(bucket, "b");
  EXPECT_EQ(prefix, "raw/x");
  ASSERT_TRUE(ParseS3Url("s3://b", &bucket, &prefix).ok());
  EXPECT_EQ(prefix, "");
  EXPECT_FALSE(ParseS3Url("s3:///x", &bucket, &prefix).ok());
  EXPECT_FALSE(ParseS3Url("http://b/x", &bucket, &prefix).ok());
}

}  // namespace
}  // namespace walflow::storage
