#pragma once
// The Chrome trace-event JSON (loadable in Perfetto and chrome://tracing)
// of a run's timeline: one track per unit (MAC array, vector unit, each DMA
// channel) and one for the layers, times in microseconds at the
// configured clock.

#include <cstddef>

#include <nlohmann/json.hpp>

#include "sim/simulator.h"

namespace tessel::sim {

// At most `max_events` spans (plus a few metadata events): a track that
// would exceed its share has runs of consecutive same-named spans of one
// layer merged into one span (args.count says how many), then each layer
// into one span, then consecutive layers into ranges.
nlohmann::json timeline_json(const SimResult& result, double clock_mhz, std::size_t max_events);

}  // namespace tessel::sim
