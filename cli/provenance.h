#pragma once
// Provenance of a run: hashes of the input files, so a report can be tied
// to exactly what produced it.

#include <optional>
#include <string>

namespace tessel::cli {

// Hex SHA-256 of a file's bytes; nullopt when `path` is not a readable file
// (a model-zoo spec, for instance).
std::optional<std::string> sha256_of_file(const std::string& path);

}  // namespace tessel::cli
