// Where lake files go: a local directory or an S3-compatible bucket, behind one small
// interface. Keys are relative to the store's root ("public.orders/000000000001-0.parquet")
// and use '/' as the separator. An object becomes visible under its key only complete:
// a local file is written under a hidden temporary name and renamed; an S3 object is one
// PUT or a multipart upload completed at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.h"
#include "core/status.h"

namespace walflow::storage {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

// An object being written; invisible until Commit().
class ObjectUpload {
 public:
  virtual ~ObjectUpload() = default;
  // Bytes may be sent on (S3 parts) or written to a temporary file as they come.
  virtual Status Append(std::string_view data) = 0;
  // Makes the object visible under its key, in full and durable. Not retried by callers
  // on failure: Abort() and write the object again.
  virtual Status Commit() = 0;
  // Drops what was written; the key is not touched.
  virtual Status Abort() = 0;
  virtual uint64_t size() const = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // "s3://bucket/prefix/key" or the local path of `key`, for messages and logs.
  virtual std::string Describe(const std::string& key) const = 0;
  // Checks that the root can be listed and written (the bucket exists, the credentials are
  // accepted, the directory is writable), with an error that says what is wrong.
  virtual Status CheckAccess() = 0;

  virtual Result<std::unique_ptr<ObjectUpload>> Create(const std::string& key) = 0;
  // Writes a small object at once, replacing any object under `key` atomically.
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // NotFound when there is no such object.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // Every object whose key starts with `prefix`, sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Deleting a missing object succeeds.
  virtual Status Delete(const std::string& key) = 0;
  // Removes what uploads interrupted by a crash left under `prefix` (temporary files,
  // incomplete multipart uploads); returns how many.
  virtual Result<size_t> RemoveIncompleteUploads(const std::string& prefix) = 0;
};

// A directory, created if missing and (`lock`) locked with flock against a second writer
// for the life of the store.
Result<std::unique_ptr<ObjectStore>> OpenLocalStore(const std::string& dir, bool lock = true);

struct S3Options {
  std::string bucket;
  std::string prefix;    // key prefix inside the bucket, without leading or trailing '/'
  std::string endpoint;  // "http://127.0.0.1:9000"; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;              // optional (temporary credentials)
  bool path_style = false;           // endpoint/bucket/key instead of bucket.endpoint/key
  uint64_t part_size = 16ull << 20;  // multipart part size (S3's minimum is 5 MiB)
  // A request that moves no byte for this long, or cannot connect, is failed and retried.
  std::chrono::milliseconds timeout{30000};
  // Attempts per request on timeouts, 5xx and throttling, with exponential backoff.
  int max_attempts = 6;
  // Once stop is requested, a request in flight or waiting to be retried ends within about
  // a second with kCancelled, and every later one at once. Default: never stops.
  std::stop_token stop;
};

// Parses "s3://bucket[/prefix]" into bucket and prefix; InvalidArgument otherwise.
Status ParseS3Url(const std::string& url, std::string* bucket, std::string* prefix);

Result<std::unique_ptr<ObjectStore>> OpenS3Store(S3Options options);

}  // namespace walflow::storage
