#pragma once
// Reads a SCALE-Sim architecture .cfg (INI) and translates it into Tessel's
// JSON hardware config, so architects' existing SCALE-Sim inputs run as-is.

#include <string>

#include <nlohmann/json.hpp>

namespace tessel::arch {

// Translation (docs/config.md has the table): 1 GHz clock, 1-byte words;
// one double-buffered SRAM per operand (ifmap, filter, ofmap) of the given
// size; per-operand DMA channels and DRAM at `Bandwidth` words/cycle each;
// SRAM ports wide enough never to stall the array (SCALE-Sim's SRAM model):
// 2 banks of 2 x max(R, C) bytes per cycle;
// no DRAM latency. Errors name the file and line.
nlohmann::json scalesim_cfg_to_json(const std::string& file);

}  // namespace tessel::arch
