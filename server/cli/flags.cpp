#include "cli/flags.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace dsw::cli {

FlagSet::FlagSet(std::string command, std::string synopsis, std::string description)
    : command_(std::move(command)),
      synopsis_(std::move(synopsis)),
      description_(std::move(description)) {}

void FlagSet::value(std::string name, std::string metavar, std::string default_text,
                    std::string help, std::function<void(const std::string&)> apply) {
  flags_.push_back({std::move(name), std::move(metavar), std::move(default_text), std::move(help),
                    true, std::move(apply)});
}

void FlagSet::toggle(std::string name, std::string help, std::function<void()> apply) {
  flags_.push_back({std::move(name), "", "", std::move(help), false,
                    [apply = std::move(apply)](const std::string&) { apply(); }});
}

bool FlagSet::parse(const std::vector<std::string>& args, std::ostream& out) {
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (flags_done || a == "-" || a.rfind("-", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      print_help(out);
      return false;
    }
    if (a.rfind("--", 0) != 0) throw UsageError{command_ + ": unknown flag " + a};
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Flag* flag = nullptr;
    for (const auto& f : flags_)
      if (f.name == name) flag = &f;
    if (flag == nullptr) {
      throw UsageError{command_ + ": unknown flag --" + name + " (see " + command_ + " --help)"};
    }
    if (!flag->takes_value) {
      if (inline_value) throw UsageError{command_ + ": flag --" + name + " takes no value"};
      flag->apply("");
      continue;
    }
    std::string v;
    if (inline_value) {
      v = *inline_value;
    } else {
      if (i + 1 >= args.size()) throw UsageError{command_ + ": flag --" + name + " needs a value"};
      v = args[++i];
    }
    flag->apply(v);
  }
  return true;
}

void FlagSet::print_help(std::ostream& out) const {
  out << "Usage: " << synopsis_ << "\n\n" << description_ << "\n";
  if (flags_.empty()) return;
  out << "\nFlags:\n";
  for (const auto& f : flags_) {
    std::string left = "  --" + f.name + (f.takes_value ? " " + f.metavar : "");
    out << left;
    if (left.size() < 34)
      out << std::string(34 - left.size(), ' ');
    else
      out << "\n" << std::string(34, ' ');
    out << f.help;
    if (!f.default_text.empty()) out << " (default " << f.default_text << ")";
    out << "\n";
  }
  out << "  --help                          show this help\n";
}

void add_admission_flags(FlagSet& flags, Options& options) {
  std::string types;
  for (std::size_t i = 0; i < options.applies_to.size(); ++i)
    types += (i ? "," : "") + options.applies_to[i];
  flags.value("applies-to", "TYPES", types,
              "comma-separated component types the dynamodb-streams-kro trait may be used on",
              [&options](const std::string& v) {
                std::vector<std::string> list;
                std::stringstream ss(v);
                std::string item;
                while (std::getline(ss, item, ',')) {
                  while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
                    item.pop_back();
                  std::size_t b = 0;
                  while (b < item.size() && std::isspace(static_cast<unsigned char>(item[b]))) ++b;
                  item = item.substr(b);
                  if (!item.empty()) list.push_back(item);
                }
                if (list.empty()) throw UsageError{"--applies-to needs at least one type"};
                options.applies_to = std::move(list);
              });
  auto enforcement = [](const char* flag, Enforcement& slot) {
    return [flag, &slot](const std::string& v) {
      if (!parse_enforcement(v, slot))
        throw UsageError{std::string("--") + flag + " must be deny or warn, not \"" + v + "\""};
    };
  };
  flags.value("enforcement", "deny|warn", std::string(to_string(options.enforcement)),
              "what an invalid object gets: deny refuses it; warn admits it and gives each error "
              "it would have been refused for as a warning (same text), to roll out or audit",
              enforcement("enforcement", options.enforcement));
  flags.value("unknown-properties", "deny|warn", std::string(to_string(options.unknown_properties)),
              "what an unknown key in the trait's properties does",
              enforcement("unknown-properties", options.unknown_properties));
  flags.value("view-type-change", "deny|warn", std::string(to_string(options.view_type_change)),
              "what an UPDATE that changes the view type of an enabled stream does (trait and tables)",
              enforcement("view-type-change", options.view_type_change));
}

std::optional<double> parse_duration_seconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  // A finite number of seconds within the bound, or nothing.
  auto bounded = [](double seconds) -> std::optional<double> {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxDurationSeconds) return std::nullopt;
    return seconds;
  };
  // A plain number means seconds.
  {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end != nullptr && *end == '\0') return bounded(v);
  }
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (start == i) return std::nullopt;
    const std::string number = text.substr(start, i - start);
    char* end = nullptr;
    double n = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return std::nullopt;  // "1..5s", "."
    std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(ustart, i - ustart);
    if (unit == "ms")
      total += n / 1000;
    else if (unit == "s")
      total += n;
    else if (unit == "m")
      total += n * 60;
    else if (unit == "h")
      total += n * 3600;
    else
      return std::nullopt;
  }
  return bounded(total);
}

long whole_number_flag(const std::string& name, const std::string& value, long lo, long hi) {
  std::size_t used = 0;
  long n = lo - 1;
  try {
    n = std::stol(value, &used);
  } catch (...) {
  }
  if (used != value.size() || n < lo || n > hi)
    throw UsageError{"--" + name + " must be a number from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", not \"" + value + "\""};
  return n;
}

double duration_flag(const std::string& name, const std::string& value, const std::string& hint,
                     double min_seconds) {
  auto d = parse_duration_seconds(value);
  if (!d || *d < min_seconds)
    throw UsageError{"--" + name + ": invalid duration \"" + value + "\" (" + hint + ")"};
  return *d;
}

}  // namespace dsw::cli
