#!/usr/bin/env python3
"""Writes the seed corpora: for pgoutput_fuzz, framed pgoutput messages ([u16 LE length][message])
built from the protocol description (corpus/); for copy_text_fuzz, COPY text rows
([ncols][column types][lines]) as COPY TO writes them (copy_text_corpus/). Run from the
repository root; the output is committed."""
import struct, os

def cstr(s): return s.encode() + b"\0"
def tuple_(cols):
    out = struct.pack(">H", len(cols))
    for c in cols:
        if c is None: out += b"n"
        elif c == "<u>": out += b"u"
        else:
            b = c.encode(); out += b"t" + struct.pack(">I", len(b)) + b
    return out
def begin(final, xid): return b"B" + struct.pack(">QqI", final, 0, xid)
def commit(lsn, end): return b"C" + struct.pack(">BQQq", 0, lsn, end, 0)
def relation(oid, cols, xid=None):
    out = b"R" + (struct.pack(">I", xid) if xid else b"") + struct.pack(">I", oid) + cstr("public") + cstr("t") + b"d" + struct.pack(">H", len(cols))
    for name, typ, typmod, key in cols:
        out += struct.pack(">B", 1 if key else 0) + cstr(name) + struct.pack(">Ii", typ, typmod)
    return out
def insert(oid, cols, xid=None): return b"I" + (struct.pack(">I", xid) if xid else b"") + struct.pack(">I", oid) + b"N" + tuple_(cols)
def update(oid, old, new, kind=b"O"): return b"U" + struct.pack(">I", oid) + (kind + tuple_(old) if old else b"") + b"N" + tuple_(new)
def delete(oid, old): return b"D" + struct.pack(">I", oid) + b"K" + tuple_(old)
def truncate(oids): return b"T" + struct.pack(">IB", len(oids), 0) + b"".join(struct.pack(">I", o) for o in oids)
def sstart(xid): return b"S" + struct.pack(">IB", xid, 1)
def sstop(): return b"E"
def scommit(xid, lsn, end): return b"c" + struct.pack(">IBQQq", xid, 0, lsn, end, 0)
def sabort(xid, sub): return b"A" + struct.pack(">II", xid, sub)
def frame(msgs): return b"".join(struct.pack("<H", len(m)) + m for m in msgs)

cols = [("id", 23, -1, True), ("n", 1700, (10 << 16 | 2) + 4, False), ("ts", 1184, -1, False),
        ("a", 1009, -1, False), ("b", 17, -1, False), ("iv", 1186, -1, False), ("d", 1082, -1, False)]
row = ["1", "12.50", "2024-01-02 03:04:05.5+00", '{a,"b c",NULL}', "\\x00ff", "1 year 2 mons -3 days +04:05:06.7", "0044-03-15 BC"]
row2 = ["2", "-0.01", "infinity", "{}", "\\x", "00:00:00", "2024-02-29"]
seeds = {
  "basic": [begin(100, 5), relation(16384, cols), insert(16384, row), update(16384, row, row2), delete(16384, ["2", None, None, None, None, None, None]), truncate([16384]), commit(100, 120)],
  "toast": [begin(100, 5), relation(16384, cols), update(16384, row, ["1", "<u>", "<u>", "<u>", "<u>", "<u>", "<u>"])],
  "stream": [sstart(7), relation(16384, cols, 7), insert(16384, row, 7), insert(16384, row2, 8), sstop(), sabort(7, 8), sstart(7), insert(16384, row2, 7), sstop(), scommit(7, 300, 320)],
}
os.makedirs("tests/fuzz/corpus", exist_ok=True)
for name, msgs in seeds.items():
    with open(f"tests/fuzz/corpus/{name}", "wb") as f: f.write(frame(msgs))

# copy_text_fuzz: byte 0 is the column count; byte 1 picks the column types (column i has
# type (byte1 + 5 * i) % 12 of ColumnTypes() in copy_text_fuzz.cc), bit 5 turns schemas on
# and bits 6-7 give the number of key columns; then the lines, without their newline.
def copy_rows(ncols, types, lines): return bytes([ncols, types]) + b"\n".join(lines)
copy_seeds = {
  "plain": copy_rows(3, 0x40, [b"1\thello world\t2024-01-02", b"2\t\\N\t", b"3\t\t2024-02-29"]),
  "nulls": copy_rows(3, 0x80, [b"\\N\t\\\\N\tx", b"\\N\t\\N\t\\N", b"\t\\Nx\t"]),
  "escapes": copy_rows(2, 0, [b"\\b\\f\\n\\r\\t\\v\\\\\tplain",
                              b"\\101\\7\\377\\0\t\\x41\\x4g\\xg\\x",
                              b"\\q\\'\\\"\t\\\\x00ff", b"trailing\\\t\\1014"]),
  "unicode": copy_rows(2, 0x40, ["h\u00e9llo\t\u65e5\u672c \U0001f600".encode(),
                                 b"\\303\\251\t\\xc3\\xa9"]),
  "zero_columns": copy_rows(0, 0, [b"", b"", b"x"]),
  "wrong_count": copy_rows(2, 0, [b"a", b"a\tb\tc", b"a\tb", b"", b"\t"]),
  # int4, date, _text, bytea, float8, int8, interval, text; one key column, with schemas
  "typed": copy_rows(8, 0x40 | 0x20 | 1, [
      b"42\t2024-02-29\t{a,\"b c\",NULL}\t\\\\x00ff10\t-2e-05\t9223372036854775807"
      b"\t1 year 2 mons -3 days +04:05:06.7\tO'Brien",
      b"-1\t\\N\t{}\t\\N\tNaN\t\\N\t00:00:00\t\\N",
      b"x\tinfinity\t{\"\\\\\\\\\"}\t\\\\x\tInfinity\tnot-a-number\t-infinity\t"]),
}
os.makedirs("tests/fuzz/copy_text_corpus", exist_ok=True)
for name, data in copy_seeds.items():
    with open(f"tests/fuzz/copy_text_corpus/{name}", "wb") as f: f.write(data)
