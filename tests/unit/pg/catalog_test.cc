// ResolveType: PostgreSQL types to walflow's value kinds (Debezium's mapping), built-in
// types without the catalog, others through it.
#include "pg/catalog.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "unit_test_util.h"

namespace walflow::pg {
namespace {

class MapCatalog : public Catalog {
 public:
  Result<PgTypeInfo> DescribeType(Oid type) override {
    ++calls;
    auto it = types.find(type.value);
    if (it == types.end()) return NotFound("type " + std::to_string(type.value));
    return it->second;
  }
  Result<std::vector<PgColumnInfo>> DescribeColumns(Oid) override {
    return std::vector<PgColumnInfo>{};
  }
  void Add(uint32_t oid, const std::string& nsp, const std::string& name, char typtype,
           char category, uint32_t element = 0, uint32_t base = 0, int32_t base_typmod = -1,
           std::vector<std::string> labels = {}) {
    PgTypeInfo t;
    t.oid = Oid(oid);
    t.nspname = nsp;
    t.name = name;
    t.typtype = typtype;
    t.typcategory = category;
    t.element = Oid(element);
    t.base_type = Oid(base);
    t.base_typmod = base_typmod;
    t.enum_labels = std::move(labels);
    types[oid] = t;
  }
  std::map<uint32_t, PgTypeInfo> types;
  int calls = 0;
};

ValueType Resolve(uint32_t oid, int32_t typmod, Catalog* catalog = nullptr) {
  auto r = ResolveType(Oid(oid), typmod, catalog);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ValueType{};
}

TEST(ResolveTypeTest, BuiltinTypesNeedNoCatalog) {
  const std::vector<std::pair<uint32_t, ValueKind>> cases = {
      {16, ValueKind::kBoolean},
      {17, ValueKind::kBytes},
      {18, ValueKind::kString},
      {19, ValueKind::kString},
      {20, ValueKind::kInt64},
      {21, ValueKind::kInt16},
      {23, ValueKind::kInt32},
      {25, ValueKind::kString},
      {26, ValueKind::kInt64},
      {114, ValueKind::kJson},
      {142, ValueKind::kXml},
      {700, ValueKind::kFloat32},
      {701, ValueKind::kFloat64},
      {1042, ValueKind::kString},
      {1043, ValueKind::kString},
      {1082, ValueKind::kDate},
      {1184, ValueKind::kZonedTimestamp},
      {1186, ValueKind::kInterval},
      {1266, ValueKind::kZonedTime},
      {1700, ValueKind::kDecimal},
      {2950, ValueKind::kUuid},
      {3802, ValueKind::kJson},
  };
  for (const auto& [oid, kind] : cases) {
    EXPECT_EQ(Resolve(oid, -1).kind, kind) << "oid " << oid;
  }
  EXPECT_EQ(Resolve(23, -1).type_name, "int4");
  EXPECT_EQ(Resolve(23, -1).type_oid, Oid(23));
}

TEST(ResolveTypeTest, TimePrecisionChoosesMillisOrMicros) {
  EXPECT_EQ(Resolve(1083, -1).kind, ValueKind::kTimeMicros);
  EXPECT_EQ(Resolve(1083, 0).kind, ValueKind::kTimeMillis);
  EXPECT_EQ(Resolve(1083, 3).kind, ValueKind::kTimeMillis);
  EXPECT_EQ(Resolve(1083, 4).kind, ValueKind::kTimeMicros);
  EXPECT_EQ(Resolve(1114, -1).kind, ValueKind::kTimestampMicros);
  EXPECT_EQ(Resolve(1114, 3).kind, ValueKind::kTimestampMillis);
  EXPECT_EQ(Resolve(1114, 6).kind, ValueKind::kTimestampMicros);
  // timestamptz is a string whatever its precision.
  EXPECT_EQ(Resolve(1184, 0).kind, ValueKind::kZonedTimestamp);
}

TEST(ResolveTypeTest, NumericPrecisionAndScale) {
  ValueType t = Resolve(1700, ((10 << 16) | 2) + 4);  // numeric(10,2)
  EXPECT_EQ(t.precision, 10);
  EXPECT_EQ(t.scale, 2);
  t = Resolve(1700, ((38 << 16) | 0) + 4);  // numeric(38,0)
  EXPECT_EQ(t.precision, 38);
  EXPECT_EQ(t.scale, 0);
  t = Resolve(1700, -1);  // numeric: variable scale
  EXPECT_LT(t.scale, 0);
  t = Resolve(1700, ((5 << 16) | (-2 & 0x7ff)) + 4);  // numeric(5,-2), PostgreSQL 15
  EXPECT_LT(t.scale, 0);
}

TEST(ResolveTypeTest, BuiltinArrays) {
  ValueType t = Resolve(1007, -1);
  EXPECT_EQ(t.kind, ValueKind::kArray);
  ASSERT_NE(t.element, nullptr);
  EXPECT_EQ(t.element->kind, ValueKind::kInt32);
  EXPECT_EQ(t.type_name, "_int4");
  t = Resolve(1231, ((10 << 16) | 2) + 4);  // numeric(10,2)[]
  ASSERT_NE(t.element, nullptr);
  EXPECT_EQ(t.element->kind, ValueKind::kDecimal);
  EXPECT_EQ(t.element->scale, 2);
  EXPECT_EQ(Resolve(1009, -1).element->kind, ValueKind::kString);
  EXPECT_EQ(Resolve(3807, -1).element->kind, ValueKind::kJson);
}

TEST(ResolveTypeTest, EnumsDomainsAndTheirArraysThroughTheCatalog) {
  MapCatalog cat;
  cat.Add(90001, "public", "mood", 'e', 'E', 0, 0, -1, {"happy", "sad"});
  cat.Add(90002, "public", "_mood", 'b', 'A', 90001);
  cat.Add(90003, "public", "money2", 'd', 'N', 0, 1700, ((12 << 16) | 2) + 4);
  cat.Add(90004, "public", "positive_money", 'd', 'N', 0, 90003);  // a domain over a domain
  cat.Add(90005, "pg_catalog", "point", 'b', 'G');

  ValueType mood = Resolve(90001, -1, &cat);
  EXPECT_EQ(mood.kind, ValueKind::kEnum);
  EXPECT_EQ(mood.type_name, "public.mood");
  EXPECT_EQ(mood.enum_labels, (std::vector<std::string>{"happy", "sad"}));

  ValueType moods = Resolve(90002, -1, &cat);
  EXPECT_EQ(moods.kind, ValueKind::kArray);
  ASSERT_NE(moods.element, nullptr);
  EXPECT_EQ(moods.element->kind, ValueKind::kEnum);
  EXPECT_EQ(moods.element->enum_labels.size(), 2u);

  ValueType money = Resolve(90003, -1, &cat);
  EXPECT_EQ(money.kind, ValueKind::kDecimal);
  EXPECT_EQ(money.scale, 2);
  EXPECT_EQ(money.precision, 12);
  EXPECT_EQ(money.type_name, "public.money2");
  EXPECT_EQ(money.type_oid, Oid(90003));

  ValueType positive = Resolve(90004, -1, &cat);
  EXPECT_EQ(positive.kind, ValueKind::kDecimal);
  EXPECT_EQ(positive.scale, 2);

  ValueType point = Resolve(90005, -1, &cat);
  EXPECT_EQ(point.kind, ValueKind::kText);
  EXPECT_EQ(point.type_name, "point");  // pg_catalog types keep their bare name
}

TEST(ResolveTypeTest, WithoutCatalogUnknownTypesFallBackToText) {
  ValueType t = Resolve(90001, -1, nullptr);
  EXPECT_EQ(t.kind, ValueKind::kText);
  EXPECT_NE(t.type_name.find("90001"), std::string::npos);
}

TEST(ResolveTypeTest, CatalogErrorsArePassedOn) {
  MapCatalog cat;
  auto r = ResolveType(Oid(12345), -1, &cat);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(ResolveTypeTest, SelfReferencingDomainDoesNotRecurseForever) {
  MapCatalog cat;
  cat.Add(91000, "public", "loop", 'd', 'N', 0, 91000);
  auto r = ResolveType(Oid(91000), -1, &cat);
  EXPECT_TRUE(r.ok());
  EXPECT_LT(cat.calls, 20);
}

// RememberingCatalog: the live catalog first (an enum's labels grow), its memory only for a
// type the live catalog no longer has, and that memory kept in a file across restarts.
TEST(RememberingCatalogTest, AnswersForDroppedTypesFromMemoryAndFile) {
  test::ScratchDir dir;
  const std::string file = dir.File("types");
  MapCatalog live;
  live.Add(90001, "public", "mood", 'e', 'E', 0, 0, -1, {"a\tb", "new\nline", "back\\slash", ""});
  live.Add(90003, "my schema", "money2", 'd', 'N', 0, 1700, ((12 << 16) | 2) + 4);
  {
    RememberingCatalog cat(&live, file);
    EXPECT_EQ(Resolve(90001, -1, &cat).kind, ValueKind::kEnum);
    EXPECT_EQ(Resolve(90003, -1, &cat).scale, 2);
    live.types[90001].enum_labels.push_back("added");  // ALTER TYPE ... ADD VALUE
    EXPECT_EQ(Resolve(90001, -1, &cat).enum_labels.size(), 5u) << "the live catalog comes first";
    live.types.clear();  // both dropped
    ValueType mood = Resolve(90001, -1, &cat);
    EXPECT_EQ(mood.kind, ValueKind::kEnum);
    EXPECT_EQ(mood.enum_labels.size(), 5u);
    EXPECT_EQ(ResolveType(Oid(90002), -1, &cat).status().code(), StatusCode::kNotFound)
        << "never seen: still not found";
  }
  // A restart: a new RememberingCatalog over the same file.
  RememberingCatalog cat(&live, file);
  ValueType mood = Resolve(90001, -1, &cat);
  EXPECT_EQ(mood.kind, ValueKind::kEnum);
  EXPECT_EQ(mood.type_name, "public.mood");
  EXPECT_EQ(mood.enum_labels,
            (std::vector<std::string>{"a\tb", "new\nline", "back\\slash", "", "added"}));
  ValueType money = Resolve(90003, -1, &cat);
  EXPECT_EQ(money.kind, ValueKind::kDecimal);
  EXPECT_EQ(money.precision, 12);
  EXPECT_EQ(money.type_name, "my schema.money2");
  // Other failures of the live catalog are passed on, not hidden by the memory.
  class Down : public MapCatalog {
    Result<PgTypeInfo> DescribeType(Oid) override { return Unavailable("connection lost"); }
  } down;
  RememberingCatalog over_down(&down, file);
  EXPECT_EQ(ResolveType(Oid(90001), -1, &over_down).status().code(), StatusCode::kUnavailable);
}

TEST(RememberingCatalogTest, AnUnreadableFileIsIgnored) {
  test::ScratchDir dir;
  const std::string file = dir.File("types");
  {
    std::ofstream out(file);
    out << "not walflow's\n";
  }
  MapCatalog live;
  live.Add(90001, "public", "mood", 'e', 'E', 0, 0, -1, {"x"});
  RememberingCatalog cat(&live, file);
  EXPECT_EQ(Resolve(90001, -1, &cat).kind, ValueKind::kEnum);
  // ... and replaced by a good one.
  live.types.clear();
  RememberingCatalog again(&live, file);
  EXPECT_EQ(Resolve(90001, -1, &again).kind, ValueKind::kEnum);
  // Without a file the memory lasts as long as the object.
  RememberingCatalog memory_only(&live, "");
  EXPECT_EQ(ResolveType(Oid(90001), -1, &memory_only).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace walflow::pg
