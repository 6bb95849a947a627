#pragma once
// Small helpers the HTML pages and CSV tables share.

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace tessel::reports {

inline std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// 3 significant digits with an SI prefix: 1.23M.
inline std::string human(double v) {
  const char* units[] = {"", "K", "M", "G", "T", "P"};
  int u = 0;
  while (std::abs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.3g}{}", v, units[u]);
}

// A CSV field, quoted when it holds a comma, quote or newline.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Everything up to and including the <h1>: the pages' shared style plus
// `extra_css`.
inline std::string page_head(const std::string& title, const std::string& extra_css) {
  return R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>)" +
         escape(title) +
         R"(</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
)" + extra_css +
         "</style></head><body>\n<h1>" + escape(title) + "</h1>\n";
}

}  // namespace tessel::reports
