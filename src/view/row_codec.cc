#include "view/row_codec.h"

namespace walflow::view {

namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

Status Damaged(const char* what) { return DataLoss(std::string("view state: damaged ") + what); }

}  // namespace

void EncodeTextRow(const TextRow& row, std::string* out) {
  PutVarint(row.size(), out);
  for (const auto& v : row) {
    if (!v) {
      out->push_back('\0');
      continue;
    }
    out->push_back('\1');
    PutVarint(v->size(), out);
    out->append(*v);
  }
}

Result<TextRow> DecodeTextRow(std::string_view* in) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return Damaged("row");
  TextRow row;
  row.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (in->empty()) return Damaged("row");
    const char tag = in->front();
    in->remove_prefix(1);
    if (tag == '\0') {
      row.emplace_back();
      continue;
    }
    uint64_t len = 0;
    if (tag != '\1' || !GetVarint(in, &len) || len > in->size()) return Damaged("row");
    row.emplace_back(std::string(in->substr(0, len)));
    in->remove_prefix(len);
  }
  return row;
}

std::string EncodeOutputRecord(const OutputRecord& r) {
  std::string out;
  out.push_back('\1');  // version
  PutVarint(r.end_lsn.value, &out);
  PutVarint(r.commit_lsn.value, &out);
  PutVarint(r.xid.value, &out);
  PutVarint(static_cast<uint64_t>(r.commit_time_us), &out);
  PutVarint(r.changes.size(), &out);
  for (const RecordedChange& c : r.changes) {
    out.push_back(static_cast<char>(c.op));
    PutVarint(c.lsn.value, &out);
    PutVarint(c.seq, &out);
    out.push_back(static_cast<char>((c.before ? 1 : 0) | (c.after ? 2 : 0)));
    if (c.before) EncodeTextRow(*c.before, &out);
    if (c.after) EncodeTextRow(*c.after, &out);
  }
  return out;
}

Result<OutputRecord> DecodeOutputRecord(std::string_view in) {
  OutputRecord r;
  uint64_t end = 0, commit = 0, xid = 0, time = 0, n = 0;
  if (in.empty() || in.front() != '\1') return Damaged("output record");
  in.remove_prefix(1);
  if (!GetVarint(&in, &end) || !GetVarint(&in, &commit) || !GetVarint(&in, &xid) ||
      !GetVarint(&in, &time) || !GetVarint(&in, &n) || n > in.size()) {
    return Damaged("output record");
  }
  r.end_lsn = Lsn(end);
  r.commit_lsn = Lsn(commit);
  r.xid = Xid(static_cast<uint32_t>(xid));
  r.commit_time_us = static_cast<int64_t>(time);
  for (uint64_t i = 0; i < n; ++i) {
    RecordedChange c;
    uint64_t lsn = 0, seq = 0;
    if (in.empty()) return Damaged("output record");
    c.op = static_cast<ChangeOp>(in.front());
    in.remove_prefix(1);
    if (!GetVarint(&in, &lsn) || !GetVarint(&in, &seq) || in.empty()) {
      return Damaged("output record");
    }
    c.lsn = Lsn(lsn);
    c.seq = static_cast<uint32_t>(seq);
    const auto images = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (images & 1) {
      WF_ASSIGN_OR_RETURN(c.before, DecodeTextRow(&in));
    }
    if (images & 2) {
      WF_ASSIGN_OR_RETURN(c.after, DecodeTextRow(&in));
    }
    r.changes.push_back(std::move(c));
  }
  if (!in.empty()) return Damaged("output record");
  return r;
}

}  // namespace walflow::view
