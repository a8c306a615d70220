// Bounds-checked reader of big-endian protocol fields. Every Read* returns false
// instead of reading past the end, so a malformed message cannot crash the decoder.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace walflow::pg {

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

  bool ReadU8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool ReadU16(uint16_t* v) {
    uint64_t x;
    if (!ReadBE(2, &x)) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  }
  bool ReadU32(uint32_t* v) {
    uint64_t x;
    if (!ReadBE(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool ReadI32(int32_t* v) {
    uint32_t x;
    if (!ReadU32(&x)) return false;
    *v = static_cast<int32_t>(x);
    return true;
  }
  bool ReadU64(uint64_t* v) { return ReadBE(8, v); }
  bool ReadI64(int64_t* v) {
    uint64_t x;
    if (!ReadU64(&x)) return false;
    *v = static_cast<int64_t>(x);
    return true;
  }
  // A NUL-terminated string (the terminator is consumed, not returned).
  bool ReadCString(std::string_view* s) {
    const void* nul = std::memchr(data_.data() + pos_, '\0', remaining());
    if (nul == nullptr) return false;
    size_t len = static_cast<const char*>(nul) - (data_.data() + pos_);
    *s = data_.substr(pos_, len);
    pos_ += len + 1;
    return true;
  }
  bool ReadBytes(size_t n, std::string_view* s) {
    if (remaining() < n) return false;
    *s = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view Rest() const { return data_.substr(pos_); }

 private:
  bool ReadBE(int n, uint64_t* v) {
    if (remaining() < static_cast<size_t>(n)) return false;
    uint64_t x = 0;
    for (int i = 0; i < n; ++i) x = (x << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    *v = x;
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace walflow::pg
