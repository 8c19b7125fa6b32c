// `uspdit <command> --help`: one table per command, every flag with its meaning, default and
// aliases. main.cpp prints it for --help and hands its spellings to Args::list(), whose finish()
// refuses a lookup the table does not list: a flag cannot be added without its help line.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace uspdit::cli {

struct FlagHelp {
  std::vector<std::string> names;  // the first is shown first; the rest are aliases (`_` = `-`)
  std::string value;               // e.g. "N", "DIR"; empty for a bare switch
  std::string meaning;
  std::string fallback;  // the default as the user would write it; empty: none (or "required")
};

struct HelpSection {
  std::string title;
  std::vector<FlagHelp> flags;
};

struct CommandHelp {
  std::string usage;  // one line, after "usage: "
  std::string about;  // paragraphs before the flags
  std::vector<HelpSection> sections;
  std::string after;  // e.g. exit codes
};

// nullptr for an unknown command.
const CommandHelp* command_help(const std::string& command);
std::string render_help(const CommandHelp& help);
// Every spelling of every flag in the table.
std::set<std::string> listed_flags(const CommandHelp& help);

}  // namespace uspdit::cli
