// ObjectStore on an S3-compatible service through libcurl, whose CURLOPT_AWS_SIGV4 signs
// every request with AWS Signature Version 4. Requests are retried with exponential
// backoff on transport errors, timeouts, 5xx and throttling; the errors an operator must
// fix (credentials, a missing bucket) are reported at once and say so.
// A stop request (S3Options::stop) ends a backoff or a transfer within about a second.
#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>

#include "core/log.h"
#include "storage/object_store.h"

namespace walflow::storage {
namespace {

std::once_flag curl_init_once;

// AWS's URI encoding: unreserved characters stay, everything else is %XX (and '/' stays
// in paths).
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (!ent.empty() && ent[0] == '#') {
      unsigned long cp = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                             ? std::strtoul(std::string(ent.substr(2)).c_str(), nullptr, 16)
                             : std::strtoul(std::string(ent.substr(1)).c_str(), nullptr, 10);
      // UTF-8 of the code point.
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// The texts of every <tag>...</tag> in `xml`, in order (S3's responses are flat enough).
std::vector<std::string> XmlValues(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(XmlUnescape(xml.substr(start, end - start)));
    pos = end + close.size();
  }
  return out;
}

std::string XmlValue(std::string_view xml, std::string_view tag) {
  auto v = XmlValues(xml, tag);
  return v.empty() ? std::string() : v.front();
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

struct Request {
  const char* method = "GET";
  std::string key;  // relative to the prefix; "" with bucket_level
  bool bucket_level = false;
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view body;
  const char* content_type = nullptr;
};

struct Response {
  long status = 0;
  std::string body;
  std::string etag;
  int64_t content_length = -1;  // from the headers; -1 when not sent
};

// The ETag S3 gives an object completed from parts with these ETags: the MD5 of their
// binary MD5s, "-" and the number of parts. Empty when a part's ETag is not an MD5.
std::string MultipartEtag(const std::vector<std::string>& part_etags) {
  std::string digests;
  for (const std::string& quoted : part_etags) {
    std::string_view e = quoted;
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    if (e.size() != 32) return "";
    for (size_t i = 0; i < 32; i += 2) {
      unsigned v = 0;
      for (char ch : e.substr(i, 2)) {
        const int d = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0'
                      : ch >= 'a' && ch <= 'f'                     ? ch - 'a' + 10
                      : ch >= 'A' && ch <= 'F'                     ? ch - 'A' + 10
                                                                   : -1;
        if (d < 0) return "";
        v = v * 16 + static_cast<unsigned>(d);
      }
      digests.push_back(static_cast<char>(v));
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(digests.data(), digests.size(), md, &len, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out + "-" + std::to_string(part_etags.size());
}

class S3Store;

class S3Upload : public ObjectUpload {
 public:
  S3Upload(S3Store* store, std::string key) : store_(store), key_(std::move(key)) {}
  ~S3Upload() override;
  Status Append(std::string_view data) override;
  Status Commit() override;
  Status Abort() override;
  uint64_t size() const override { return size_; }

 private:
  Status SendPart(std::string_view part);

  S3Store* store_;
  std::string key_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  uint64_t size_ = 0;
  bool done_ = false;
};

class S3Store : public ObjectStore {
 public:
  explicit S3Store(S3Options options) : o_(std::move(options)) {
    std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
    if (o_.endpoint.empty()) o_.endpoint = "https://s3." + o_.region + ".amazonaws.com";
    while (!o_.endpoint.empty() && o_.endpoint.back() == '/') o_.endpoint.pop_back();
    sigv4_ = "aws:amz:" + o_.region + ":s3";
  }
  ~S3Store() override {
    if (curl_) curl_easy_cleanup(curl_);
  }

  const S3Options& options() const { return o_; }

  std::string Describe(const std::string& key) const override {
    std::string out = "s3://" + o_.bucket;
    if (!o_.prefix.empty()) out += "/" + o_.prefix;
    if (!key.empty()) out += "/" + key;
    return out;
  }

  Status CheckAccess() override {
    Request r;
    r.bucket_level = true;
    r.query = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", FullKey("")}};
    auto resp = Call(r, "list");
    if (!resp.ok()) return resp.status();
    return Status::OK();
  }

  Result<std::unique_ptr<ObjectUpload>> Create(const std::string& key) override {
    return std::unique_ptr<ObjectUpload>(std::make_unique<S3Upload>(this, key));
  }

  Status Put(const std::string& key, std::string_view data) override {
    Request r;
    r.method = "PUT";
    r.key = key;
    r.body = data;
    r.content_type = "application/octet-stream";
    auto resp = Call(r, "put");
    return resp.ok() ? Status::OK() : resp.status();
  }

  Result<std::string> Get(const std::string& key) override {
    Request r;
    r.key = key;
    WF_ASSIGN_OR_RETURN(Response resp, Call(r, "get"));
    return std::move(resp.body);
  }

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string token;
    const std::string root = FullKey("");
    while (true) {
      Request r;
      r.bucket_level = true;
      r.query = {{"list-type", "2"}, {"prefix", FullKey(prefix)}};
      if (!token.empty()) r.query.emplace_back("continuation-token", token);
      WF_ASSIGN_OR_RETURN(Response resp, Call(r, "list"));
      size_t pos = 0;
      const std::string& xml = resp.body;
      while ((pos = xml.find("<Contents>", pos)) != std::string::npos) {
        size_t end = xml.find("</Contents>", pos);
        if (end == std::string::npos) break;
        std::string_view item(xml.data() + pos, end - pos);
        std::string key = XmlValue(item, "Key");
        if (key.compare(0, root.size(), root) == 0) {
          out.push_back({key.substr(root.size()),
                         std::strtoull(XmlValue(item, "Size").c_str(), nullptr, 10)});
        }
        pos = end;
      }
      if (XmlValue(xml, "IsTruncated") != "true") break;
      token = XmlValue(xml, "NextContinuationToken");
      if (token.empty()) break;
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status Delete(const std::string& key) override {
    Request r;
    r.method = "DELETE";
    r.key = key;
    auto resp = Call(r, "delete");
    if (!resp.ok() && resp.status().code() != StatusCode::kNotFound) return resp.status();
    return Status::OK();
  }

  Result<size_t> RemoveIncompleteUploads(const std::string& prefix) override {
    Request r;
    r.bucket_level = true;
    r.query = {{"prefix", FullKey(prefix)}, {"uploads", ""}};
    auto resp = Call(r, "list multipart uploads");
    if (!resp.ok()) {
      if (resp.status().code() == StatusCode::kFailedPrecondition &&
          resp.status().message().find("(501") != std::string::npos) {
        return size_t{0};  // a store without multipart listing; its uploads expire
      }
      return resp.status();
    }
    const std::string root = FullKey("");
    size_t removed = 0;
    size_t pos = 0;
    const std::string& xml = resp->body;
    while ((pos = xml.find("<Upload>", pos)) != std::string::npos) {
      size_t end = xml.find("</Upload>", pos);
      if (end == std::string::npos) break;
      std::string_view item(xml.data() + pos, end - pos);
      std::string key = XmlValue(item, "Key"), id = XmlValue(item, "UploadId");
      pos = end;
      if (key.compare(0, root.size(), root) != 0 || id.empty()) continue;
      WF_RETURN_IF_ERROR(AbortUpload(key.substr(root.size()), id));
      ++removed;
    }
    return removed;
  }

  Result<std::string> BeginMultipart(const std::string& key) {
    Request r;
    r.method = "POST";
    r.key = key;
    r.query = {{"uploads", ""}};
    r.content_type = "application/octet-stream";
    WF_ASSIGN_OR_RETURN(Response resp, Call(r, "start multipart upload of"));
    std::string id = XmlValue(resp.body, "UploadId");
    if (id.empty()) return Internal(Describe(key) + ": no UploadId in the store's answer");
    return id;
  }

  Result<std::string> UploadPart(const std::string& key, const std::string& id, int number,
                                 std::string_view data) {
    Request r;
    r.method = "PUT";
    r.key = key;
    r.query = {{"partNumber", std::to_string(number)}, {"uploadId", id}};
    r.body = data;
    r.content_type = "application/octet-stream";
    WF_ASSIGN_OR_RETURN(Response resp, Call(r, "upload a part of"));
    if (resp.etag.empty()) return Internal(Describe(key) + ": no ETag for an uploaded part");
    return resp.etag;
  }

  // `size`: the bytes of all parts, to recognize the object if an earlier attempt
  // completed it and only its answer was lost.
  Status CompleteMultipart(const std::string& key, const std::string& id,
                           const std::vector<std::string>& etags, uint64_t size) {
    std::string xml = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags.size(); ++i) {
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
             XmlEscape(etags[i]) + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    Request r;
    r.method = "POST";
    r.key = key;
    r.query = {{"uploadId", id}};
    r.body = xml;
    r.content_type = "application/xml";
    auto resp = Call(r, "complete multipart upload of");
    if (resp.ok()) return Status::OK();
    // An upload of ours we did not abort is gone if a resent completion (ours after a lost
    // answer, or curl's own on a connection that died) finds it completed already.
    const bool gone = resp.status().code() == StatusCode::kNotFound &&
                      resp.status().message().find("NoSuchUpload") != std::string::npos;
    if (gone) return CheckCompleted(key, etags, size, resp.status());
    return resp.status();
  }

  // After NoSuchUpload on a completion: an earlier attempt may have completed the upload. It did if
  // the object is there with the upload's size (and, when the store gives multipart ETags as S3
  // does, the upload's ETag); otherwise `failed` stands.
  Status CheckCompleted(const std::string& key, const std::vector<std::string>& etags,
                        uint64_t size, const Status& failed) {
    Request r;
    r.method = "HEAD";
    r.key = key;
    auto head = Call(r, "check the completed upload of");
    if (!head.ok()) {
      if (head.status().code() == StatusCode::kNotFound) return failed;
      return head.status().WithContext(failed.message());
    }
    std::string etag = head->etag;
    std::erase(etag, '"');
    const bool multipart_etag = etag.find('-') != std::string::npos;
    if (head->content_length != static_cast<int64_t>(size) ||
        (multipart_etag && etag != MultipartEtag(etags))) {
      return FailedPrecondition(
          failed.message() + "; " + Describe(key) + " exists but is not this upload (" +
          std::to_string(head->content_length) + " bytes, ETag " + head->etag + ", expected " +
          std::to_string(size) + " bytes" +
          (multipart_etag ? ", ETag \"" + MultipartEtag(etags) + "\"" : std::string()) + ")");
    }
    WF_LOG_INFO("s3",
                "{}: an earlier attempt completed the upload (its answer was lost); the object "
                "is there with its {} bytes",
                Describe(key), size);
    return Status::OK();
  }

  Status AbortUpload(const std::string& key, const std::string& id) {
    Request r;
    r.method = "DELETE";
    r.key = key;
    r.query = {{"uploadId", id}};
    auto resp = Call(r, "abort multipart upload of");
    if (!resp.ok() && resp.status().code() != StatusCode::kNotFound) return resp.status();
    return Status::OK();
  }

 private:
  std::string FullKey(const std::string& key) const {
    if (o_.prefix.empty()) return key;
    return o_.prefix + "/" + key;
  }

  std::string Url(const Request& r) const {
    std::string scheme_host = o_.endpoint, path;
    if (o_.path_style) {
      path = "/" + UriEncode(o_.bucket, false);
    } else {
      auto sep = scheme_host.find("://");
      size_t host_at = sep == std::string::npos ? 0 : sep + 3;
      scheme_host.insert(host_at, o_.bucket + ".");
    }
    if (!r.bucket_level) {
      path += "/" + UriEncode(FullKey(r.key), true);
    } else if (!o_.path_style) {
      path = "/";
    }
    std::string url = scheme_host + path;
    auto query = r.query;
    std::sort(query.begin(), query.end());
    for (size_t i = 0; i < query.size(); ++i) {
      url += i == 0 ? "?" : "&";
      url += UriEncode(query[i].first, false) + "=" + UriEncode(query[i].second, false);
    }
    return url;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    static_cast<Response*>(user)->body.append(data, size * n);
    return size * n;
  }
  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    std::string_view line(data, size * n);
    if (line.size() > 5 && strncasecmp(line.data(), "etag:", 5) == 0) {
      std::string_view v = line.substr(5);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
      }
      static_cast<Response*>(user)->etag = std::string(v);
    }
    return size * n;
  }
  // Aborts a transfer once stop is requested (curl calls this about once a second even
  // while nothing moves).
  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::stop_token*>(user)->stop_requested() ? 1 : 0;
  }
  struct ReadState {
    std::string_view data;
    size_t pos = 0;
  };
  static size_t OnRead(char* buf, size_t size, size_t n, void* user) {
    auto* st = static_cast<ReadState*>(user);
    size_t len = std::min(size * n, st->data.size() - st->pos);
    std::memcpy(buf, st->data.data() + st->pos, len);
    st->pos += len;
    return len;
  }

  // One attempt. A transport failure is Unavailable; an HTTP answer is returned as is.
  Result<Response> Send(const Request& r, const std::string& payload_sha256) {
    CURL* c = curl_;
    curl_easy_reset(c);
    Response resp;
    ReadState read{r.body, 0};
    const std::string url = Url(r);
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, o_.access_key_id.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, o_.secret_access_key.Reveal().c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &S3Store::OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &S3Store::OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o_.timeout.count()));
    // A stalled transfer (nothing moving for `timeout`) fails; a long one that moves does not.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(o_.timeout.count() / 1000)));
    // And a deadline, since curl averages the speed over seconds: `timeout` plus the time
    // the body takes at 256 KiB/s.
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(o_.timeout.count() + r.body.size() / 256));
    struct curl_slist* headers = nullptr;
    const std::string sha = "x-amz-content-sha256: " + payload_sha256;
    headers = curl_slist_append(headers, sha.c_str());
    headers = curl_slist_append(headers, "Expect:");
    std::string content_type;
    if (r.content_type) {
      content_type = std::string("Content-Type: ") + r.content_type;
      headers = curl_slist_append(headers, content_type.c_str());
    }
    std::string token;
    if (!o_.session_token.empty()) {
      token = "x-amz-security-token: " + o_.session_token.Reveal();
      headers = curl_slist_append(headers, token.c_str());
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    const std::string_view method = r.method;
    if (method == "PUT") {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, &S3Store::OnRead);
      curl_easy_setopt(c, CURLOPT_READDATA, &read);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.empty() ? "" : r.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (method == "DELETE") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else if (method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (o_.stop.stop_possible()) {
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &S3Store::OnProgress);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, &o_.stop);
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Cancelled("stop requested");
    if (rc != CURLE_OK) {
      return Unavailable(errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    curl_off_t length = -1;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK) {
      resp.content_length = static_cast<int64_t>(length);
    }
    return resp;
  }

  // Waits `wait` or until stop is requested, whichever comes first.
  void WaitUnlessStopped(std::chrono::milliseconds wait) const {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, o_.stop, wait, [] { return false; });
  }

  Status Stopped(const char* what, const std::string& target) const {
    return Cancelled("did not " + std::string(what) + " " + target + ": walflow is stopping");
  }

  // Retries what may succeed later; maps what will not to an error for the operator.
  Result<Response> Call(const Request& r, const char* what) {
    const std::string target = r.bucket_level ? Describe("") : Describe(r.key);
    const std::string payload_sha256 = Sha256Hex(r.body);  // once, whatever the attempts
    std::chrono::milliseconds backoff{100};
    std::string reason;
    for (int attempt = 1;; ++attempt) {
      if (o_.stop.stop_requested()) return Stopped(what, target);
      auto sent = Send(r, payload_sha256);
      if (!sent.ok() && sent.status().code() == StatusCode::kCancelled) {
        return Stopped(what, target);
      }
      if (sent.ok()) {
        Response& resp = *sent;
        const std::string code = XmlValue(resp.body, "Code");
        // CompleteMultipartUpload can fail with 200 and an <Error> body.
        const bool error_body =
            resp.status == 200 && resp.body.find("<Error>") != std::string::npos;
        if (resp.status >= 200 && resp.status < 300 && !error_body) return std::move(resp);
        const std::string message = XmlValue(resp.body, "Message");
        reason = "HTTP " + std::to_string(resp.status) + (code.empty() ? "" : " " + code) +
                 (message.empty() ? "" : ": " + message);
        const bool retry = resp.status >= 500 || resp.status == 429 || error_body ||
                           code == "SlowDown" || code == "RequestTimeout" ||
                           code == "InternalError" || code == "RequestTimeTooSkewed";
        if (!retry) return Classify(resp.status, code, reason, what, target);
      } else {
        reason = sent.status().message();
      }
      if (attempt >= o_.max_attempts) {
        return Unavailable("cannot " + std::string(what) + " " + target + " at " + o_.endpoint +
                           " (" + reason + ") after " + std::to_string(attempt) + " attempts");
      }
      auto wait = backoff + std::chrono::milliseconds(rng_() % (backoff.count() / 2 + 1));
      WF_LOG_WARN("s3", "cannot {} {} ({}); retrying in {} ms (attempt {} of {})", what, target,
                  reason, wait.count(), attempt, o_.max_attempts);
      WaitUnlessStopped(wait);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
    }
  }

  Status Classify(long status, const std::string& code, const std::string& reason, const char* what,
                  const std::string& target) const {
    const std::string prefix = "cannot " + std::string(what) + " " + target + " (" + reason + ")";
    if (code == "NoSuchBucket") {
      return FailedPrecondition(prefix + ": bucket '" + o_.bucket + "' does not exist at " +
                                o_.endpoint + "; create it or fix the path");
    }
    if (status == 403 || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
        code == "AccessDenied") {
      return FailedPrecondition(prefix +
                                ": the store refused the credentials; check s3.access_key_id and "
                                "s3.secret_access_key (or AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY), s3.region and the bucket's policy");
    }
    if (status == 404 && (code == "NoSuchKey" || code.empty() || code == "NoSuchUpload")) {
      return NotFound(prefix);
    }
    return FailedPrecondition(prefix);
  }

  S3Options o_;
  CURL* curl_ = nullptr;
  std::mt19937 rng_{std::random_device{}()};  // backoff jitter
  std::string sigv4_;
};

S3Upload::~S3Upload() {
  if (!done_) (void)Abort();
}

Status S3Upload::SendPart(std::string_view part) {
  if (upload_id_.empty()) {
    WF_ASSIGN_OR_RETURN(upload_id_, store_->BeginMultipart(key_));
  }
  WF_ASSIGN_OR_RETURN(
      std::string etag,
      store_->UploadPart(key_, upload_id_, static_cast<int>(etags_.size() + 1), part));
  etags_.push_back(std::move(etag));
  return Status::OK();
}

Status S3Upload::Append(std::string_view data) {
  buffer_.append(data);
  size_ += data.size();
  const uint64_t part = store_->options().part_size;
  if (buffer_.size() >= part) {
    size_t sent = 0;
    while (buffer_.size() - sent >= part) {
      WF_RETURN_IF_ERROR(SendPart(std::string_view(buffer_).substr(sent, part)));
      sent += part;
    }
    buffer_.erase(0, sent);
  }
  return Status::OK();
}

Status S3Upload::Commit() {
  done_ = true;
  if (upload_id_.empty()) return store_->Put(key_, buffer_);  // small: one PUT
  if (!buffer_.empty()) WF_RETURN_IF_ERROR(SendPart(buffer_));
  buffer_.clear();
  Status s = store_->CompleteMultipart(key_, upload_id_, etags_, size_);
  if (!s.ok()) (void)store_->AbortUpload(key_, upload_id_);
  return s;
}

Status S3Upload::Abort() {
  done_ = true;
  buffer_.clear();
  if (upload_id_.empty()) return Status::OK();
  return store_->AbortUpload(key_, upload_id_);
}

}  // namespace

Status ParseS3Url(const std::string& url, std::string* bucket, std::string* prefix) {
  constexpr std::string_view kScheme = "s3://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return InvalidArgument("'" + url + "' is not an s3:// URL");
  }
  std::string rest = url.substr(kScheme.size());
  auto slash = rest.find('/');
  *bucket = rest.substr(0, slash);
  *prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
  while (!prefix->empty() && prefix->front() == '/') prefix->erase(0, 1);
  if (bucket->empty()) return InvalidArgument("'" + url + "' names no bucket (s3://bucket/prefix)");
  return Status::OK();
}

Result<std::unique_ptr<ObjectStore>> OpenS3Store(S3Options options) {
  if (options.part_size < (5u << 20)) {
    return InvalidArgument("s3 part size must be at least 5MB (S3's minimum)");
  }
  return std::unique_ptr<ObjectStore>(std::make_unique<S3Store>(std::move(options)));
}

}  // namespace walflow::storage
