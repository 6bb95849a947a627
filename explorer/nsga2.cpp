// NSGA-II (Deb et al. 2002) from pagmo2, behind the ask/tell interface.
//
// pagmo drives the search: it calls a batch fitness evaluator (bfe) with a
// generation's decision vectors. Here that evaluator runs on pagmo's own
// thread and hands the batch to ask(); it returns once every point of the
// batch has been told. The search therefore sees the same fitness values in
// the same order whatever the job count: same seed, same points.

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>

#include "arch/error.h"
#include "explorer/strategy.h"

namespace tessel::explorer {

namespace {

// The fitness of a failed or infeasible point: worse than any real value,
// finite so that crowding distances stay numbers.
constexpr double kPenalty = 1e300;

struct Cancelled {};

class Nsga2 : public SearchStrategy {
 public:
  explicit Nsga2(const SweepSpec& spec) : m_spec(spec), m_free(free_parameters(spec)) {}
  ~Nsga2() override {
    {
      std::lock_guard lock(m_mutex);
      m_cancelled = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
  }

  std::vector<Point> ask(std::size_t n) override {
    std::unique_lock lock(m_mutex);
    if (!m_thread.joinable()) m_thread = std::thread([this] { run(); });
    m_cv.wait(lock, [&] { return !m_available.empty() || m_finished || m_outstanding > 0; });
    if (m_error) throw InputError(*m_error);
    std::vector<Point> out;
    while (out.size() < n && !m_available.empty()) {
      out.push_back(std::move(m_available.front()));
      m_available.pop_front();
      ++m_outstanding;
    }
    return out;
  }

  void tell(const Point& point, const std::optional<std::vector<double>>& objectives) override {
    std::vector<double> f(m_spec.objectives.size(), kPenalty);
    if (objectives) {
      for (std::size_t i = 0; i < f.size(); ++i) {
        f[i] = m_spec.objectives[i].minimise ? (*objectives)[i] : -(*objectives)[i];
      }
    }
    {
      std::lock_guard lock(m_mutex);
      m_fitness[nlohmann::json(point).dump()] = f;
      if (m_outstanding > 0) --m_outstanding;
    }
    m_cv.notify_all();
  }

  std::optional<std::size_t> total() const override { return std::nullopt; }

 private:
  // pagmo's problem: one integer gene per free parameter, the index of its
  // value. Fitness comes in batches only.
  struct Problem {
    std::vector<double> upper;
    std::size_t objectives = 2;
    pagmo::vector_double fitness(const pagmo::vector_double&) const {
      throw std::logic_error("Tessel's NSGA-II evaluates in batches");
    }
    std::pair<pagmo::vector_double, pagmo::vector_double> get_bounds() const {
      return {pagmo::vector_double(upper.size(), 0.0), upper};
    }
    pagmo::vector_double::size_type get_nobj() const { return objectives; }
    pagmo::vector_double::size_type get_nix() const { return upper.size(); }
  };
  struct Evaluator {
    Nsga2* self;
    pagmo::vector_double operator()(const pagmo::problem&, const pagmo::vector_double& dvs) const {
      return self->evaluate(dvs);
    }
  };

  Point point_of(const double* genes) const {
    std::vector<std::size_t> choice;
    for (std::size_t f = 0; f < m_free.size(); ++f) {
      choice.push_back(static_cast<std::size_t>(std::llround(genes[f])));
    }
    return make_point(m_spec, m_free, choice);
  }

  // Runs on pagmo's thread.
  pagmo::vector_double evaluate(const pagmo::vector_double& dvs) {
    const std::size_t dim = m_free.size(), n = dvs.size() / dim;
    std::vector<std::string> keys;
    std::unique_lock lock(m_mutex);
    for (std::size_t i = 0; i < n; ++i) {
      const Point p = point_of(&dvs[i * dim]);
      keys.push_back(nlohmann::json(p).dump());
      if (!m_fitness.contains(keys.back()) && m_requested.insert(keys.back()).second) {
        m_available.push_back(p);
      }
    }
    m_cv.notify_all();
    m_cv.wait(lock, [&] {
      return m_cancelled || std::all_of(keys.begin(), keys.end(),
                                        [&](const auto& k) { return m_fitness.contains(k); });
    });
    if (m_cancelled) throw Cancelled{};
    pagmo::vector_double out;
    for (const auto& k : keys) {
      const auto& f = m_fitness.at(k);
      out.insert(out.end(), f.begin(), f.end());
    }
    return out;
  }

  void run() {
    try {
      Problem udp;
      for (auto f : m_free) udp.upper.push_back(double(m_spec.parameters[f].values.size() - 1));
      udp.objectives = m_spec.objectives.size();
      const pagmo::problem problem(udp);
      const pagmo::bfe bfe(Evaluator{this});
      const auto seed = static_cast<unsigned>(m_spec.strategy.seed);
      pagmo::population population(problem, bfe, m_spec.strategy.population, seed);
      // Crossover 0.9 and mutation 1/genes, the rates of Deb et al.
      pagmo::nsga2 algorithm(static_cast<unsigned>(m_spec.strategy.generations), 0.9, 10.0,
                             1.0 / static_cast<double>(m_free.size()), 50.0, seed);
      algorithm.set_bfe(bfe);
      population = algorithm.evolve(population);
    } catch (const Cancelled&) {
    } catch (const std::exception& e) {
      std::lock_guard lock(m_mutex);
      m_error = fmt::format("NSGA-II: {}", e.what());
    }
    {
      std::lock_guard lock(m_mutex);
      m_finished = true;
    }
    m_cv.notify_all();
  }

  const SweepSpec& m_spec;
  std::vector<std::size_t> m_free;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::thread m_thread;
  std::deque<Point> m_available;
  std::set<std::string> m_requested;
  std::map<std::string, std::vector<double>> m_fitness;
  std::size_t m_outstanding = 0;
  bool m_finished = false, m_cancelled = false;
  std::optional<std::string> m_error;
};

const bool kNsga2 =
    register_strategy("nsga2", [](const SweepSpec& s) { return std::make_unique<Nsga2>(s); });

}  // namespace

}  // namespace tessel::explorer
