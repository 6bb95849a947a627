#pragma once
// Renderings of a simulation report for people: a self-contained HTML page
// for hardware reviews (inline SVG charts, no scripts, no network) and a
// CSV of the per-layer table for spreadsheets.

#include <string>

#include <nlohmann/json.hpp>

namespace tessel::reports {

std::string layers_csv(const nlohmann::json& report);
std::string html_page(const nlohmann::json& report);

}  // namespace tessel::reports
