#pragma once
// Arithmetic and boolean expressions over sweep parameters, for derived
// parameters ("derive": "arch.array.rows / 2") and validity rules
// ("model.dim % model.heads == 0"). Numbers only; docs/sweep-format.md
// lists the operators and functions.

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tessel::explorer {

class Expression {
 public:
  // Parses `text`. Names are parameter paths (`arch.sram[0].banks`,
  // `model.width_mult`). Throws InputError "<what> at character N of
  // \"<text>\"".
  explicit Expression(const std::string& text);
  ~Expression();
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;

  const std::string& text() const { return m_text; }
  // The parameter paths it reads, in order of first use.
  const std::vector<std::string>& names() const { return m_names; }
  // Its value with `value(name)` for each name; comparisons and logic give
  // 1 or 0. Throws InputError on division by zero.
  double evaluate(const std::function<double(const std::string&)>& value) const;

  struct Node;

 private:
  std::string m_text;
  std::vector<std::string> m_names;
  std::unique_ptr<Node> m_root;
};

}  // namespace tessel::explorer
