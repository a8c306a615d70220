// What walflow needs to know from the server's catalog beyond what pgoutput sends:
// non-built-in types (enums, domains, arrays of them) and per-column nullability and
// primary keys. Behind an interface so decoding can be tested without a server.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change.h"
#include "core/ids.h"
#include "core/status.h"

namespace walflow::pg {

class Connection;

struct PgTypeInfo {
  Oid oid;
  std::string nspname;
  std::string name;
  char typtype = 'b';      // b(ase), c(omposite), d(omain), e(num), p(seudo), r(ange), m(ultirange)
  char typcategory = 'U';  // 'A' for arrays
  Oid element;             // arrays: the element type
  Oid base_type;           // domains: the underlying type
  int32_t base_typmod = -1;
  std::vector<std::string> enum_labels;
};

struct PgColumnInfo {
  std::string name;
  bool not_null = false;
  int primary_key_position = -1;
  Oid type_oid = {};  // 0 when unknown: the column then matches by name alone
};

// The catalog as it is now, which may be newer than the change being decoded (the slot
// lags): callers prefer what pgoutput's messages say, decoded by the server with the catalog
// as it was, and use this for what those messages lack.
class Catalog {
 public:
  virtual ~Catalog() = default;
  // kNotFound when the type no longer exists.
  virtual Result<PgTypeInfo> DescribeType(Oid type) = 0;
  // Live columns of a relation in attnum order; none when it no longer exists.
  virtual Result<std::vector<PgColumnInfo>> DescribeColumns(Oid relid) = 0;
};

// A Catalog that queries the server over an ordinary (non-replication) connection.
class SqlCatalog : public Catalog {
 public:
  explicit SqlCatalog(Connection* conn) : conn_(conn) {}
  Result<PgTypeInfo> DescribeType(Oid type) override;
  Result<std::vector<PgColumnInfo>> DescribeColumns(Oid relid) override;

 private:
  Connection* conn_;
};

// A Catalog that remembers every type the live one described, and answers from that memory
// when the live catalog no longer has the type (dropped after the change being decoded was
// written). With a `file`, the memory survives restarts: it is read at construction and
// rewritten (atomically) whenever a type is learned or changes. File errors are logged,
// never fatal: the file only saves lookups that would otherwise fail.
class RememberingCatalog : public Catalog {
 public:
  RememberingCatalog(Catalog* live, std::string file);
  Result<PgTypeInfo> DescribeType(Oid type) override;
  Result<std::vector<PgColumnInfo>> DescribeColumns(Oid relid) override;

 private:
  void Load();
  void Save();

  Catalog* live_;
  std::string file_;
  std::unordered_map<Oid, PgTypeInfo> types_;
};

// A table's columns as the server describes them (a pgoutput Relation message, or the
// catalog for a snapshot), before type resolution.
struct RelationColumnSpec {
  std::string name;
  Oid type_oid;
  int32_t typmod = -1;
  bool replica_key = false;
  // The type's name as a pgoutput Type message gave it ("public.mood"), for a type the
  // catalog no longer describes; empty when none came.
  std::string type_name = {};
};

struct RelationSpec {
  Oid relid;
  std::string schema;
  std::string name;
  char replica_identity = 'd';
  std::vector<RelationColumnSpec> columns;
};

// Builds the TableSchema events carry, and the Debezium key (primary key, else the replica
// identity index). The stream and the snapshot both build their schemas here, so their
// events agree. What the spec says wins over the (possibly newer) catalog: under REPLICA
// IDENTITY DEFAULT the key flags are the primary key (the catalog only orders them when it
// agrees on the set); NOT NULL comes from catalog columns of the same name and type. A type
// the catalog no longer has becomes kText (its values' text form) with a warning naming
// table, column and type OID; other catalog failures are returned.
Result<TableSchemaPtr> BuildTableSchema(const RelationSpec& spec, Catalog* catalog);

// Resolves a column's PostgreSQL type to walflow's value type (Debezium's mapping).
// Built-in types are resolved without a catalog lookup; others ask `catalog` once.
Result<ValueType> ResolveType(Oid type, int32_t typmod, Catalog* catalog);

}  // namespace walflow::pg
