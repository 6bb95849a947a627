#pragma once
// Helpers shared by the tessel subcommands.

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace tessel::cli {

// A command-line mistake: printed with the usage hint, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown by parse() after printing the usage for --help; guarded() exits 0.
struct HelpShown {};

// Parses a command's options; with --help (which `desc` must declare),
// prints `desc` and throws HelpShown.
boost::program_options::variables_map parse(
    const boost::program_options::options_description& desc, const std::vector<std::string>& args,
    const boost::program_options::positional_options_description* positional = nullptr);
void write_text(const std::string& file, const std::string& text);

// Required and repeatable --set options.
std::string required(const boost::program_options::variables_map& vm, const char* name);
std::vector<std::string> overrides(const boost::program_options::variables_map& vm);

// Runs a command; --help exits 0, a UsageError 2, an InputError 1 (the sweep counts
// that point infeasible), anything else 3, each with one line on stderr.
int guarded(const char* program, const std::function<int()>& command);

extern const char* const kVersion;
extern const char* const kGitRevision;

// `tessel simulate` (simulate_command.cpp).
int run_simulate(const std::vector<std::string>& args);

// Subcommands that work on reports (report_commands.cpp).
int run_diff(const std::vector<std::string>& args);
int run_regress(const std::vector<std::string>& args);
int run_report(const std::vector<std::string>& args);

}  // namespace tessel::cli
