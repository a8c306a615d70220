// The SQL corpus: every tests/sql/*.test file (format: tests/sql/README.md) is one test. A
// file declares views, runs walflow with them, changes tables, and at each `check` every
// view's events are replayed and compared with PostgreSQL's answer to the view's SQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "walflow_harness.h"

#ifndef WALFLOW_SQL_CORPUS_DIR
#error "WALFLOW_SQL_CORPUS_DIR must name tests/sql"
#endif
#ifndef WALFLOW_SQL_CORPUS_FILES
#error "WALFLOW_SQL_CORPUS_FILES must list the .test files of tests/sql, comma-separated"
#endif

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// --- The format ---

enum class DirectiveKind {
  kStatementOk,
  kStatementError,
  kView,
  kViewError,
  kStart,
  kCheck,
  kRestart,
  kStop,
  kKill9,
  kPeek,
  kRandom,
  kRuntimeError,
};

struct Directive {
  DirectiveKind kind = DirectiveKind::kCheck;
  int line = 0;                  // of the directive, from 1
  std::string text;              // the directive's line
  std::string sql;               // the block after it, lines joined by '\n'
  std::string view;              // view, view error, runtime error
  std::string message;           // statement error, view error, runtime error: expected substring
  std::vector<std::string> key;  // view ... key=a,b
  uint32_t seed = 0;             // random
  std::string table;             // random
  int statements = 0;            // random
};

struct CorpusFile {
  std::string path;
  std::vector<Directive> directives;
};

// A file the parser refuses; what() is "PATH:LINE: what is wrong".
class CorpusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bool IsIdentifier(const std::string& s) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

// "name" or "schema.name", both lower-case identifiers.
bool IsViewName(const std::string& s) {
  auto dot = s.find('.');
  if (dot == std::string::npos) return IsIdentifier(s);
  return IsIdentifier(s.substr(0, dot)) && IsIdentifier(s.substr(dot + 1));
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// What follows the first `n` words of `line`, trimmed ("" if nothing).
std::string RestAfterWords(const std::string& line, size_t n) {
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    pos = line.find_first_not_of(" \t", pos);
    pos = line.find_first_of(" \t", pos);
    if (pos == std::string::npos) return "";
  }
  size_t start = line.find_first_not_of(" \t", pos);
  if (start == std::string::npos) return "";
  size_t end = line.find_last_not_of(" \t\r");
  return line.substr(start, end - start + 1);
}

class CorpusParser {
 public:
  explicit CorpusParser(std::string path) : path_(std::move(path)) {}

  CorpusFile Parse(const std::string& text) {
    CorpusFile file{path_, {}};
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      lines.push_back(l);
    }
    auto blank = [](const std::string& l) {
      return l.find_first_not_of(" \t") == std::string::npos;
    };
    for (size_t i = 0; i < lines.size();) {
      if (blank(lines[i]) || lines[i][0] == '#') {
        ++i;
        continue;
      }
      Directive d;
      d.line = static_cast<int>(i) + 1;
      d.text = lines[i];
      size_t end = i + 1;
      while (end < lines.size() && !blank(lines[end])) {
        d.sql += (d.sql.empty() ? "" : "\n") + lines[end];
        ++end;
      }
      Read(d);
      file.directives.push_back(std::move(d));
      i = end;
    }
    return file;
  }

 private:
  [[noreturn]] void Fail(int line, const std::string& what) const {
    throw CorpusError(path_ + ":" + std::to_string(line) + ": " + what);
  }

  void Read(Directive& d) {
    const std::vector<std::string> w = Words(d.text);
    const std::string& head = w[0];
    const bool error_form = w.size() > 1 && w[1] == "error";
    if (head == "statement" && w.size() >= 2 && (w[1] == "ok" || w[1] == "error")) {
      if (w[1] == "ok" && w.size() > 2) Fail(d.line, "`statement ok` takes nothing after it");
      d.kind = w[1] == "ok" ? DirectiveKind::kStatementOk : DirectiveKind::kStatementError;
      d.message = RestAfterWords(d.text, 2);
      NeedSql(d);
    } else if (head == "view" && error_form) {
      if (w.size() < 4) Fail(d.line, "expected `view error NAME MESSAGE` (MESSAGE: a substring)");
      d.kind = DirectiveKind::kViewError;
      d.view = ViewName(d, w[2], /*declare=*/false);
      d.message = RestAfterWords(d.text, 3);
      NeedSql(d);
    } else if (head == "view") {
      if (w.size() < 2) Fail(d.line, "expected `view NAME [key=COLUMN,...]`");
      if (started_) Fail(d.line, "views are declared before the first `start`");
      d.kind = DirectiveKind::kView;
      d.view = ViewName(d, w[1], /*declare=*/true);
      for (size_t i = 2; i < w.size(); ++i) {
        if (w[i].rfind("key=", 0) != 0 || w[i].size() == 4) {
          Fail(d.line, "unknown view option '" + w[i] + "' (expected key=COLUMN,...)");
        }
        std::istringstream columns(w[i].substr(4));
        for (std::string c; std::getline(columns, c, ',');) d.key.push_back(c);
      }
      NeedSql(d);
    } else if (head == "runtime" && error_form) {
      if (w.size() < 4)
        Fail(d.line, "expected `runtime error VIEW MESSAGE` (MESSAGE: a substring)");
      d.kind = DirectiveKind::kRuntimeError;
      d.view = w[2];
      if (!views_.count(QualifiedViewName(d.view))) {
        Fail(d.line, "`runtime error` names view " + d.view + ", which is not declared");
      }
      d.message = RestAfterWords(d.text, 3);
      NeedRunning(d);
      NoSql(d);
      running_ = false;
    } else if (head == "random") {
      if (w.size() != 4) Fail(d.line, "expected `random SEED TABLE STATEMENTS`");
      d.kind = DirectiveKind::kRandom;
      d.seed = static_cast<uint32_t>(Number(d, w[1], "SEED"));
      d.table = w[2];
      d.statements = static_cast<int>(Number(d, w[3], "STATEMENTS"));
      NoSql(d);
    } else {
      static const std::map<std::string, DirectiveKind> kBare = {
          {"start", DirectiveKind::kStart},     {"check", DirectiveKind::kCheck},
          {"restart", DirectiveKind::kRestart}, {"stop", DirectiveKind::kStop},
          {"kill9", DirectiveKind::kKill9},     {"peek", DirectiveKind::kPeek}};
      auto it = kBare.find(head);
      if (it == kBare.end()) {
        Fail(d.line, "unknown directive '" + d.text +
                         "' (expected statement ok|error, view, view error, start, check, "
                         "restart, stop, kill9, peek, random, runtime error)");
      }
      if (w.size() > 1) Fail(d.line, "`" + head + "` takes nothing after it");
      d.kind = it->second;
      NoSql(d);
      if (d.kind == DirectiveKind::kStart) {
        if (views_.empty()) Fail(d.line, "`start` without a view declared above it");
        if (running_) Fail(d.line, "`start` while walflow runs (use restart)");
        started_ = running_ = true;
      } else if (d.kind == DirectiveKind::kStop) {
        NeedRunning(d);
        running_ = false;
      } else if (d.kind != DirectiveKind::kPeek) {
        NeedRunning(d);
      } else if (!started_) {
        Fail(d.line, "`peek` before `start`");
      }
    }
  }

  std::string ViewName(const Directive& d, const std::string& name, bool declare) {
    if (!IsViewName(name)) {
      Fail(d.line, "'" + name + "' is not a view name (lower-case NAME or SCHEMA.NAME)");
    }
    if (declare && !views_.insert(QualifiedViewName(name)).second) {
      Fail(d.line, "view " + name + " is declared twice");
    }
    return name;
  }

  long Number(const Directive& d, const std::string& word, const std::string& what) const {
    if (word.empty() || !std::all_of(word.begin(), word.end(), ::isdigit) || word.size() > 9) {
      Fail(d.line, what + " must be a non-negative integer, got '" + word + "'");
    }
    return std::stol(word);
  }

  void NeedSql(const Directive& d) const {
    if (d.sql.empty()) Fail(d.line, "`" + d.text + "` needs SQL on the lines after it");
  }
  void NoSql(const Directive& d) const {
    if (!d.sql.empty()) {
      Fail(d.line + 1, "`" + d.text + "` takes no SQL; end the record with a blank line");
    }
  }
  void NeedRunning(const Directive& d) const {
    if (!running_) Fail(d.line, "`" + d.text + "` needs walflow running (after `start`)");
  }

  std::string path_;
  std::set<std::string> views_;  // qualified
  bool started_ = false;
  bool running_ = false;
};

