#pragma once
// Pareto filtering: the points no other point dominates.

#include <cstddef>
#include <vector>

namespace tessel::explorer {

// `values[i]` are point i's objectives; `minimise[j]` the direction of j.
// Returns the indices of the non-dominated points, in input order. Equal
// points do not dominate each other (both are kept).
std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& values,
                                      const std::vector<bool>& minimise);

}  // namespace tessel::explorer
