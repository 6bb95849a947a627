#include "sim/attribution.h"

#include <algorithm>

namespace tessel::sim {

Attribution::Attribution(std::size_t layers,
                         std::function<const InstructionRecord*(std::uint32_t)> record)
    : m_record(std::move(record)),
      m_layers(layers),
      m_read(layers, 0),
      m_done(layers, 0),
      m_own_end(layers),
      m_end(layers),
      m_compute(layers),
      m_stall(layers) {}

void Attribution::read(std::uint32_t layer) {
  ++m_read[layer];
  const bool later = m_last_read_layer && layer > *m_last_read_layer;
  m_last_read_layer = layer;
  if (later) settle();
}

void Attribution::completed(std::uint32_t id, const InstructionRecord& record) {
  ++m_done[record.layer];
  m_own_end[record.layer] = max(m_own_end[record.layer], record.completed_at);
  // The latest finish; of equal ones, the last in program order.
  if (!m_last || record.completed_at > m_last->first ||
      (record.completed_at == m_last->first && id > m_last->second))
    m_last = {record.completed_at, id};
  settle();
}

void Attribution::source_done() {
  m_source_done = true;
  settle();
}

void Attribution::segment(const ArraySegment& s) {
  switch (s.kind) {
    case ArraySegment::Kind::kCompute:
      m_pending.push_back({s.start, s.end, true});
      break;
    case ArraySegment::Kind::kSramStretch:
      m_pending.push_back({s.start, s.end, false, Cause::kSram});
      break;
    case ArraySegment::Kind::kIdle:
      blame(s.start, s.end, s.waiting_for);
      break;
  }
  settle();
}

void Attribution::blame(Cycles a, Cycles t, std::uint32_t x) {
  auto queued_cause = [](const InstructionRecord& rec) {
    // Waiting in a unit's queue is that unit's stall; the array's queue and
    // barriers are dependencies.
    switch (workloads::unit_of(rec.op)) {
      case workloads::Unit::kDma:
        return Cause::kDma;
      case workloads::Unit::kVector:
        return Cause::kVector;
      default:
        return Cause::kDependency;
    }
  };
  std::vector<Piece> back;
  while (t > a && x != kNone) {
    const InstructionRecord* rec = m_record(x);
    if (rec == nullptr) break;
    const Cycles started = std::min(t, max(a, rec->started_at));
    const Cycles ready = std::min(started, max(a, rec->ready_at));
    if (started < t) back.push_back({started, t, false, rec->completed_cause});
    if (ready < started)
      back.push_back({ready, started, false, rec->queued_cause.value_or(queued_cause(*rec))});
    const Cycles deps_done = std::min(ready, max(a, rec->deps_done_at));
    if (deps_done < ready) back.push_back({deps_done, ready, false, Cause::kDispatch});
    t = deps_done;
    x = rec->critical;
  }
  if (t > a) back.push_back({a, t, false, Cause::kDependency});
  m_pending.insert(m_pending.end(), back.rbegin(), back.rend());
}

void Attribution::settle() {
  // A window is known once every instruction of its layer and the ones
  // before has finished and no more of them can come.
  while (m_known < m_layers && m_done[m_known] == m_read[m_known] &&
         (m_source_done || (m_last_read_layer && *m_last_read_layer > m_known))) {
    m_end[m_known] = max(m_known ? m_end[m_known - 1] : Cycles(0), m_own_end[m_known]);
    ++m_known;
  }
  while (!m_pending.empty()) {
    Piece& p = m_pending.front();
    if (m_layer + 1 >= m_layers) {
      assign(p, p.end);
      m_pending.pop_front();
      continue;
    }
    const bool known = m_layer < m_known;
    // Unknown, the window ends no sooner than what has finished so far.
    const Cycles end =
        known ? m_end[m_layer] : max(m_layer ? m_end[m_layer - 1] : Cycles(0), m_own_end[m_layer]);
    if (known && p.start >= end) {
      ++m_layer;
    } else if (p.end <= end) {
      assign(p, p.end);
      m_pending.pop_front();
    } else if (known) {
      assign(p, end);
      p.start = end;
    } else {
      break;
    }
  }
}

void Attribution::assign(const Piece& p, Cycles until) {
  const Cycles span = until - p.start;
  if (p.compute) {
    m_compute[m_layer] += span;
  } else {
    m_stall[m_layer][static_cast<int>(p.cause)] += span;
  }
}

void Attribution::finish(Cycles array_busy_until) {
  source_done();
  const Cycles cycles = m_layers ? m_end.back() : Cycles(0);
  if (cycles > array_busy_until && m_last) blame(array_busy_until, cycles, m_last->second);
  settle();
}

}  // namespace tessel::sim
