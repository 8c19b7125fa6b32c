// The flag parser's refusals, in process: a typo gets the nearest listed flag, a flag given twice
// or under two of its names is refused, and a lookup of a flag the command's --help table does
// not list is a programming error (std::logic_error), not the user's.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/args.h"
#include "core/error.h"

namespace uspdit::core {
namespace {

std::string usage_error(const std::vector<std::string>& tokens, void (*use)(Args&)) {
  try {
    Args args("cmd", tokens);
    args.list({"ulysses-degree", "ulysses-size", "ring-degree", "seq-len", "verify", "nodes"});
    use(args);
    args.finish();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

void reads_all(Args& args) {
  (void)args.get_int_any({"ulysses-degree", "ulysses-size"}, 1);
  (void)args.get_int("ring-degree", 1);
  (void)args.get_int("seq-len", 1);
  (void)args.flag("verify");
  (void)args.get_int("nodes", 1);
}

TEST(Args, ATypoGetsTheNearestListedFlag) {
  EXPECT_NE(usage_error({"--ulysess-degree", "2"}, reads_all).find("did you mean --ulysses-degree?"),
            std::string::npos);
  EXPECT_NE(usage_error({"--nodse", "2"}, reads_all).find("did you mean --nodes?"), std::string::npos);
  EXPECT_NE(usage_error({"--ring_degre=2"}, reads_all).find("did you mean --ring-degree?"),
            std::string::npos);
  // An abbreviation of exactly one flag.
  EXPECT_NE(usage_error({"--seq", "8"}, reads_all).find("did you mean --seq-len?"), std::string::npos);
  // Nothing near: no guess, the pointer to --help.
  const auto far = usage_error({"--completely-different", "1"}, reads_all);
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
  EXPECT_NE(far.find("`uspdit cmd --help` lists the flags"), std::string::npos) << far;
}

TEST(Args, AListedFlagThisPathDoesNotReadIsNamedAsSuch) {
  const auto msg = usage_error({"--verify"}, [](Args& args) { (void)args.get_int("seq-len", 1); });
  EXPECT_NE(msg.find("unknown flag --verify"), std::string::npos) << msg;
  EXPECT_NE(msg.find("belongs to another model or mode"), std::string::npos) << msg;
}

TEST(Args, AFlagGivenTwiceOrUnderTwoNamesIsRefused) {
  EXPECT_NE(usage_error({"--nodes", "2", "--nodes", "3"}, reads_all).find("--nodes is given twice"),
            std::string::npos);
  EXPECT_NE(usage_error({"--seq_len=2", "--seq-len", "3"}, reads_all).find("--seq-len is given twice"),
            std::string::npos);
  EXPECT_NE(usage_error({"--ulysses-degree", "2", "--ulysses_size", "2"}, reads_all)
                .find("--ulysses-degree and --ulysses-size are two names of one setting"),
            std::string::npos);
  EXPECT_EQ(usage_error({"--ulysses_size", "2", "--verify"}, reads_all), "(accepted)");
}

TEST(Args, ReadingAFlagTheHelpDoesNotListIsAProgrammingError) {
  Args args("cmd", {});
  args.list({"nodes"});
  (void)args.get_int("nodes", 1);
  (void)args.get_int("secret", 1);
  try {
    args.finish();
    FAIL() << "finish() accepted a flag missing from the help table";
  } catch (const UsageError&) {
    FAIL() << "a missing help line is not the user's error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("reads --secret but its --help does not list it"), std::string::npos)
        << e.what();
  }
  // Without a table (unit tests building Args by hand), nothing is required.
  Args bare("cmd", {});
  (void)bare.get_int("secret", 1);
  EXPECT_NO_THROW(bare.finish());
}

}  // namespace
}  // namespace uspdit::core
