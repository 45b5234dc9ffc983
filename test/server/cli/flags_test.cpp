// Unit tests of server/cli/flags: the command-line parsing every subcommand shares.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "cli/flags.h"

using dsw::cli::FlagSet;
using dsw::cli::UsageError;

namespace {

// A FlagSet like a command's: --output takes a value, --mutate is a switch. Records what was
// applied, in order.
struct Command {
  Command() : flags("cmd", "cmd [--output FORMAT] [--mutate] FILE...", "Does things.") {
    flags.value("output", "FORMAT", "yaml", "what to write",
                [this](const std::string& v) { applied.push_back("output=" + v); });
    flags.toggle("mutate", "answer as /mutate", [this] { applied.push_back("mutate"); });
  }
  bool parse(std::vector<std::string> args) { return flags.parse(args, help); }

  FlagSet flags;
  std::vector<std::string> applied;
  std::ostringstream help;
};

std::string usage_error(std::vector<std::string> args) {
  Command c;
  try {
    c.parse(std::move(args));
  } catch (const UsageError& e) {
    return e.message;
  }
  return "no error";
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("a value is taken as --flag value or --flag=value, in order") {
  Command c;
  CHECK(c.parse({"--output", "json", "a.yaml", "--output=yaml", "--mutate", "b.yaml"}));
  CHECK(c.applied == Strings{"output=json", "output=yaml", "mutate"});
  CHECK(c.flags.positional() == Strings{"a.yaml", "b.yaml"});
  // After '=' everything is the value, even nothing or another '='.
  Command d;
  CHECK(d.parse({"--output=", "--output=a=b"}));
  CHECK(d.applied == Strings{"output=", "output=a=b"});
  // The word after a flag that takes a value is its value, whatever it looks like.
  Command e;
  CHECK(e.parse({"--output", "--mutate"}));
  CHECK(e.applied == Strings{"output=--mutate"});
}

TEST_CASE("\"-\" is a positional argument and \"--\" ends the flags") {
  Command c;
  CHECK(c.parse({"-", "--mutate", "--", "--output", "-x", "-"}));
  CHECK(c.applied == Strings{"mutate"});
  CHECK(c.flags.positional() == Strings{"-", "--output", "-x", "-"});
}

TEST_CASE("usage errors name the command and the flag") {
  CHECK(usage_error({"--bogus"}) == "cmd: unknown flag --bogus (see cmd --help)");
  CHECK(usage_error({"--bogus=1"}) == "cmd: unknown flag --bogus (see cmd --help)");
  CHECK(usage_error({"-x"}) == "cmd: unknown flag -x");
  CHECK(usage_error({"a.yaml", "--output"}) == "cmd: flag --output needs a value");
  CHECK(usage_error({"--mutate=yes"}) == "cmd: flag --mutate takes no value");
  // A flag's own check reports through the same exception.
  FlagSet flags("cmd", "cmd", "");
  flags.value("n", "N", "", "", [](const std::string& v) { throw UsageError{"--n: bad " + v}; });
  std::ostringstream out;
  try {
    flags.parse({"--n=7"}, out);
    FAIL("no error");
  } catch (const UsageError& e) {
    CHECK(e.message == "--n: bad 7");
  }
}

TEST_CASE("--help and -h print the help and stop") {
  for (const std::string help : {"--help", "-h"}) {
    CAPTURE(help);
    Command c;
    CHECK_FALSE(c.parse({"--mutate", help, "--output", "json"}));
    CHECK(c.applied == Strings{"mutate"});  // nothing after --help is applied
    const std::string text = c.help.str();
    CHECK(text.rfind("Usage: cmd [--output FORMAT] [--mutate] FILE...\n\nDoes things.\n", 0) == 0);
    CHECK(text.find("\n  --output FORMAT                 what to write (default yaml)\n") !=
          std::string::npos);
    CHECK(text.find("\n  --mutate                        answer as /mutate\n") != std::string::npos);
    CHECK(text.find("\n  --help                          show this help\n") != std::string::npos);
  }
  // A flag too long for the column has its help on the next line, aligned.
  FlagSet flags("cmd", "cmd", "D.");
  flags.value("a-very-long-flag-name", "SOME-VALUE", "", "help text", [](const std::string&) {});
  std::ostringstream out;
  flags.print_help(out);
  CHECK(out.str().find("  --a-very-long-flag-name SOME-VALUE\n" + std::string(34, ' ') +
                       "help text\n") != std::string::npos);
}

TEST_CASE("the admission flags every command shares") {
  dsw::Options options;
  FlagSet flags("cmd", "cmd", "");
  dsw::cli::add_admission_flags(flags, options);
  std::ostringstream out;
  CHECK(flags.parse({"--applies-to", " my-table , other,, ", "--unknown-properties=warn",
                     "--view-type-change", "warn", "--enforcement", "warn"},
                    out));
  CHECK(options.applies_to == Strings{"my-table", "other"});
  CHECK(options.unknown_properties == dsw::Enforcement::Warn);
  CHECK(options.view_type_change == dsw::Enforcement::Warn);
  CHECK(options.enforcement == dsw::Enforcement::Warn);
  CHECK(dsw::Options{}.enforcement == dsw::Enforcement::Deny);

  auto error = [](Strings args) {
    dsw::Options o;
    FlagSet f("cmd", "cmd", "");
    dsw::cli::add_admission_flags(f, o);
    std::ostringstream help;
    try {
      f.parse(args, help);
    } catch (const UsageError& e) {
      return e.message;
    }
    return std::string("no error");
  };
  CHECK(error({"--applies-to", " , "}) == "--applies-to needs at least one type");
  CHECK(error({"--unknown-properties", "maybe"}) ==
        "--unknown-properties must be deny or warn, not \"maybe\"");
  CHECK(error({"--enforcement", "dryrun"}) == "--enforcement must be deny or warn, not \"dryrun\"");
  CHECK(error({"--view-type-change=Deny"}) ==
        "--view-type-change must be deny or warn, not \"Deny\"");
  // The defaults are shown in the help.
  dsw::Options defaults;
  FlagSet f("cmd", "cmd", "");
  dsw::cli::add_admission_flags(f, defaults);
  std::ostringstream help;
  f.print_help(help);
  CHECK(help.str().find("(default aws-dynamodb-kro)") != std::string::npos);
  CHECK(help.str().find("(default deny)") != std::string::npos);
}

TEST_CASE("durations: units, plain seconds, and what is refused") {
  using dsw::cli::parse_duration_seconds;
  const std::vector<std::pair<std::string, double>> good{
      {"5s", 5},  {"250ms", 0.25}, {"1m", 60},   {"1m30s", 90}, {"2h", 7200}, {"1h1m1s", 3661},
      {"1.5s", 1.5}, {".5s", 0.5}, {"0", 0},    {"7", 7},      {"2.5", 2.5},  {"0s", 0}};
  for (const auto& [text, seconds] : good) {
    CAPTURE(text);
    REQUIRE(parse_duration_seconds(text));
    CHECK(*parse_duration_seconds(text) == doctest::Approx(seconds));
  }
  // Nothing that is not a duration, nothing negative, infinite or beyond the clock's range.
  for (const std::string text :
       {"", "s", "5x", "5 s", "1m30", "-1", "-1s", "1..5s", ".s", "inf", "infinity", "nan",
        "1e400", "1e10", "999999999999h", "5sms"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_duration_seconds(text));
  }
  CHECK(parse_duration_seconds("1000000000") == dsw::cli::kMaxDurationSeconds);
}