CorpusFile ParseCorpusFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CorpusError(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return CorpusParser(path).Parse(text.str());
}

// --- PostgreSQL's node trees (pg_rewrite.ev_action), for the key of a view ---

// One node of nodeToString()'s text, "{NAME :field value ...}": the fields PostgreSQL 15
// writes for a view's query.
class NodeText {
 public:
  explicit NodeText(std::string_view text) : text_(text) {}

  // The raw value of `name` at this node's level: a token, "<>" (NULL), or a "(...)" list
  // or "{...}" node. nullopt if the node has no such field.
  std::optional<std::string_view> Field(std::string_view name) const {
    for (size_t i = 1; i < text_.size();) {
      char c = text_[i];
      if (c == '(' || c == '{') {
        i = GroupEnd(text_, i);
      } else if (c == '\\') {
        i += 2;
      } else if (c == ':' && text_[i - 1] == ' ' && text_.substr(i + 1, name.size()) == name &&
                 i + 1 + name.size() < text_.size() && text_[i + 1 + name.size()] == ' ') {
        size_t start = i + 1 + name.size();
        while (start < text_.size() && text_[start] == ' ') ++start;
        size_t end = start;
        if (text_[start] == '(' || text_[start] == '{') {
          end = GroupEnd(text_, start);
        } else {
          while (end < text_.size() && text_[end] != ' ' && text_[end] != '}') ++end;
        }
        return text_.substr(start, end - start);
      } else {
        ++i;
      }
    }
    return std::nullopt;
  }

  // A list-valued field as a view into this node's text ("<>" when absent), so the
  // nodes Nodes() makes of it stay valid as long as the text does.
  std::string_view List(std::string_view name) const { return Field(name).value_or("<>"); }

  std::string FieldOr(std::string_view name, std::string fallback = "") const {
    auto f = Field(name);
    return f ? std::string(*f) : fallback;
  }

  // The nodes of a list value "({A ...} {B ...})"; none for "<>".
  static std::vector<NodeText> Nodes(std::string_view list) {
    std::vector<NodeText> nodes;
    for (size_t i = 1; i + 1 < list.size();) {
      if (list[i] == '{') {
        size_t end = GroupEnd(list, i);
        nodes.emplace_back(list.substr(i, end - i));
        i = end;
      } else {
        ++i;
      }
    }
    return nodes;
  }

 private:
  // The position after the group opened at `open`; strings and backslash escapes skipped.
  static size_t GroupEnd(std::string_view s, size_t open) {
    int depth = 0;
    for (size_t i = open; i < s.size(); ++i) {
      char c = s[i];
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        for (++i; i < s.size() && s[i] != '"'; ++i) {
          if (s[i] == '\\') ++i;
        }
      } else if (c == '(' || c == '{') {
        ++depth;
      } else if ((c == ')' || c == '}') && --depth == 0) {
        return i + 1;
      }
    }
    return s.size();
  }

  std::string_view text_;
};

