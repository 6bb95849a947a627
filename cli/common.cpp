#include "common.h"

#include <fstream>

#include <fmt/format.h>

#include "arch/error.h"

namespace po = boost::program_options;

namespace tessel::cli {

po::variables_map parse(const po::options_description& desc, const std::vector<std::string>& args,
                        const po::positional_options_description* positional) {
  po::variables_map vm;
  try {
    auto parser = po::command_line_parser(args).options(desc);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

void write_text(const std::string& file, const std::string& text) {
  std::ofstream out(file);
  if (!out) throw InputError(fmt::format("{}: cannot open for writing", file));
  out << text;
  if (!out) throw InputError(fmt::format("{}: write failed", file));
}

}  // namespace tessel::cli
