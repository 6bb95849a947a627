#include "explorer/pareto.h"

namespace tessel::explorer {

std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& values,
                                      const std::vector<bool>& minimise) {
  auto better_or_equal = [&](double a, double b, std::size_t j) {
    return minimise[j] ? a <= b : a >= b;
  };
  auto strictly_better = [&](double a, double b, std::size_t j) {
    return minimise[j] ? a < b : a > b;
  };
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < values.size(); ++i) {
    bool dominated = false;
    for (std::size_t k = 0; k < values.size() && !dominated; ++k) {
      if (k == i) continue;
      bool all = true, one = false;
      for (std::size_t j = 0; j < minimise.size(); ++j) {
        all &= better_or_equal(values[k][j], values[i][j], j);
        one |= strictly_better(values[k][j], values[i][j], j);
      }
      dominated = all && one;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

}  // namespace tessel::explorer
