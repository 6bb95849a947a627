#pragma once
// Search strategies behind an ask/tell interface: a strategy proposes
// points and is told their objective values; it never knows how a point
// is evaluated. Each strategy registers itself by name.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "explorer/spec.h"

namespace tessel::explorer {

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  // Up to `n` points not proposed before. Empty when the search is over, or
  // when no point can come until the outstanding ones are told (an
  // evolutionary search between generations); with nothing outstanding,
  // empty means over.
  virtual std::vector<Point> ask(std::size_t n) = 0;
  // The objective values of a proposed point (nullopt: failed or infeasible).
  virtual void tell(const Point& point, const std::optional<std::vector<double>>& objectives) = 0;
  // Points the strategy will propose in all, when known (for progress).
  virtual std::optional<std::size_t> total() const = 0;
};

// Proposes a fixed list of points, in order (a screening's choice; the
// base of strategies that fix their points up front).
class PointList : public SearchStrategy {
 public:
  explicit PointList(std::vector<Point> points = {}) : m_points(std::move(points)) {}
  std::vector<Point> ask(std::size_t n) override;
  void tell(const Point&, const std::optional<std::vector<double>>&) override {}
  std::optional<std::size_t> total() const override { return m_points.size(); }

 protected:
  std::vector<Point> m_points;

 private:
  std::size_t m_next = 0;
};

// For strategies: the indices of the swept (not tied) parameters, and the
// point choosing value choice[f] of each free parameter f.
std::vector<std::size_t> free_parameters(const SweepSpec& spec);
Point make_point(const SweepSpec& spec, const std::vector<std::size_t>& free,
                 const std::vector<std::size_t>& choice);

using StrategyFactory = std::function<std::unique_ptr<SearchStrategy>(const SweepSpec&)>;
bool register_strategy(const std::string& name, StrategyFactory factory);
std::vector<std::string> strategy_names();
// Throws InputError for an unknown name.
std::unique_ptr<SearchStrategy> make_strategy(const SweepSpec& spec);

}  // namespace tessel::explorer