// The key a consumer replays a view by: its GROUP BY columns; none for an aggregate
// without GROUP BY (one row); for a view without aggregates, the declared key= or the key
// of its input (a table's primary key, a view's key) through the columns that carry it.
// nullopt, with the reason in *why, replays by whole rows (DISTINCT, or a key not in the
// SELECT list). `keys` holds the keys found so far, by relation OID.
std::optional<std::vector<std::string>> ViewKey(
    PgConnection& pg, const std::string& relation, const std::vector<std::string>& declared,
    const std::map<std::string, std::optional<std::vector<std::string>>>& keys, std::string* why) {
  const std::string action =
      pg.Scalar("SELECT ev_action FROM pg_rewrite WHERE ev_class = '" + relation + "'::regclass");
  std::vector<NodeText> queries = NodeText::Nodes(action);
  if (queries.size() != 1)
    throw std::runtime_error("unexpected rule of " + relation + ": " + action);
  const NodeText& query = queries[0];
  struct Target {
    std::string name, group_ref, table, column;
    bool junk;
  };
  std::vector<Target> targets;
  for (const NodeText& t : NodeText::Nodes(query.List("targetList"))) {
    targets.push_back({t.FieldOr("resname"), t.FieldOr("ressortgroupref"), t.FieldOr("resorigtbl"),
                       t.FieldOr("resorigcol"), t.FieldOr("resjunk") == "true"});
  }
  std::vector<NodeText> groups = NodeText::Nodes(query.List("groupClause"));
  if (!groups.empty()) {
    std::vector<std::string> key;
    for (const NodeText& g : groups) {
      const std::string ref = g.FieldOr("tleSortGroupRef");
      auto t = std::find_if(targets.begin(), targets.end(),
                            [&](const Target& t) { return t.group_ref == ref; });
      if (t == targets.end() || t->junk) {
        *why = "a GROUP BY expression is not in the SELECT list";
        return std::nullopt;
      }
      key.push_back(t->name);
    }
    return key;
  }
  if (query.FieldOr("hasAggs") == "true") return std::vector<std::string>{};
  if (!NodeText::Nodes(query.List("distinctClause")).empty()) {
    *why = "SELECT DISTINCT: its rows are distinct";
    return std::nullopt;
  }
  if (!declared.empty()) return declared;
  std::string input;
  for (const NodeText& rte : NodeText::Nodes(query.List("rtable"))) {
    if (rte.FieldOr("inFromCl") == "true") input = rte.FieldOr("relid");
  }
  std::vector<std::string> attnums;
  auto known = keys.find(input);
  if (known != keys.end()) {
    if (!known->second) {
      *why = "its input view is replayed by whole rows";
      return std::nullopt;
    }
    for (const std::string& column : *known->second) {
      attnums.push_back(pg.Scalar("SELECT attnum FROM pg_attribute WHERE attrelid = " + input +
                                  " AND attname = '" + column + "'"));
    }
  } else {
    for (const auto& r : pg.Query("SELECT unnest(indkey) FROM pg_index WHERE indisprimary AND "
                                  "indrelid = " +
                                  input)) {
      attnums.push_back(*r[0]);
    }
    if (attnums.empty()) {
      *why = "its input has no primary key and no key= is declared";
      return std::nullopt;
    }
  }
  std::vector<std::string> key;
  for (const std::string& attnum : attnums) {
    auto t = std::find_if(targets.begin(), targets.end(), [&](const Target& t) {
      return t.table == input && t.column == attnum && !t.junk;
    });
    if (t == targets.end()) {
      *why = "a key column of its input is not in the SELECT list";
      return std::nullopt;
    }
    key.push_back(t->name);
  }
  return key;
}

// --- Running a file ---

// "views"."by_country" for by_country.
std::string ViewRelation(const std::string& name) {
  const std::string q = QualifiedViewName(name);
  const size_t dot = q.find('.');
  std::string out = "\"";
  out.append(q, 0, dot).append("\".\"").append(q, dot + 1).append("\"");
  return out;
}

std::string WithoutTrailingSemicolon(std::string sql) {
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';')) {
    sql.pop_back();
  }
  return sql;
}

std::string Indented(const std::string& text, const std::string& indent = "    ") {
  std::string out = indent;
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

// Whether `text` has a line that is a caret under the SQL (spaces, then '^').
bool HasCaretLine(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t at = line.find_first_not_of(" \t");
    if (at != std::string::npos && line[at] == '^' && line.find_last_not_of(" \t\r") == at) {
      return true;
    }
  }
  return false;
}

constexpr char kMarkerTable[] = "public.sql_corpus_marker";
constexpr size_t kRowsShown = 10;

// One run of a corpus file against a fresh database. Each directive either succeeds or
// fails the test at its line, which ends the run.
class CorpusRun {
 public:
  CorpusRun(PgServer& pg, CorpusFile file) : pg_(pg), file_(std::move(file)) {}

  void Run() {
    std::string name = std::filesystem::path(file_.path).stem().string();
    db_ = pg_.CreateDatabase("sql_" + name);
    // source.postgres.tables lists only this table: the views' tables must be captured
    // because views read them.
    pg_.Exec(std::string("CREATE TABLE ") + kMarkerTable + " (id int PRIMARY KEY)", db_);
    statements_ = std::make_unique<PgConnection>(pg_.Dsn(db_));
    oracle_ = std::make_unique<PgConnection>(pg_.Dsn(db_));
    const std::string session =
        "SET TimeZone = 'UTC'; SET DateStyle = ISO; SET IntervalStyle = postgres; "
        "SET extra_float_digits = 3";
    statements_->Exec(session);
    oracle_->Exec(session);
    for (const Directive& d : file_.directives) {
      ::testing::AssertionResult result = ::testing::AssertionSuccess();
      try {
        result = Execute(d);
      } catch (const std::exception& e) {
        result = ::testing::AssertionFailure() << e.what();
      }
      if (!result) {
        ADD_FAILURE_AT(file_.path.c_str(), d.line) << Where(d) << ": " << d.text << "\n"
                                                   << result.message() << WalflowLog();
        return;
      }
    }
    if (pipeline_ && pipeline_->Running()) {
      std::optional<int> code = pipeline_->Stop();
      if (code != 0) {
        ADD_FAILURE_AT(file_.path.c_str(), file_.directives.back().line)
            << Where(file_.directives.back()) << ": at the end walflow did not stop cleanly (exit "
            << (code ? std::to_string(*code) : "none") << ")" << WalflowLog();
      }
    }
  }

