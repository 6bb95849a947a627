#include "explorer/sweep.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/mpi.hpp>
#include <boost/serialization/string.hpp>

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/error.h"
#include "arch/roofline.h"
#include "explorer/pareto.h"
#include "explorer/store.h"
#include "explorer/strategy.h"
#include "reports/html.h"
#include "reports/sweep_page.h"
#include "workloads/estimate.h"
#include "workloads/zoo/registry.h"

extern char** environ;

namespace tessel::explorer {

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  Point point;
  Resolved resolved;
  Clock::time_point started;
  std::string report, log;
};

pid_t spawn_worker(const SweepOptions& o, const SweepSpec& spec, const Job& job) {
  std::vector<std::string> args = {
      o.tessel_binary,       "simulate", "--arch",  spec.arch, "--workload",
      job.resolved.workload, "-o",       job.report};
  for (const auto& s : job.resolved.overrides) {
    args.push_back("--set");
    args.push_back(s);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, job.log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, o.tessel_binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw InputError(
        fmt::format("cannot start the worker {}: {}", o.tessel_binary, std::strerror(rc)));
  return pid;
}

std::string last_line(const std::string& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

std::vector<std::string> metric_names(const SweepSpec& spec) {
  std::vector<std::string> out;
  for (const auto& o : spec.objectives) out.push_back(o.metric);
  for (const auto& c : spec.constraints) {
    if (std::find(out.begin(), out.end(), c.metric) == out.end()) out.push_back(c.metric);
  }
  if (spec.accuracy && std::find(out.begin(), out.end(), "accuracy") == out.end()) {
    out.push_back("accuracy");
  }
  return out;
}

// Whether a stored result has every metric the spec asks for (a resumed
// sweep may name more metrics than the run that stored it).
bool covers(const SweepSpec& spec, const Result& r) {
  if (r.status != "ok") return true;
  const auto names = metric_names(spec);
  return std::all_of(names.begin(), names.end(),
                     [&](const std::string& m) { return r.metrics.contains(m); });
}

// A point that breaks a validity rule: infeasible, not evaluated.
Result broken(const Resolved& resolved) {
  Result r;
  r.key = resolved.key;
  r.params = resolved.params;
  r.status = "infeasible";
  r.reason = "breaks the rule " + *resolved.broken_rule;
  r.metrics = nlohmann::json::object();
  return r;
}

// Fills r.metrics from a report (and the accuracy table), then applies the
// constraints. A point the accuracy table does not cover is infeasible: it
// cannot be ranked against the others.
void judge(const SweepSpec& spec, const Resolved& resolved, const nlohmann::json& report,
           Result& r) {
  r.status = "ok";
  for (const auto& m : metric_names(spec)) {
    if (m == "accuracy") continue;
    const auto v = metric(report, m);
    if (!v) {
      r.status = "failed";
      r.reason = fmt::format("the report has no metric {}", m);
      return;
    }
    r.metrics[m] = *v;
  }
  if (spec.accuracy) {
    const auto [family, params] = workloads::zoo::resolve_spec(resolved.workload);
    const auto accuracy = lookup(*spec.accuracy, family, params);
    if (!accuracy) {
      r.metrics["accuracy"] = nullptr;
      r.status = "infeasible";
      r.reason = fmt::format("no accuracy for {} in {}", resolved.workload, spec.accuracy->file);
      return;
    }
    r.metrics["accuracy"] = *accuracy;
  }
  for (const auto& c : spec.constraints) {
    const double v = r.metrics[c.metric].get<double>();
    if ((c.max && v > *c.max) || (c.min && v < *c.min)) {
      r.status = "infeasible";
      r.reason = c.max && v > *c.max ? fmt::format("{} = {:.6g} > {:.6g}", c.metric, v, *c.max)
                                     : fmt::format("{} = {:.6g} < {:.6g}", c.metric, v, *c.min);
      return;
    }
  }
}

std::vector<bool> minimise_of(const SweepSpec& spec) {
  std::vector<bool> out;
  for (const auto& o : spec.objectives) out.push_back(o.minimise);
  return out;
}

std::optional<std::vector<double>> objectives_of(const SweepSpec& spec, const Result& r) {
  if (r.status != "ok") return std::nullopt;
  std::vector<double> v;
  for (const auto& o : spec.objectives) v.push_back(r.metrics.at(o.metric).get<double>());
  return v;
}

// Classifies a finished worker.
Result finish(const SweepSpec& spec, const Job& job, int status, bool timed_out) {
  Result r;
  r.key = job.resolved.key;
  r.params = job.resolved.params;
  r.metrics = nlohmann::json::object();
  r.seconds = std::chrono::duration<double>(Clock::now() - job.started).count();
  if (timed_out) {
    r.status = "failed";
    r.reason = fmt::format("timed out after {:.0f} s", r.seconds);
  } else if (WIFSIGNALED(status)) {
    r.status = "failed";
    r.reason = fmt::format("worker killed by signal {}: {}", WTERMSIG(status), last_line(job.log));
  } else if (WEXITSTATUS(status) == 1) {
    r.status = "infeasible";  // bad input for this point, e.g. no tile fits the buffers
    r.reason = last_line(job.log);
  } else if (WEXITSTATUS(status) != 0) {
    r.status = "failed";
    r.reason = fmt::format("worker exit {}: {}", WEXITSTATUS(status), last_line(job.log));
  } else {
    std::ifstream in(job.report);
    const auto report = nlohmann::json::parse(in, nullptr, false);
    if (report.is_discarded()) {
      r.status = "failed";
      r.reason = "unreadable report";
      return r;
    }
    r.report = job.report;
    judge(spec, job.resolved, report, r);
  }
  return r;
}

// Where points are simulated: worker processes here, or MPI ranks.
class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  virtual std::size_t capacity() const = 0;
  virtual std::size_t running() const = 0;
  virtual void start(Job job) = 0;
  // The jobs finished since the last call (none: nothing finished yet).
  virtual std::vector<std::pair<Job, Result>> poll() = 0;
  // Blocks until a running job may have finished or timed out, for at most
  // `most`.
  virtual void wait(std::chrono::milliseconds most) = 0;
};

// A descriptor that becomes readable when `pid` exits (a Linux pidfd), so
// that the pool sleeps until a worker ends rather than polling on a clock;
// -1 where the kernel has none.
int exit_fd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// `jobs` `tessel simulate` processes at once, each killed past the timeout.
class LocalPool : public WorkerPool {
 public:
  LocalPool(const SweepSpec& spec, const SweepOptions& o) : m_spec(spec), m_o(o) {}
  ~LocalPool() override {
    for (const auto& [pid, worker] : m_running) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      if (worker.exit_fd >= 0) close(worker.exit_fd);
    }
  }
  std::size_t capacity() const override { return m_o.jobs; }
  std::size_t running() const override { return m_running.size(); }
  void start(Job job) override {
    job.started = Clock::now();
    const pid_t pid = spawn_worker(m_o, m_spec, job);
    m_running.emplace(pid, Worker{std::move(job), exit_fd(pid)});
  }
  std::vector<std::pair<Job, Result>> poll() override {
    std::vector<std::pair<Job, Result>> out;
    int status = 0;
    for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = m_running.find(pid);
      if (it == m_running.end()) continue;
      Result r = finish(m_spec, it->second.job, status, false);
      out.emplace_back(std::move(it->second.job), std::move(r));
      forget(it);
    }
    for (auto it = m_running.begin(); it != m_running.end();) {
      if (seconds_left(it->second) < 0) {
        kill(it->first, SIGKILL);
        waitpid(it->first, &status, 0);
        Result r = finish(m_spec, it->second.job, status, true);
        out.emplace_back(std::move(it->second.job), std::move(r));
        it = forget(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  void wait(std::chrono::milliseconds most) override {
    std::vector<pollfd> fds;
    double left = static_cast<double>(most.count()) / 1000.0;
    for (const auto& [pid, worker] : m_running) {
      if (worker.exit_fd < 0) {  // no pidfd: poll on a short clock
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return;
      }
      fds.push_back({worker.exit_fd, POLLIN, 0});
      left = std::min(left, seconds_left(worker));
    }
    if (fds.empty()) return;
    const int timeout_ms = static_cast<int>(std::max(0.0, left) * 1000.0) + 1;
    ::poll(fds.data(), fds.size(), timeout_ms);
  }

 private:
  struct Worker {
    Job job;
    int exit_fd = -1;
  };
  double seconds_left(const Worker& w) const {
    return m_o.timeout_seconds -
           std::chrono::duration<double>(Clock::now() - w.job.started).count();
  }
  std::map<pid_t, Worker>::iterator forget(std::map<pid_t, Worker>::iterator it) {
    if (it->second.exit_fd >= 0) close(it->second.exit_fd);
    return m_running.erase(it);
  }

  const SweepSpec& m_spec;
  const SweepOptions& m_o;
  std::map<pid_t, Worker> m_running;
};

// MPI: rank 0 searches and stores; every other rank simulates one point at
// a time with its own `tessel simulate` process and sends the result back.
constexpr int kWorkTag = 1, kResultTag = 2, kStopTag = 3;

nlohmann::json job_json(const Job& j) {
  return {{"point", j.point},
          {"overrides", j.resolved.overrides},
          {"workload", j.resolved.workload},
          {"params", j.resolved.params},
          {"key", j.resolved.key},
          {"report", j.report},
          {"log", j.log}};
}

Job job_of(const nlohmann::json& j) {
  Job job;
  job.point = j.at("point").get<Point>();
  job.resolved.overrides = j.at("overrides").get<std::vector<std::string>>();
  job.resolved.workload = j.at("workload");
  job.resolved.params = j.at("params");
  job.resolved.key = j.at("key");
  job.report = j.at("report");
  job.log = j.at("log");
  return job;
}

nlohmann::json result_json(const Result& r) {
  return {{"key", r.key},         {"params", r.params}, {"status", r.status},  {"reason", r.reason},
          {"metrics", r.metrics}, {"report", r.report}, {"seconds", r.seconds}};
}

Result result_of(const nlohmann::json& j) {
  return {j.at("key"),     j.at("params"), j.at("status"), j.at("reason"),
          j.at("metrics"), j.at("report"), j.at("seconds")};
}

class MpiPool : public WorkerPool {
 public:
  explicit MpiPool(boost::mpi::communicator& world) : m_world(world) {
    for (int r = world.size() - 1; r >= 1; --r) m_free.push_back(r);
  }
  std::size_t capacity() const override { return static_cast<std::size_t>(m_world.size() - 1); }
  std::size_t running() const override { return m_busy.size(); }
  void start(Job job) override {
    const int rank = m_free.back();
    m_free.pop_back();
    m_world.send(rank, kWorkTag, job_json(job).dump());
    auto busy = std::make_unique<Busy>();
    busy->job = std::move(job);
    busy->request = m_world.irecv(rank, kResultTag, busy->reply);
    m_busy.emplace(rank, std::move(busy));
  }
  std::vector<std::pair<Job, Result>> poll() override {
    std::vector<std::pair<Job, Result>> out;
    for (auto it = m_busy.begin(); it != m_busy.end();) {
      if (!it->second->request.test()) {
        ++it;
        continue;
      }
      out.emplace_back(std::move(it->second->job),
                       result_of(nlohmann::json::parse(it->second->reply)));
      m_free.push_back(it->first);
      it = m_busy.erase(it);
    }
    return out;
  }
  // The results arrive by MPI, which has no descriptor to sleep on.
  void wait(std::chrono::milliseconds most) override {
    std::this_thread::sleep_for(std::min(most, std::chrono::milliseconds(5)));
  }

 private:
  struct Busy {
    Job job;
    std::string reply;
    boost::mpi::request request;
  };
  boost::mpi::communicator& m_world;
  std::vector<int> m_free;
  std::map<int, std::unique_ptr<Busy>> m_busy;
};

// A rank other than 0: simulate what rank 0 sends until it says stop.
void serve(const SweepSpec& spec, SweepOptions o, boost::mpi::communicator& world) {
  o.jobs = 1;
  LocalPool local(spec, o);
  for (;;) {
    std::string message;
    const auto status = world.recv(0, boost::mpi::any_tag, message);
    if (status.tag() == kStopTag) return;
    local.start(job_of(nlohmann::json::parse(message)));
    std::vector<std::pair<Job, Result>> done;
    while ((done = local.poll()).empty()) local.wait(std::chrono::milliseconds(1000));
    world.send(0, kResultTag, result_json(done.front().second).dump());
  }
}

// What the analytical fidelity reuses across points: the base config as
// read, and each distinct workload as built.
struct EstimateCache {
  nlohmann::json base_config;
  std::map<std::string, workloads::Workload> workloads;
  bool priced = false;  // the spec names an energy or area metric
};

// The analytical fidelity: metrics from workloads::estimate.
Result estimate_point(const SweepSpec& spec, const Resolved& resolved, EstimateCache& cache) {
  Result r;
  r.key = resolved.key;
  r.params = resolved.params;
  r.metrics = nlohmann::json::object();
  const auto started = Clock::now();
  try {
    const auto config = arch::load_config(cache.base_config, spec.arch, resolved.overrides);
    auto it = cache.workloads.find(resolved.workload);
    if (it == cache.workloads.end()) {
      if (cache.workloads.size() >= 256) cache.workloads.clear();  // bounded memory
      it =
          cache.workloads.emplace(resolved.workload, workloads::zoo::load(resolved.workload)).first;
    }
    const auto e = workloads::estimate(it->second, config);
    nlohmann::json report = {
        {"totals",
         {{"cycles", e.cycles.count()},
          {"latency_ms", e.latency_ms},
          {"compute_cycles", e.compute_cycles.count()},
          {"macs", e.macs()},
          {"dram_read_bytes", e.dram_read_bytes},
          {"dram_write_bytes", e.dram_write_bytes},
          {"achieved_tops", arch::achieved_tops(config, e.macs(), e.cycles.count())},
          {"utilization", e.cycles.count() ? static_cast<double>(e.macs()) /
                                                 (static_cast<double>(config.array.rows) *
                                                  config.array.cols * e.cycles.count())
                                           : 0.0}}},
        {"hardware",
         {{"peak_tops", arch::peak_tops(config, config.array.precision)},
          {"peak_macs_per_cycle",
           arch::peak_macs_per_cycle(config.array, config.array.precision)}}}};
    if (cache.priced && config.technology_node_nm) {
      // The cost model on the estimate's untiled action counts.
      const arch::CostModel cost(config);
      report["hardware"].update(arch::hardware_cost_json(cost, config));
      report["totals"].update(
          arch::energy_totals_json(cost.energy(e.actions, e.cycles), e.macs(), e.latency_ms / 1e3));
    }
    judge(spec, resolved, report, r);
  } catch (const InputError& e) {
    r.status = "infeasible";
    r.reason = e.what();
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

void write_outputs(const SweepSpec& spec, const std::filesystem::path& dir,
                   std::vector<Result> results, SweepSummary& summary) {
  std::sort(results.begin(), results.end(),
            [](const Result& a, const Result& b) { return a.key < b.key; });
  const auto metrics = metric_names(spec);
  std::ofstream csv(dir / "points.csv");
  csv << "key,status";
  for (const auto& p : spec.parameters) csv << "," << p.path;
  for (const auto& m : metrics) csv << "," << m;
  csv << ",reason\n";
  std::vector<std::vector<double>> values;
  std::vector<std::size_t> ok;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    csv << r.key << "," << r.status;
    for (const auto& p : spec.parameters) {
      const auto& v = r.params[p.path];
      csv << "," << reports::csv_field(v.is_string() ? v.get<std::string>() : v.dump());
    }
    for (const auto& m : metrics)
      csv << ","
          << (r.metrics.contains(m) && r.metrics[m].is_number()
                  ? fmt::format("{:.10g}", r.metrics[m].get<double>())
                  : "");
    csv << "," << reports::csv_field(r.reason) << "\n";
    if (const auto o = objectives_of(spec, r)) {
      values.push_back(*o);
      ok.push_back(i);
    }
  }
  const auto minimise = minimise_of(spec);
  nlohmann::json objectives = nlohmann::json::array();
  for (const auto& o : spec.objectives) {
    objectives.push_back({{"metric", o.metric}, {"goal", o.minimise ? "min" : "max"}});
  }
  nlohmann::json points = nlohmann::json::array();
  std::vector<bool> on_front(results.size(), false);
  for (auto f : pareto_front(values, minimise)) {
    const auto& r = results[ok[f]];
    on_front[ok[f]] = true;
    points.push_back(
        {{"key", r.key}, {"params", r.params}, {"metrics", r.metrics}, {"report", r.report}});
  }
  summary.pareto = points.size();
  std::ofstream(dir / "pareto.json")
      << nlohmann::json{{"objectives", objectives}, {"points", points}}.dump(2) << "\n";
  nlohmann::json page = {{"name", spec.name},
                         {"objectives", objectives},
                         {"parameters", nlohmann::json::array()},
                         {"points", nlohmann::json::array()}};
  for (const auto& p : spec.parameters) page["parameters"].push_back(p.path);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    page["points"].push_back({{"key", r.key},
                              {"status", r.status},
                              {"reason", r.reason},
                              {"params", r.params},
                              {"metrics", r.metrics},
                              {"front", static_cast<bool>(on_front[i])}});
  }
  std::ofstream(dir / "pareto.html") << reports::sweep_html(page);
}

// Evaluates what `strategy` proposes, storing each result as it comes.
// `phase` names the progress lines.
SweepSummary evaluate(const SweepSpec& spec, SearchStrategy& strategy, Store& store,
                      const SweepOptions& o, bool analytical, const std::string& phase,
                      WorkerPool& pool) {
  const std::filesystem::path dir = o.out_dir;
  SweepSummary summary;
  std::vector<Point> pending;
  bool exhausted = false;
  const auto start = Clock::now();
  auto last_progress = start;
  const bool tty = isatty(STDOUT_FILENO);
  auto progress = [&](bool force) {
    const auto now = Clock::now();
    if (!force && now - last_progress < std::chrono::seconds(tty ? 0 : 5)) return;
    last_progress = now;
    const std::size_t done = summary.ok + summary.infeasible + summary.failed;
    const double secs = std::chrono::duration<double>(now - start).count();
    const double rate = summary.evaluated / std::max(secs, 1e-3);
    std::string eta = "?";
    if (const auto total = strategy.total(); total && rate > 0) {
      eta = fmt::format("{:.0f} s", static_cast<double>(*total - std::min(*total, done)) / rate);
    }
    const std::string line = fmt::format(
        "{} {}: {}/{} done ({} reused), {} failed, {} infeasible, {:.2f} points/s, ETA {}", phase,
        spec.name, done, strategy.total() ? std::to_string(*strategy.total()) : "?", summary.reused,
        summary.failed, summary.infeasible, rate, eta);
    std::cout << (tty ? "\r" + line : line + "\n") << std::flush;
  };
  auto record = [&](const Result& r, const Point& p) {
    (r.status == "ok"           ? summary.ok
     : r.status == "infeasible" ? summary.infeasible
                                : summary.failed)++;
    strategy.tell(p, objectives_of(spec, r));
  };
  if (analytical) {
    // Validate the metrics once: the estimate has a subset of the report's.
    for (const auto& m : metric_names(spec)) {
      static const std::set<std::string> kEstimated = {"totals.cycles",
                                                       "totals.latency_ms",
                                                       "totals.compute_cycles",
                                                       "totals.macs",
                                                       "totals.utilization",
                                                       "totals.achieved_tops",
                                                       "totals.dram_read_bytes",
                                                       "totals.dram_write_bytes",
                                                       "hardware.peak_tops",
                                                       "hardware.peak_macs_per_cycle",
                                                       "accuracy"};
      if (!kEstimated.contains(m) && !kCostMetrics.contains(m)) {
        throw InputError(fmt::format("--analytical: the estimate has no {} (it has {})", m,
                                     fmt::join(kEstimated, ", ")));
      }
    }
    const auto names = metric_names(spec);
    EstimateCache cache{arch::read_config_file(spec.arch),
                        {},
                        std::any_of(names.begin(), names.end(),
                                    [](const std::string& m) { return kCostMetrics.contains(m); })};
    store.begin();
    for (auto batch = strategy.ask(256); !batch.empty(); batch = strategy.ask(256)) {
      for (const auto& p : batch) {
        const Resolved resolved = resolve(spec, p);
        if (const auto stored = store.get(resolved.key); stored && covers(spec, *stored)) {
          ++summary.reused;
          record(*stored, p);
          continue;
        }
        const Result r =
            resolved.broken_rule ? broken(resolved) : estimate_point(spec, resolved, cache);
        store.put(r);
        ++summary.evaluated;
        record(r, p);
      }
      store.commit();  // each batch is durable before the next starts
      progress(false);
      store.begin();
    }
    store.commit();
  }
  while (!analytical) {
    while (pool.running() < pool.capacity()) {
      if (pending.empty() && !exhausted) {
        pending = strategy.ask(pool.capacity());
        std::reverse(pending.begin(), pending.end());
        // Empty with points running: the strategy waits for their results.
        exhausted = pending.empty() && pool.running() == 0;
      }
      if (pending.empty()) break;
      Job job{pending.back(), resolve(spec, pending.back()), Clock::now(), "", ""};
      pending.pop_back();
      if (const auto stored = store.get(job.resolved.key); stored && covers(spec, *stored)) {
        ++summary.reused;
        record(*stored, job.point);
        continue;
      }
      if (job.resolved.broken_rule) {
        const Result r = broken(job.resolved);
        store.put(r);
        ++summary.evaluated;
        record(r, job.point);
        continue;
      }
      job.report = (dir / "reports" / (job.resolved.key + ".json")).string();
      job.log = (dir / "reports" / (job.resolved.key + ".log")).string();
      pool.start(std::move(job));
    }
    if (pool.running() == 0) break;
    auto done = pool.poll();
    for (auto& [job, r] : done) {
      store.put(r);
      ++summary.evaluated;
      record(r, job.point);
    }
    if (!done.empty()) {
      progress(false);
    } else {
      pool.wait(std::chrono::milliseconds(1000));
    }
  }
  progress(true);
  if (tty) std::cout << "\n";
  return summary;
}

std::unique_ptr<WorkerPool> make_pool(const SweepSpec& spec, const SweepOptions& o,
                                      std::optional<boost::mpi::communicator>& world) {
  if (world) return std::make_unique<MpiPool>(*world);
  return std::make_unique<LocalPool>(spec, o);
}

// Opens a store of `dir`; one with results needs --resume.
std::unique_ptr<Store> open_store(const std::filesystem::path& file, bool resume) {
  const bool existed = std::filesystem::exists(file);
  auto store = std::make_unique<Store>(file.string());
  if (existed && store->size() > 0 && !resume) {
    throw InputError(
        fmt::format("{}: a sweep's results are already there; add --resume to continue it, or "
                    "choose another output directory",
                    file.string()));
  }
  return store;
}

// The screening's choice: whole non-dominated layers of the analytical
// results (first front first), then points of the next layer by key, up to
// `keep` points; and the size of the first layer, the analytical front.
struct Promising {
  std::vector<Result> chosen;
  std::size_t front = 0;
};
Promising promising(const SweepSpec& spec, std::vector<Result> screened, std::size_t keep) {
  std::sort(screened.begin(), screened.end(),
            [](const Result& a, const Result& b) { return a.key < b.key; });
  const auto minimise = minimise_of(spec);
  std::vector<std::size_t> left;
  for (std::size_t i = 0; i < screened.size(); ++i) {
    if (objectives_of(spec, screened[i])) left.push_back(i);
  }
  Promising out;
  for (bool first = true; out.chosen.size() < keep && !left.empty(); first = false) {
    std::vector<std::vector<double>> values;
    for (auto i : left) values.push_back(*objectives_of(spec, screened[i]));
    const auto layer = pareto_front(values, minimise);
    if (first) out.front = layer.size();
    std::vector<bool> taken(left.size(), false);
    for (auto f : layer) {
      if (out.chosen.size() < keep) out.chosen.push_back(screened[left[f]]);
      taken[f] = true;
    }
    std::vector<std::size_t> rest;
    for (std::size_t k = 0; k < left.size(); ++k) {
      if (!taken[k]) rest.push_back(left[k]);
    }
    left = std::move(rest);
  }
  return out;
}

Point point_of(const SweepSpec& spec, const Result& r) {
  Point p;
  for (const auto& param : spec.parameters) {
    p.push_back(param.derived() ? nlohmann::json(nullptr) : r.params.at(param.path));
  }
  return p;
}

// How the two fidelities disagree on the simulated points: per estimated
// objective, the ratio analytical / simulated (min, median, max), and how
// many of the simulated front the analytical front had.
nlohmann::json disagreement(const SweepSpec& spec, const std::vector<Result>& screened,
                            const std::vector<Result>& simulated, std::size_t screened_front) {
  std::map<std::string, const Result*> by_key;
  for (const auto& r : screened) by_key[r.key] = &r;
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& m : metric_names(spec)) {
    if (m == "accuracy") continue;  // a table: the same at both fidelities
    std::vector<double> ratios;
    for (const auto& r : simulated) {
      const auto it = by_key.find(r.key);
      if (r.status != "ok" || it == by_key.end() || it->second->status != "ok") continue;
      const auto& a = it->second->metrics;
      if (!a.contains(m) || !a[m].is_number() || !r.metrics[m].is_number()) continue;
      const double sim = r.metrics[m].get<double>();
      if (sim != 0) ratios.push_back(a[m].get<double>() / sim);
    }
    if (ratios.empty()) continue;
    std::sort(ratios.begin(), ratios.end());
    metrics[m] = {{"points", ratios.size()},
                  {"min_ratio", ratios.front()},
                  {"median_ratio", ratios[ratios.size() / 2]},
                  {"max_ratio", ratios.back()}};
  }
  return {{"screened_points", screened.size()},
          {"analytical_front", screened_front},
          {"simulated_points", simulated.size()},
          {"ratio_analytical_over_simulated", metrics}};
}

}  // namespace

SweepSummary run_sweep(const SweepSpec& spec, const SweepOptions& o) {
  std::optional<boost::mpi::environment> mpi;
  std::optional<boost::mpi::communicator> world;
  if (o.mpi) {
    mpi.emplace(false);  // an InputError finalises MPI and is reported, not aborted
    world.emplace();
    if (world->rank() != 0) {
      serve(spec, o, *world);
      SweepSummary s;
      s.serving = true;
      return s;
    }
    if (world->size() < 2) {
      throw InputError("--mpi needs at least 2 ranks: rank 0 searches, the others simulate");
    }
  }
  // Whatever happens on rank 0, the other ranks are released.
  struct StopRanks {
    std::optional<boost::mpi::communicator>& world;
    ~StopRanks() {
      if (!world) return;
      for (int r = 1; r < world->size(); ++r) world->send(r, kStopTag, std::string());
    }
  } stop_ranks{world};
  const std::filesystem::path dir = o.out_dir;
  std::filesystem::create_directories(dir / "reports");
  auto store = open_store(dir / "results.sqlite", o.resume);
  auto strategy = make_strategy(spec);
  if (!o.screen) {
    const auto pool = make_pool(spec, o, world);
    auto summary = evaluate(spec, *strategy, *store, o, o.analytical, "sweep", *pool);
    write_outputs(spec, dir, store->all(), summary);
    return summary;
  }
  // Multi-fidelity: the strategy's points analytically, then the promising
  // ones with the simulator.
  auto screen_store = open_store(dir / "screen.sqlite", o.resume);
  const auto pool = make_pool(spec, o, world);
  evaluate(spec, *strategy, *screen_store, o, true, "screen", *pool);
  const auto screened = screen_store->all();
  const auto chosen = promising(spec, screened, o.screen);
  std::vector<Point> points;
  for (const auto& r : chosen.chosen) points.push_back(point_of(spec, r));
  PointList list(points);
  auto summary = evaluate(spec, list, *store, o, false, "simulate", *pool);
  const auto simulated = store->all();
  write_outputs(spec, dir, simulated, summary);
  auto report = disagreement(spec, screened, simulated, chosen.front);
  std::ofstream(dir / "screening.json") << report.dump(2) << "\n";
  summary.screened = screened.size();
  summary.screening = report;
  return summary;
}

}  // namespace tessel::explorer
