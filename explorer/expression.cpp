#include "explorer/expression.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::explorer {

struct Expression::Node {
  enum class Kind { kNumber, kName, kUnary, kBinary, kCall } kind = Kind::kNumber;
  double number = 0;
  std::string name;  // kName: the path; kUnary/kBinary: the operator; kCall: the function
  std::vector<std::unique_ptr<Node>> args;
};

namespace {

using Node = Expression::Node;

class Parser {
 public:
  Parser(const std::string& text, std::vector<std::string>& names) : m_text(text), m_names(names) {}

  std::unique_ptr<Node> parse() {
    auto root = logical_or();
    skip_space();
    if (m_pos != m_text.size()) fail("unexpected text");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("{} at character {} of \"{}\"", what, m_pos + 1, m_text));
  }
  void skip_space() {
    while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos])))
      ++m_pos;
  }
  // Consumes `op` if it is next (and is not the start of a longer operator).
  bool take(const std::string& op) {
    skip_space();
    if (m_text.compare(m_pos, op.size(), op) != 0) return false;
    const char after = m_pos + op.size() < m_text.size() ? m_text[m_pos + op.size()] : '\0';
    if ((op == "<" || op == ">" || op == "!") && after == '=') return false;
    m_pos += op.size();
    return true;
  }
  static std::unique_ptr<Node> binary(std::string op, std::unique_ptr<Node> a,
                                      std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::kBinary;
    n->name = std::move(op);
    n->args.push_back(std::move(a));
    n->args.push_back(std::move(b));
    return n;
  }
  // Operands of `next` joined left to right by any of `ops`.
  std::unique_ptr<Node> left_assoc(std::initializer_list<const char*> ops,
                                   std::unique_ptr<Node> (Parser::*next)()) {
    auto left = (this->*next)();
    for (;;) {
      const auto op = std::find_if(ops.begin(), ops.end(), [&](const char* o) { return take(o); });
      if (op == ops.end()) return left;
      left = binary(*op, std::move(left), (this->*next)());
    }
  }
  std::unique_ptr<Node> logical_or() { return left_assoc({"||"}, &Parser::logical_and); }
  std::unique_ptr<Node> logical_and() { return left_assoc({"&&"}, &Parser::comparison); }
  std::unique_ptr<Node> comparison() {
    auto left = sum();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (take(op)) return binary(op, std::move(left), sum());
    }
    return left;
  }
  std::unique_ptr<Node> sum() { return left_assoc({"+", "-"}, &Parser::term); }
  std::unique_ptr<Node> term() { return left_assoc({"*", "/", "%"}, &Parser::unary); }
  std::unique_ptr<Node> unary() {
    for (const char* op : {"-", "!"}) {
      if (take(op)) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kUnary;
        n->name = op;
        n->args.push_back(unary());
        return n;
      }
    }
    return primary();
  }
  std::unique_ptr<Node> primary() {
    skip_space();
    if (m_pos >= m_text.size()) fail("expected a number, a parameter or (");
    auto n = std::make_unique<Node>();
    const char c = m_text[m_pos];
    if (take("(")) {
      n = logical_or();
      if (!take(")")) fail("expected )");
      return n;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      std::size_t used = 0;
      try {
        n->number = std::stod(m_text.substr(m_pos), &used);
      } catch (const std::exception&) {
        fail("bad number");
      }
      m_pos += used;
      return n;
    }
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '_') {
      fail("expected a number, a parameter or (");
    }
    const std::size_t start = m_pos;
    while (m_pos < m_text.size() &&
           (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_' ||
            m_text[m_pos] == '.' || m_text[m_pos] == '[' || m_text[m_pos] == ']')) {
      ++m_pos;
    }
    const std::string word = m_text.substr(start, m_pos - start);
    if (take("(")) {
      static const std::vector<std::pair<std::string, std::size_t>> kFunctions = {
          {"min", 2}, {"max", 2}, {"pow", 2}, {"floor", 1}, {"ceil", 1}, {"log2", 1}};
      std::size_t arity = 0;
      for (const auto& [f, a] : kFunctions) {
        if (f == word) arity = a;
      }
      if (arity == 0) {
        m_pos = start;
        fail(fmt::format("unknown function {} (min, max, pow, floor, ceil, log2)", word));
      }
      n->kind = Node::Kind::kCall;
      n->name = word;
      do {
        n->args.push_back(logical_or());
      } while (take(","));
      if (!take(")")) fail("expected ) or ,");
      if (n->args.size() != arity) {
        m_pos = start;
        fail(fmt::format("{} takes {} argument{}", word, arity, arity == 1 ? "" : "s"));
      }
      return n;
    }
    n->kind = Node::Kind::kName;
    n->name = word;
    bool known = false;
    for (const auto& name : m_names) known = known || name == word;
    if (!known) m_names.push_back(word);
    return n;
  }

  const std::string& m_text;
  std::vector<std::string>& m_names;
  std::size_t m_pos = 0;
};

double eval(const Node& n, const std::function<double(const std::string&)>& value,
            const std::string& text) {
  switch (n.kind) {
    case Node::Kind::kNumber:
      return n.number;
    case Node::Kind::kName:
      return value(n.name);
    case Node::Kind::kUnary: {
      const double a = eval(*n.args[0], value, text);
      return n.name == "-" ? -a : (a == 0 ? 1.0 : 0.0);
    }
    case Node::Kind::kCall: {
      const double a = eval(*n.args[0], value, text);
      if (n.name == "floor") return std::floor(a);
      if (n.name == "ceil") return std::ceil(a);
      if (n.name == "log2") return std::log2(a);
      const double b = eval(*n.args[1], value, text);
      if (n.name == "min") return std::min(a, b);
      if (n.name == "max") return std::max(a, b);
      return std::pow(a, b);
    }
    case Node::Kind::kBinary:
      break;
  }
  const double a = eval(*n.args[0], value, text);
  const std::string& op = n.name;
  // Logic short-circuits.
  if (op == "&&") return a != 0 && eval(*n.args[1], value, text) != 0 ? 1.0 : 0.0;
  if (op == "||") return a != 0 || eval(*n.args[1], value, text) != 0 ? 1.0 : 0.0;
  const double b = eval(*n.args[1], value, text);
  if ((op == "/" || op == "%") && b == 0) {
    throw InputError(fmt::format("division by zero in \"{}\"", text));
  }
  if (op == "+") return a + b;
  if (op == "-") return a - b;
  if (op == "*") return a * b;
  if (op == "/") return a / b;
  if (op == "%") return std::fmod(a, b);
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  return a >= b;
}

}  // namespace

Expression::Expression(const std::string& text) : m_text(text) {
  m_root = Parser(m_text, m_names).parse();
}

Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

double Expression::evaluate(const std::function<double(const std::string&)>& value) const {
  return eval(*m_root, value, m_text);
}

}  // namespace tessel::explorer