 private:
  std::string Where(const Directive& d) const {
    return "tests/sql/" + std::filesystem::path(file_.path).filename().string() + ":" +
           std::to_string(d.line);
  }

  std::string WalflowLog() const {
    if (!pipeline_) return "";
    return "\n---- walflow stderr (tail) ----\n" + Tail(pipeline_->Stderr(), 3000);
  }

  ::testing::AssertionResult Execute(const Directive& d) {
    switch (d.kind) {
      case DirectiveKind::kStatementOk: return StatementOk(d);
      case DirectiveKind::kStatementError: return StatementError(d);
      case DirectiveKind::kView:
        views_.push_back(ViewSpec{d.view, d.sql, d.key, "", ""});
        return ::testing::AssertionSuccess();
      case DirectiveKind::kViewError: return ViewError(d);
      case DirectiveKind::kStart: return Start();
      case DirectiveKind::kCheck: return Check();
      case DirectiveKind::kRestart: {
        std::optional<int> code = pipeline_->Stop();
        if (code != 0) {
          return ::testing::AssertionFailure()
                 << "walflow did not stop cleanly on SIGINT (exit "
                 << (code ? std::to_string(*code) : "none: killed after 30 s") << ")";
        }
        return pipeline_->StartAndWaitStreaming(seconds(60));
      }
      case DirectiveKind::kStop: {
        std::optional<int> code = pipeline_->Stop();
        if (code == 0) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "walflow did not stop cleanly on SIGINT (exit "
                                             << (code ? std::to_string(*code) : "none") << ")";
      }
      case DirectiveKind::kKill9:
        pipeline_->Kill9();
        return pipeline_->StartAndWaitStreaming(seconds(60));
      case DirectiveKind::kPeek: return Peek();
      case DirectiveKind::kRandom: return Random(d);
      case DirectiveKind::kRuntimeError: return RuntimeError(d);
    }
    return ::testing::AssertionFailure() << "unknown directive";
  }

  ::testing::AssertionResult StatementOk(const Directive& d) {
    try {
      statements_->Exec(d.sql);
      return ::testing::AssertionSuccess();
    } catch (const PgError& e) {
      statements_->Exec("ROLLBACK");  // in case the SQL opened a transaction
      return ::testing::AssertionFailure() << "PostgreSQL failed: " << e.what();
    }
  }

  ::testing::AssertionResult StatementError(const Directive& d) {
    try {
      statements_->Exec(d.sql);
    } catch (const PgError& e) {
      statements_->Exec("ROLLBACK");
      if (Contains(e.what(), d.message)) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure()
             << "PostgreSQL failed without '" << d.message << "': " << e.what();
    }
    return ::testing::AssertionFailure() << "PostgreSQL ran it; expected an error:\n"
                                         << Indented(d.sql);
  }

  PipelineSpec Spec(std::vector<ViewSpec> views) const {
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {kMarkerTable};
    spec.snapshot = "initial";
    for (const ViewSpec& v : views) spec.from.push_back(QualifiedViewName(v.name));
    spec.from.push_back(kMarkerTable);
    spec.views = std::move(views);
    return spec;
  }

