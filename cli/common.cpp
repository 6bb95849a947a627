#include "common.h"

#include <fstream>
#include <iostream>

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
  if (vm.count("help")) {
    std::cout << desc << "\n";
    throw HelpShown{};
  }
  return vm;
}

void write_text(const std::string& file, const std::string& text) {
  std::ofstream out(file);
  if (!out) throw InputError(fmt::format("{}: cannot open for writing", file));
  out << text;
  if (!out) throw InputError(fmt::format("{}: write failed", file));
}

std::string required(const po::variables_map& vm, const char* name) {
  if (!vm.count(name)) throw UsageError(fmt::format("missing required option --{}", name));
  return vm[name].as<std::string>();
}

std::vector<std::string> overrides(const po::variables_map& vm) {
  return vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

int guarded(const char* program, const std::function<int()>& command) {
  try {
    return command();
  } catch (const HelpShown&) {
    return 0;
  } catch (const UsageError& e) {
    std::cerr << program << ": usage error: " << e.what() << "\n";
    return 2;
  } catch (const InputError& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": internal error: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace tessel::cli
