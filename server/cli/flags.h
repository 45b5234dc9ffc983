// Command-line parsing shared by every subcommand: `--flag value` and `--flag=value`,
// boolean switches, positional arguments, and a generated --help.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dsw/options.h"

namespace dsw::cli {

// Thrown for a usage error; main prints the message and exits 2.
struct UsageError {
  std::string message;
};

class FlagSet {
 public:
  FlagSet(std::string command, std::string synopsis, std::string description);

  // A flag that takes a value; `apply` validates and stores it (throw UsageError on bad input).
  void value(std::string name, std::string metavar, std::string default_text, std::string help,
             std::function<void(const std::string&)> apply);
  // A switch without a value.
  void toggle(std::string name, std::string help, std::function<void()> apply);

  // Parses argv (without the command words). Returns false when --help was asked for (the help
  // was written to `out`). Positional arguments are collected; "-" is positional; "--" ends flags.
  bool parse(const std::vector<std::string>& args, std::ostream& out);

  const std::vector<std::string>& positional() const { return positional_; }
  void print_help(std::ostream& out) const;

 private:
  struct Flag {
    std::string name, metavar, default_text, help;
    bool takes_value;
    std::function<void(const std::string&)> apply;
  };
  std::string command_, synopsis_, description_;
  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
};

// The admission options every command shares (--applies-to, --enforcement,
// --unknown-properties, --view-type-change), registered on `flags` and written into `options`.
void add_admission_flags(FlagSet& flags, Options& options);

// Longest duration parse_duration_seconds accepts (about 31 years): `serve` adds durations to
// steady_clock, whose int64 nanoseconds would overflow not far beyond.
inline constexpr double kMaxDurationSeconds = 1e9;

// Parses a duration such as "5s", "250ms", "1m", "1m30s" or a plain number of seconds. Nothing
// for anything else, a negative, infinite or NaN value, or one above kMaxDurationSeconds.
std::optional<double> parse_duration_seconds(const std::string& text);

// The value of flag --NAME as a whole number from lo to hi, or a UsageError:
// `--NAME must be a number from LO to HI, not "VALUE"`.
long whole_number_flag(const std::string& name, const std::string& value, long lo, long hi);

// The value of flag --NAME as a duration in seconds (parse_duration_seconds) of at least
// min_seconds, or a UsageError: `--NAME: invalid duration "VALUE" (HINT)`.
double duration_flag(const std::string& name, const std::string& value, const std::string& hint,
                     double min_seconds = 0);

}  // namespace dsw::cli