  ::testing::AssertionResult Start() {
    if (pipeline_) return pipeline_->StartAndWaitStreaming(seconds(60));
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, Spec(views_));
    ProcessResult check = pipeline_->RunCommand("check");
    if (check.exit_code != 0) {
      return ::testing::AssertionFailure()
             << "`walflow check` refuses the views (exit " << check.exit_code << "):\n"
             << Indented(Tail(check.out + check.err, 3000)) << "\nconfig:\n"
             << Indented(ReadWholeFile(pipeline_->config_path()));
    }
    return pipeline_->StartAndWaitStreaming(seconds(60));
  }

  // `walflow check` and `walflow run` with the view alone must both fail, naming the view,
  // with the message and (check) a caret under the SQL.
  ::testing::AssertionResult ViewError(const Directive& d) {
    WalflowPipeline alone(pg_, Spec({ViewSpec{d.view, d.sql, {}, "", ""}}));
    const std::string name = QualifiedViewName(d.view);
    ProcessResult check = alone.RunCommand("check");
    const std::string out = check.out + check.err;
    if (check.exit_code == 0 || !Contains(out, d.message) || !Contains(out, name) ||
        !HasCaretLine(out)) {
      return ::testing::AssertionFailure()
             << "`walflow check` must fail (exit " << check.exit_code << ") naming " << name
             << ", with '" << d.message << "' and a caret under the SQL; it wrote:\n"
             << Indented(Tail(out, 3000)) << "\nSQL:\n"
             << Indented(d.sql);
    }
    alone.Start();
    std::optional<int> code = alone.WaitExit(seconds(30));
    if (!code) alone.Kill9();
    const std::string err = alone.Stderr();
    if (!code || *code == 0 || !Contains(err, d.message) || !Contains(err, name)) {
      return ::testing::AssertionFailure()
             << "`walflow run` must fail naming " << name << " with '" << d.message << "'; "
             << (code ? "it exited with " + std::to_string(*code) : std::string("it ran for 30 s"))
             << ":\n"
             << Indented(Tail(err, 3000));
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Random(const Directive& d) {
    try {
      TableWorkload workload(pg_.Dsn(db_), d.table, d.seed);
      workload.Run(d.statements);
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << e.what();
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult RuntimeError(const Directive& d) {
    std::optional<int> code = pipeline_->WaitExit(seconds(60));
    const std::string err = pipeline_->LastStderr();
    const std::string name = QualifiedViewName(d.view);
    if (!code) {
      return ::testing::AssertionFailure() << "walflow still runs after 60 s; expected it to stop "
                                           << "with '" << d.message << "' naming " << name;
    }
    if (*code == 0 || !Contains(err, d.message) || !Contains(err, name)) {
      return ::testing::AssertionFailure()
             << "walflow exited with " << *code << "; expected a non-zero exit with '" << d.message
             << "' naming " << name;
    }
    return ::testing::AssertionSuccess();
  }

  // Replays every view's events and compares each with PostgreSQL.
  ::testing::AssertionResult Check() {
    if (!pipeline_->Running()) {
      return ::testing::AssertionFailure()
             << "walflow is not running (exit "
             << (pipeline_->process()->exit_code()
                     ? std::to_string(*pipeline_->process()->exit_code())
                     : "?")
             << ")";
    }
    // A barrier: catch-up alone does not wait for snapshot rows (the slot is confirmed up
    // to its consistent point from the start), but it cannot pass this row before the sink
    // holds its event and so everything before it.
    const int marker = ++markers_;
    statements_->Exec(std::string("INSERT INTO ") + kMarkerTable + " VALUES (" +
                      std::to_string(marker) + ")");
    ::testing::AssertionResult caught_up = pipeline_->WaitForCatchUp(seconds(180));
    if (!caught_up) return caught_up;
    std::vector<Json> events = pipeline_->Events();
    std::map<std::string, std::vector<Json>> by_view;
    bool marker_seen = false;
    for (const Json& e : events) {
      const Json& v = e.contains("payload") ? e.at("payload") : e;
      const Json& source = v.at("source");
      const std::string relation =
          source.at("schema").get<std::string>() + "." + source.at("table").get<std::string>();
      if (relation == kMarkerTable) {
        const Json after = v.value("after", Json());
        marker_seen = marker_seen || (after.is_object() && after.value("id", -1) == marker);
      } else {
        by_view[relation].push_back(e);
      }
    }
    if (!marker_seen) {
      return ::testing::AssertionFailure()
             << "the slot is confirmed past the insert of row " << marker << " into "
             << kMarkerTable << ", but the sink has no event for it: walflow confirmed a "
             << "position before its sink held the changes up to it";
    }
    return CompareAll([&](const ViewSpec& view, const std::optional<std::vector<std::string>>& key,
                          std::string* source, std::vector<std::string>* problems) {
      ViewReplay replay(key);
      for (const Json& e : by_view[QualifiedViewName(view.name)]) replay.Apply(e);
      *source = "the events (" + std::to_string(replay.applied()) + ", replayed by " +
                (key ? (key->empty() ? std::string("no key: one row at most")
                                     : "key (" + Join(*key) + ")")
                     : std::string("whole rows")) +
                ")";
      problems->insert(problems->end(), replay.anomalies().begin(), replay.anomalies().end());
      return replay.rows();
    });
  }

  // `walflow peek CONFIG VIEW --json` for every view, compared with PostgreSQL.
  ::testing::AssertionResult Peek() {
    return CompareAll([&](const ViewSpec& view, const std::optional<std::vector<std::string>>&,
                          std::string* source, std::vector<std::string>* problems) {
      std::vector<Json> rows;
      ProcessResult r = pipeline_->RunCommand("peek", {view.name, "--json"});
      *source = "`walflow peek " + view.name + " --json`";
      if (r.exit_code != 0) {
        problems->push_back("it exited with " + std::to_string(r.exit_code) + ": " +
                            Tail(r.err, 1000));
        return rows;
      }
      std::istringstream in(r.out);
      for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        try {
          rows.push_back(Json::parse(line));
        } catch (const Json::parse_error&) {
          problems->push_back("not a JSON line: " + line.substr(0, 200));
        }
      }
      return rows;
    });
  }

  static std::string Join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  using RowSource = std::function<std::vector<Json>(
      const ViewSpec&, const std::optional<std::vector<std::string>>& key, std::string* source,
      std::vector<std::string>* problems)>;

  // Creates the views in PostgreSQL inside a transaction that is rolled back (walflow never
  // sees them) and compares each with the rows `walflow_rows` gives for it.
  ::testing::AssertionResult CompareAll(const RowSource& walflow_rows) {
    struct Rollback {
      PgConnection& pg;
      ~Rollback() {
        try {
          pg.Exec("ROLLBACK");
        } catch (const PgError&) {
        }
      }
    };
    oracle_->Exec("BEGIN");
    Rollback rollback{*oracle_};
    std::set<std::string> schemas = {"views"};
    std::string path = "views";
    for (const ViewSpec& v : views_) {
      std::string schema = QualifiedViewName(v.name).substr(0, QualifiedViewName(v.name).find('.'));
      if (schemas.insert(schema).second) path += ", \"" + schema + "\"";
    }
    for (const std::string& s : schemas) oracle_->Exec("CREATE SCHEMA IF NOT EXISTS \"" + s + "\"");
    // walflow resolves a bare FROM name to a view of that name before a table.
    oracle_->Exec("SET LOCAL search_path = " + path + ", public");
    std::map<std::string, std::optional<std::vector<std::string>>> keys;  // by OID
    std::string failures;
    for (const ViewSpec& v : views_) {
      const std::string relation = ViewRelation(v.name);
      try {
        oracle_->Exec("CREATE VIEW " + relation + " AS " + WithoutTrailingSemicolon(v.sql));
      } catch (const PgError& e) {
        return ::testing::AssertionFailure()
               << "PostgreSQL refuses view " << v.name << " (fix the case): " << e.what();
      }
      std::string why;
      std::optional<std::vector<std::string>> key = ViewKey(*oracle_, relation, v.key, keys, &why);
      keys[oracle_->Scalar("SELECT '" + relation + "'::regclass::oid")] = key;
      failures += CompareView(v, relation, key, walflow_rows);
    }
    if (failures.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << failures;
  }

  // "" when the view matches, else what differs.
  std::string CompareView(const ViewSpec& v, const std::string& relation,
                          const std::optional<std::vector<std::string>>& key,
                          const RowSource& walflow_rows) {
    std::vector<PgColumn> columns = RelationColumns(*oracle_, relation);
    std::string select, header;
    for (const PgColumn& c : columns) {
      select += (select.empty() ? "" : ", ") + ("\"" + c.name + "\"::text");
      header += (header.empty() ? "" : " | ") + c.name;
    }
    PgRows expected = oracle_->Query("SELECT " + select + " FROM " + relation);
    std::string source;
    std::vector<std::string> problems;
    std::vector<Json> rows = walflow_rows(v, key, &source, &problems);
    std::vector<TextRow> actual = DebeziumRowsAsText(*oracle_, columns, rows, &problems);
    RowsDiff diff = DiffRows(expected, actual);
    if (diff.empty() && problems.empty()) return "";
    std::ostringstream out;
    out << "view " << QualifiedViewName(v.name) << " differs from PostgreSQL\n"
        << "  SQL:\n"
        << Indented(v.sql) << "\n"
        << "  walflow: " << actual.size() << " rows from " << source
        << "; PostgreSQL: " << expected.size() << " rows\n";
    if (!problems.empty()) {
      out << "  problems (" << problems.size() << (problems.size() >= 20 ? "+" : "") << "):\n";
      for (size_t i = 0; i < problems.size() && i < kRowsShown; ++i) {
        out << "    " << problems[i] << "\n";
      }
    }
    auto show = [&](const char* title, const std::vector<std::pair<TextRow, size_t>>& side) {
      if (side.empty()) return;
      size_t total = 0;
      for (const auto& [row, n] : side) total += n;
      out << "  " << title << " (" << total << " rows"
          << (side.size() > kRowsShown ? ", first shown" : "") << "): " << header << "\n";
      for (size_t i = 0; i < side.size() && i < kRowsShown; ++i) {
        out << "    " << FormatTextRow(side[i].first)
            << (side[i].second > 1 ? "   (x" + std::to_string(side[i].second) + ")" : "") << "\n";
      }
    };
    show("only in walflow", diff.only_actual);
    show("only in PostgreSQL", diff.only_expected);
    return out.str();
  }

  PgServer& pg_;
  CorpusFile file_;
  std::string db_;
  std::unique_ptr<PgConnection> statements_;
  std::unique_ptr<PgConnection> oracle_;  // TimeZone UTC, like walflow's sessions
  std::vector<ViewSpec> views_;
  std::unique_ptr<WalflowPipeline> pipeline_;
  int markers_ = 0;  // rows inserted into kMarkerTable
};

// --- The tests ---

std::vector<std::string> CorpusFileNames() {
  std::vector<std::string> names;
  std::istringstream in(WALFLOW_SQL_CORPUS_FILES);
  for (std::string name; std::getline(in, name, ',');) {
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

std::string CorpusPath(const std::string& name) {
  return std::string(WALFLOW_SQL_CORPUS_DIR) + "/" + name;
}

class SqlCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(SqlCorpus, File) {
  CorpusFile file;
  try {
    file = ParseCorpusFile(CorpusPath(GetParam()));
  } catch (const CorpusError& e) {
    FAIL() << e.what();
  }
  CorpusRun(PgServer::Shared(), std::move(file)).Run();
}

INSTANTIATE_TEST_SUITE_P(sql, SqlCorpus, ::testing::ValuesIn(CorpusFileNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// The harness itself, without walflow.

TEST(SqlCorpusFormat, EveryFileParsesAndIsListed) {
  std::set<std::string> listed;
  for (const std::string& name : CorpusFileNames()) {
    listed.insert(name);
    EXPECT_NO_THROW({
      try {
        ParseCorpusFile(CorpusPath(name));
      } catch (const CorpusError& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (const auto& entry : std::filesystem::directory_iterator(WALFLOW_SQL_CORPUS_DIR)) {
    if (entry.path().extension() == ".test") {
      EXPECT_TRUE(listed.count(entry.path().filename().string()))
          << entry.path() << " is not in the build's list: re-run cmake";
    }
  }
  EXPECT_GE(listed.size(), 20u);
}

std::string ParseError(const std::string& text) {
  try {
    CorpusParser("x.test").Parse(text);
  } catch (const CorpusError& e) {
    return e.what();
  }
  return "";
}

TEST(SqlCorpusFormat, ReadsRecords) {
  CorpusFile f = CorpusParser("x.test").Parse(
      "# a comment\n"
      "statement ok\nCREATE TABLE t (id int PRIMARY KEY, g int);\nINSERT INTO t VALUES (1, 2)\n"
      "\n"
      "view by_g key=g\nSELECT g, count(*) AS n\nFROM t GROUP BY g\n\n"
      "view error bad unsupported: JOIN\nSELECT * FROM t JOIN t u USING (id)\n\n"
      "start\n\nrandom 7 t 100\n\ncheck\n\nruntime error by_g division by zero\n\n"
      "statement error duplicate key\nINSERT INTO t VALUES (1, 2)\n");
  ASSERT_EQ(f.directives.size(), 8u);
  EXPECT_EQ(f.directives[0].line, 2);
  EXPECT_EQ(f.directives[0].sql,
            "CREATE TABLE t (id int PRIMARY KEY, g int);\nINSERT INTO t VALUES (1, 2)");
  EXPECT_EQ(f.directives[1].view, "by_g");
  EXPECT_EQ(f.directives[1].key, std::vector<std::string>{"g"});
  EXPECT_EQ(f.directives[1].sql, "SELECT g, count(*) AS n\nFROM t GROUP BY g");
  EXPECT_EQ(f.directives[2].kind, DirectiveKind::kViewError);
  EXPECT_EQ(f.directives[2].message, "unsupported: JOIN");
  EXPECT_EQ(f.directives[4].seed, 7u);
  EXPECT_EQ(f.directives[4].table, "t");
  EXPECT_EQ(f.directives[4].statements, 100);
  EXPECT_EQ(f.directives[6].view, "by_g");
  EXPECT_EQ(f.directives[6].message, "division by zero");
  EXPECT_EQ(f.directives[7].message, "duplicate key");
}

TEST(SqlCorpusFormat, ErrorsNameFileAndLine) {
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\n\nchek\n"),
            "x.test:6: unknown directive 'chek' (expected statement ok|error, view, view error, "
            "start, check, restart, stop, kill9, peek, random, runtime error)");
  EXPECT_EQ(ParseError("\nview a\n\n"), "x.test:2: `view a` needs SQL on the lines after it");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\ncheck\n"),
            "x.test:5: `start` takes no SQL; end the record with a blank line");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\n\nview b\nSELECT 1 FROM t\n"),
            "x.test:6: views are declared before the first `start`");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nview a\nSELECT 2 FROM t\n"),
            "x.test:4: view a is declared twice");
  EXPECT_EQ(ParseError("check\n"), "x.test:1: `check` needs walflow running (after `start`)");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\n\nrandom x t 5\n"),
            "x.test:6: SEED must be a non-negative integer, got 'x'");
  EXPECT_EQ(ParseError("view A\nSELECT 1 FROM t\n"),
            "x.test:1: 'A' is not a view name (lower-case NAME or SCHEMA.NAME)");
  EXPECT_EQ(ParseError("view a key\nSELECT 1 FROM t\n"),
            "x.test:1: unknown view option 'key' (expected key=COLUMN,...)");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\n\nruntime error b boom\n"),
            "x.test:6: `runtime error` names view b, which is not declared");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\n\nstop\n\ncheck\n"),
            "x.test:8: `check` needs walflow running (after `start`)");
  EXPECT_EQ(ParseError("view a\nSELECT 1 FROM t\n\nstart\n\nstart\n"),
            "x.test:6: `start` while walflow runs (use restart)");
}

Json Event(const std::string& op, const Json& before, const Json& after) {
  return Json{{"before", before},
              {"after", after},
              {"op", op},
              {"source", {{"schema", "views"}, {"table", "v"}}}};
}

TEST(SqlCorpusHarness, ReplayFlagsDoubleAndLostChanges) {
  ViewReplay replay(std::vector<std::string>{"g"});
  replay.Apply(Event("r", nullptr, {{"g", 1}, {"n", 1}}));
  replay.Apply(Event("c", nullptr, {{"g", 2}, {"n", 1}}));
  replay.Apply(Event("u", {{"g", 1}, {"n", 1}}, {{"g", 1}, {"n", 2}}));
  replay.Apply(Event("d", {{"g", 2}, {"n", 1}}, nullptr));
  EXPECT_TRUE(replay.anomalies().empty()) << replay.anomalies()[0];
  ASSERT_EQ(replay.rows().size(), 1u);
  EXPECT_EQ(replay.rows()[0], Json({{"g", 1}, {"n", 2}}));

  replay.Apply(Event("c", nullptr, {{"g", 1}, {"n", 5}}));               // key held
  replay.Apply(Event("d", {{"g", 9}, {"n", 1}}, nullptr));               // key not held
  replay.Apply(Event("u", {{"g", 1}, {"n", 4}}, {{"g", 1}, {"n", 6}}));  // before is not held
  ASSERT_EQ(replay.anomalies().size(), 3u);
  EXPECT_TRUE(Contains(replay.anomalies()[0], "event 5 (op \"c\"): insert of key [1] already held"))
      << replay.anomalies()[0];
  EXPECT_TRUE(Contains(replay.anomalies()[1], "removal of key [9] not held"))
      << replay.anomalies()[1];
  EXPECT_TRUE(Contains(replay.anomalies()[2], "before differs from the row held for key [1]"))
      << replay.anomalies()[2];
  replay.Apply(Event("t", nullptr, nullptr));
  EXPECT_TRUE(replay.rows().empty());

  ViewReplay whole(std::nullopt);
  whole.Apply(Event("c", nullptr, {{"g", 1}}));
  whole.Apply(Event("c", nullptr, {{"g", 1}}));
  EXPECT_EQ(whole.anomalies().size(), 1u);
}

TEST(SqlCorpusHarness, DiffIsAMultisetDifference) {
  RowsDiff d =
      DiffRows({{"a", "1"}, {"a", "1"}, {"b", std::nullopt}}, {{"a", "1"}, {"b", "2"}, {"b", "2"}});
  ASSERT_EQ(d.only_expected.size(), 2u);
  EXPECT_EQ(d.only_expected[0], std::make_pair(TextRow{"a", "1"}, size_t{1}));
  EXPECT_EQ(FormatTextRow(d.only_expected[1].first), "b | NULL");
  ASSERT_EQ(d.only_actual.size(), 1u);
  EXPECT_EQ(d.only_actual[0], std::make_pair(TextRow{"b", "2"}, size_t{2}));
  EXPECT_TRUE(DiffRows({{"x"}, {"y"}}, {{"y"}, {"x"}}).empty());
}

// The examples of docs/events.md read back as PostgreSQL's text of the same values.
TEST(SqlCorpusHarness, DebeziumValuesReadBackAsPostgresText) {
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("corpus_values");
  pg.Exec(
      "CREATE TABLE t (b bool, i2 int2, i4 int4, i8 int8, n numeric(12,2), nu numeric, f8 float8, "
      "tx text, d date, ts timestamp, ts3 timestamp(3), tz timestamptz, c char(3), j jsonb)",
      db);
  PgConnection conn(pg.Dsn(db));
  conn.Exec("SET TimeZone = 'UTC'");
  std::vector<PgColumn> columns = RelationColumns(conn, "public.t");
  ASSERT_EQ(columns.size(), 14u);
  EXPECT_EQ(columns[4].base_type, "numeric");
  EXPECT_EQ(columns[4].type, "numeric(12,2)");
  Json row = {{"b", true},
              {"i2", 1},
              {"i4", -2},
              {"i8", 3},
              {"n", "2500.00"},
              {"nu", "12345.6789"},
              {"f8", 2.25},
              {"tx", "it's"},
              {"d", 19737},
              {"ts", 1705326330123456LL},
              {"ts3", 1705326330123LL},
              {"tz", "2024-01-15T11:45:30.12Z"},
              {"c", "ab "},
              {"j", "{\"b\": [1, 2]}"}};
  Json nulls = Json::object();
  for (const PgColumn& c : columns) nulls[c.name] = nullptr;
  Json before_epoch = row;
  before_epoch["d"] = -1;
  before_epoch["ts"] = -1;
  before_epoch["f8"] = "-Infinity";
  before_epoch["n"] = "-0.50";
  Json far = row;  // beyond a double's exact integers in microseconds
  far["ts"] = 253402300799999999LL;
  far["d"] = 2932896;
  std::vector<std::string> problems;
  std::vector<TextRow> text =
      DebeziumRowsAsText(conn, columns, {row, nulls, before_epoch, far}, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0];
  ASSERT_EQ(text.size(), 4u);
  EXPECT_EQ(
      FormatTextRow(text[0]),
      "true | 1 | -2 | 3 | 2500.00 | 12345.6789 | 2.25 | it's | 2024-01-15 | "
      "2024-01-15 13:45:30.123456 | 2024-01-15 13:45:30.123 | 2024-01-15 11:45:30.12+00 | ab | "
      "{\"b\": [1, 2]}");
  EXPECT_EQ(text[1], TextRow(columns.size()));
  EXPECT_EQ(*text[2][8], "1969-12-31");
  EXPECT_EQ(*text[2][9], "1969-12-31 23:59:59.999999");
  EXPECT_EQ(*text[2][6], "-Infinity");
  EXPECT_EQ(*text[2][4], "-0.50");
  EXPECT_EQ(*text[3][8], "9999-12-31");
  EXPECT_EQ(*text[3][9], "9999-12-31 23:59:59.999999");

  Json wrong = row;
  wrong["d"] = "2024-01-15";
  wrong["n"] = 2500;
  wrong["extra"] = 1;
  wrong.erase("b");
  problems.clear();
  text = DebeziumRowsAsText(conn, columns, {wrong}, &problems);
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_TRUE(Contains(problems[0], "no column b")) << problems[0];
  EXPECT_TRUE(Contains(problems[1], "column n (numeric(12,2)): 2500 is not numeric text"))
      << problems[1];
  EXPECT_TRUE(Contains(problems[2], "column d (date): \"2024-01-15\" is not a JSON integer"))
      << problems[2];
  EXPECT_TRUE(Contains(problems[3], "column extra is not a column of the view")) << problems[3];
  EXPECT_TRUE(Contains(*text[0][8], "<invalid")) << *text[0][8];
}

TEST(SqlCorpusHarness, ViewKeysFromPostgres) {
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("corpus_keys");
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY, g text, v int); CREATE TABLE nokey (a int, b int)",
          db);
  PgConnection conn(pg.Dsn(db));
  conn.Exec("BEGIN; CREATE SCHEMA views");
  std::map<std::string, std::optional<std::vector<std::string>>> keys;
  auto join = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (const auto& s : v) out += (out.size() > 1 ? "," : "") + s;
    return out + "]";
  };
  auto key_of = [&](const std::string& name, const std::string& sql,
                    std::vector<std::string> declared = {}) {
    conn.Exec("CREATE VIEW views." + name + " AS " + sql);
    std::string why;
    auto key = ViewKey(conn, "views." + name, declared, keys, &why);
    keys[conn.Scalar("SELECT 'views." + name + "'::regclass::oid")] = key;
    return key ? join(*key) : "whole rows: " + why;
  };
  EXPECT_EQ(key_of("g1", "SELECT g AS grp, count(*) AS n, sum(v) FROM t WHERE v > 0 GROUP BY g"),
            "[grp]");
  EXPECT_EQ(key_of("g2", "SELECT count(*) AS n, upper(g) AS u, v FROM t GROUP BY v, upper(g)"),
            "[v,u]");
  EXPECT_EQ(key_of("g3", "SELECT count(*) AS n FROM t GROUP BY g"),
            "whole rows: a GROUP BY expression is not in the SELECT list");
  EXPECT_EQ(key_of("one", "SELECT count(*) AS n, max(v) AS m FROM t"), "[]");
  EXPECT_EQ(key_of("d", "SELECT DISTINCT g FROM t"),
            "whole rows: SELECT DISTINCT: its rows are distinct");
  EXPECT_EQ(key_of("p", "SELECT upper(g) AS u, id AS k FROM t WHERE v > 1"), "[k]");
  EXPECT_EQ(key_of("pp", "SELECT u, k AS kk FROM views.p"), "[kk]");
  EXPECT_EQ(key_of("gg", "SELECT n, count(*) AS groups FROM views.g1 GROUP BY n"), "[n]");
  EXPECT_EQ(key_of("over_group", "SELECT grp, n FROM views.g1"), "[grp]");
  EXPECT_EQ(key_of("nk", "SELECT a, b FROM nokey"),
            "whole rows: its input has no primary key and no key= is declared");
  EXPECT_EQ(key_of("nk2", "SELECT a, b FROM nokey", {"a"}), "[a]");
  EXPECT_EQ(key_of("hidden", "SELECT g FROM t"),
            "whole rows: a key column of its input is not in the SELECT list");
  conn.Exec("ROLLBACK");
}

}  // namespace
}  // namespace walflow::test
