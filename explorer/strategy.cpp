#include "explorer/strategy.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::explorer {

namespace {

std::map<std::string, StrategyFactory>& registry() {
  static std::map<std::string, StrategyFactory> r;
  return r;
}

// Every combination, in mixed-radix order (last parameter fastest).
class Grid : public SearchStrategy {
 public:
  explicit Grid(const SweepSpec& spec)
      : m_spec(spec), m_free(free_parameters(spec)), m_choice(m_free.size(), 0) {
    m_total = 1;
    for (auto f : m_free) m_total *= spec.parameters[f].values.size();
  }
  std::vector<Point> ask(std::size_t n) override {
    std::vector<Point> out;
    while (out.size() < n && m_next < m_total) {
      out.push_back(make_point(m_spec, m_free, m_choice));
      ++m_next;
      for (std::size_t d = m_free.size(); d-- > 0;) {
        if (++m_choice[d] < m_spec.parameters[m_free[d]].values.size()) break;
        m_choice[d] = 0;
      }
    }
    return out;
  }
  void tell(const Point&, const std::optional<std::vector<double>>&) override {}
  std::optional<std::size_t> total() const override { return m_total; }

 private:
  const SweepSpec& m_spec;
  std::vector<std::size_t> m_free, m_choice;
  std::size_t m_total = 0, m_next = 0;
};

// `samples` distinct points drawn uniformly (seeded); fewer if the space is smaller.
class RandomSearch : public SearchStrategy {
 public:
  explicit RandomSearch(const SweepSpec& spec)
      : m_spec(spec), m_free(free_parameters(spec)), m_rng(spec.strategy.seed) {
    std::size_t space = 1;
    for (auto f : m_free)
      space = std::min<std::size_t>(space * spec.parameters[f].values.size(), 1u << 30);
    m_total = std::min<std::size_t>(spec.strategy.samples, space);
  }
  std::vector<Point> ask(std::size_t n) override {
    std::vector<Point> out;
    while (out.size() < n && m_emitted < m_total) {
      std::vector<std::size_t> choice;
      for (auto f : m_free) {
        choice.push_back(std::uniform_int_distribution<std::size_t>(
            0, m_spec.parameters[f].values.size() - 1)(m_rng));
      }
      if (!m_seen.insert(choice).second) continue;
      out.push_back(make_point(m_spec, m_free, choice));
      ++m_emitted;
    }
    return out;
  }
  void tell(const Point&, const std::optional<std::vector<double>>&) override {}
  std::optional<std::size_t> total() const override { return m_total; }

 private:
  const SweepSpec& m_spec;
  std::vector<std::size_t> m_free;
  std::mt19937_64 m_rng;
  std::set<std::vector<std::size_t>> m_seen;
  std::size_t m_total = 0, m_emitted = 0;
};

// Latin hypercube over the value lists: each parameter's range is cut into
// `samples` strata and every stratum is used once (seeded permutations).
class LatinHypercube : public PointList {
 public:
  explicit LatinHypercube(const SweepSpec& spec) {
    const auto free = free_parameters(spec);
    const std::size_t n = spec.strategy.samples;
    std::mt19937_64 rng(spec.strategy.seed);
    std::vector<std::vector<std::size_t>> strata(free.size());
    for (auto& s : strata) {
      s.resize(n);
      std::iota(s.begin(), s.end(), 0);
      std::shuffle(s.begin(), s.end(), rng);
    }
    std::set<std::vector<std::size_t>> seen;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<std::size_t> choice;
      for (std::size_t f = 0; f < free.size(); ++f) {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        const std::size_t values = spec.parameters[free[f]].values.size();
        choice.push_back(
            std::min(values - 1, static_cast<std::size_t>((strata[f][i] + u) / n * values)));
      }
      if (seen.insert(choice).second) m_points.push_back(make_point(spec, free, choice));
    }
  }
};

const bool kGrid =
    register_strategy("grid", [](const SweepSpec& s) { return std::make_unique<Grid>(s); });
const bool kRandom = register_strategy(
    "random", [](const SweepSpec& s) { return std::make_unique<RandomSearch>(s); });
const bool kLhs = register_strategy(
    "lhs", [](const SweepSpec& s) { return std::make_unique<LatinHypercube>(s); });

}  // namespace

// Indices of the parameters that are swept (not tied).
std::vector<std::size_t> free_parameters(const SweepSpec& spec) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < spec.parameters.size(); ++i) {
    if (!spec.parameters[i].derived()) out.push_back(i);
  }
  return out;
}

Point make_point(const SweepSpec& spec, const std::vector<std::size_t>& free,
                 const std::vector<std::size_t>& choice) {
  Point p(spec.parameters.size(), nullptr);
  for (std::size_t f = 0; f < free.size(); ++f)
    p[free[f]] = spec.parameters[free[f]].values[choice[f]];
  return p;
}

std::vector<Point> PointList::ask(std::size_t n) {
  std::vector<Point> out;
  while (out.size() < n && m_next < m_points.size()) out.push_back(m_points[m_next++]);
  return out;
}

bool register_strategy(const std::string& name, StrategyFactory factory) {
  registry()[name] = std::move(factory);
  return true;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<SearchStrategy> make_strategy(const SweepSpec& spec) {
  const auto it = registry().find(spec.strategy.name);
  if (it == registry().end()) {
    throw InputError(fmt::format("sweep strategy \"{}\" does not exist (known: {})",
                                 spec.strategy.name, fmt::join(strategy_names(), ", ")));
  }
  return it->second(spec);
}

}  // namespace tessel::explorer
