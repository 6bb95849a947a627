#pragma once
// A list of self-registered variants (mappers, fusion policies), kept in
// name order, each an `Info` with `name`, `help` and a `make` factory. The
// variants register at static initialisation from their own files; there is
// no hand-kept list.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::workloads {

template <typename Info>
class NamedRegistry {
 public:
  static bool add(Info info) {
    auto& r = list();
    r.push_back(std::move(info));
    std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return true;
  }
  static const std::vector<Info>& all() { return list(); }
  // The variant named `name`; else an InputError naming the config file,
  // the key (`arch.schedule.mapper`), `what` the variants are and the
  // registered names.
  static const Info& find(const std::string& name, const std::string& source, std::string_view key,
                          std::string_view what) {
    std::vector<std::string> names;
    for (const auto& v : list()) {
      if (v.name == name) return v;
      names.push_back(v.name);
    }
    throw InputError(fmt::format("{}: {}: no {} is named \"{}\" (known: {})", source, key, what,
                                 name, fmt::join(names, ", ")));
  }

 private:
  static std::vector<Info>& list() {
    static std::vector<Info> r;
    return r;
  }
};

}  // namespace tessel::workloads

#define TESSEL_REGISTRY_CONCAT2(a, b) a##b
#define TESSEL_REGISTRY_CONCAT(a, b) TESSEL_REGISTRY_CONCAT2(a, b)
// One variant's registration, a line in its own file: `REGISTER(info)` is
// the registry's register function, `INTERFACE` what `make` returns.
#define TESSEL_REGISTER_VARIANT(REGISTER, INTERFACE, NAME, HELP, CLASS)          \
  static const bool TESSEL_REGISTRY_CONCAT(tessel_variant_registered_, __LINE__) \
      [[maybe_unused]] =                                                         \
          REGISTER({NAME, HELP, [] { return std::unique_ptr<INTERFACE>(new CLASS); }})
