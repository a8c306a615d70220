// Test-only encoder of pgoutput messages, written from PostgreSQL's "Logical Replication
// Message Formats" (protocol versions 1 and 2), independently of src/pg/pgoutput.cc.
// Integers are big-endian; strings are NUL-terminated; times are microseconds since
// 2000-01-01 (PostgreSQL's epoch), exactly as the server sends them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace walflow::test {

// One column of TupleData: 'n' (NULL), 'u' (unchanged TOAST), 't' (text), 'b' (binary).
struct WireColumn {
  char kind = 'n';
  std::string data;
};
using WireTuple = std::vector<WireColumn>;

inline WireColumn T(std::string text) { return {'t', std::move(text)}; }
inline WireColumn N() { return {'n', {}}; }
inline WireColumn U() { return {'u', {}}; }
inline WireColumn B(std::string bytes) { return {'b', std::move(bytes)}; }

// A column of a Relation message.
struct WireRelationColumn {
  std::string name;
  uint32_t type_oid = 25;
  int32_t typmod = -1;
  bool key = false;
};

class WireMessage {
 public:
  explicit WireMessage(char tag) { bytes_.push_back(tag); }

  WireMessage& U8(uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  WireMessage& U16(uint16_t v) { return BigEndian(v, 2); }
  WireMessage& U32(uint32_t v) { return BigEndian(v, 4); }
  WireMessage& I32(int32_t v) { return BigEndian(static_cast<uint32_t>(v), 4); }
  WireMessage& U64(uint64_t v) { return BigEndian(v, 8); }
  WireMessage& I64(int64_t v) { return BigEndian(static_cast<uint64_t>(v), 8); }
  WireMessage& CString(const std::string& s) {
    bytes_.append(s);
    bytes_.push_back('\0');
    return *this;
  }
  WireMessage& Raw(const std::string& s) {
    bytes_.append(s);
    return *this;
  }
  // Protocol 2 adds the (sub)transaction id to messages inside a Stream Start/Stop block.
  WireMessage& MaybeXid(std::optional<uint32_t> xid) {
    if (xid) U32(*xid);
    return *this;
  }
  WireMessage& Tuple(const WireTuple& tuple) {
    U16(static_cast<uint16_t>(tuple.size()));
    for (const WireColumn& c : tuple) {
      U8(static_cast<uint8_t>(c.kind));
      if (c.kind == 't' || c.kind == 'b') {
        U32(static_cast<uint32_t>(c.data.size()));
        Raw(c.data);
      }
    }
    return *this;
  }
  std::string str() const { return bytes_; }
  operator std::string() const { return bytes_; }  // NOLINT: convenience in tests

 private:
  WireMessage& BigEndian(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

inline std::string WireBegin(uint64_t final_lsn, int64_t pg_time_us, uint32_t xid) {
  return WireMessage('B').U64(final_lsn).I64(pg_time_us).U32(xid);
}

inline std::string WireCommit(uint64_t commit_lsn, uint64_t end_lsn, int64_t pg_time_us,
                              uint8_t flags = 0) {
  return WireMessage('C').U8(flags).U64(commit_lsn).U64(end_lsn).I64(pg_time_us);
}

inline std::string WireOrigin(uint64_t lsn, const std::string& name) {
  return WireMessage('O').U64(lsn).CString(name);
}

inline std::string WireRelation(uint32_t relid, const std::string& nsp, const std::string& rel,
                                char replica_identity,
                                const std::vector<WireRelationColumn>& columns,
                                std::optional<uint32_t> xid = std::nullopt) {
  WireMessage m('R');
  m.MaybeXid(xid).U32(relid).CString(nsp).CString(rel);
  m.U8(static_cast<uint8_t>(replica_identity)).U16(static_cast<uint16_t>(columns.size()));
  for (const auto& c : columns) {
    m.U8(c.key ? 1 : 0).CString(c.name).U32(c.type_oid).I32(c.typmod);
  }
  return m;
}

inline std::string WireType(uint32_t oid, const std::string& nsp, const std::string& name,
                            std::optional<uint32_t> xid = std::nullopt) {
  return WireMessage('Y').MaybeXid(xid).U32(oid).CString(nsp).CString(name);
}

inline std::string WireInsert(uint32_t relid, const WireTuple& row,
                              std::optional<uint32_t> xid = std::nullopt) {
  return WireMessage('I').MaybeXid(xid).U32(relid).U8('N').Tuple(row);
}

// old_kind: 0 (no old tuple), 'K' (replica identity key) or 'O' (whole old row).
inline std::string WireUpdate(uint32_t relid, char old_kind, const WireTuple& old_row,
                              const WireTuple& new_row,
                              std::optional<uint32_t> xid = std::nullopt) {
  WireMessage m('U');
  m.MaybeXid(xid).U32(relid);
  if (old_kind != 0) m.U8(static_cast<uint8_t>(old_kind)).Tuple(old_row);
  return m.U8('N').Tuple(new_row);
}

inline std::string WireDelete(uint32_t relid, char old_kind, const WireTuple& old_row,
                              std::optional<uint32_t> xid = std::nullopt) {
  return WireMessage('D')
      .MaybeXid(xid)
      .U32(relid)
      .U8(static_cast<uint8_t>(old_kind))
      .Tuple(old_row);
}

inline std::string WireTruncate(const std::vector<uint32_t>& relids, uint8_t options,
                                std::optional<uint32_t> xid = std::nullopt) {
  WireMessage m('T');
  m.MaybeXid(xid).U32(static_cast<uint32_t>(relids.size())).U8(options);
  for (uint32_t r : relids) m.U32(r);
  return m;
}

inline std::string WireLogicalMessage(bool transactional, uint64_t lsn, const std::string& prefix,
                                      const std::string& content,
                                      std::optional<uint32_t> xid = std::nullopt) {
  return WireMessage('M')
      .MaybeXid(xid)
      .U8(transactional ? 1 : 0)
      .U64(lsn)
      .CString(prefix)
      .U32(static_cast<uint32_t>(content.size()))
      .Raw(content);
}

inline std::string WireStreamStart(uint32_t xid, bool first_segment) {
  return WireMessage('S').U32(xid).U8(first_segment ? 1 : 0);
}

inline std::string WireStreamStop() { return WireMessage('E'); }

inline std::string WireStreamCommit(uint32_t xid, uint64_t commit_lsn, uint64_t end_lsn,
                                    int64_t pg_time_us, uint8_t flags = 0) {
  return WireMessage('c').U32(xid).U8(flags).U64(commit_lsn).U64(end_lsn).I64(pg_time_us);
}

inline std::string WireStreamAbort(uint32_t xid, uint32_t sub_xid) {
  return WireMessage('A').U32(xid).U32(sub_xid);
}

// Microseconds between the Unix epoch and 2000-01-01, written out here on purpose rather
// than taken from the code under test.
constexpr int64_t kPgEpochUnixMicros = 946684800000000LL;

}  // namespace walflow::test
