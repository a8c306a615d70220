// What walflow needs to know from the server's catalog beyond what pgoutput sends:
// non-built-in types (enums, domains, arrays of them) and per-column nullability and
// primary keys. Behind an interface so decoding can be tested without a server.
#pragma once

#include <memory>
#include <string>
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
};

class Catalog {
 public:
  virtual ~Catalog() = default;
  virtual Result<PgTypeInfo> DescribeType(Oid type) = 0;
  // Live columns of a relation in attnum order.
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

// A table's columns as the server describes them (a pgoutput Relation message, or the
// catalog for a snapshot), before type resolution.
struct RelationColumnSpec {
  std::string name;
  Oid type_oid;
  int32_t typmod = -1;
  bool replica_key = false;
};

struct RelationSpec {
  Oid relid;
  std::string schema;
  std::string name;
  char replica_identity = 'd';
  std::vector<RelationColumnSpec> columns;
};

// Builds the TableSchema events carry: types resolved, nullability and primary key from
// the catalog, the Debezium key (primary key, else the replica identity index). The
// stream and the snapshot both build their schemas here, so their events agree.
Result<TableSchemaPtr> BuildTableSchema(const RelationSpec& spec, Catalog* catalog);

// Resolves a column's PostgreSQL type to walflow's value type (Debezium's mapping).
// Built-in types are resolved without a catalog lookup; others ask `catalog` once.
Result<ValueType> ResolveType(Oid type, int32_t typmod, Catalog* catalog);

}  // namespace walflow::pg
