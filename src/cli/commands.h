// The subcommands of the uspdit binary. Each parses its own flags and returns an exit code;
// a UsageError escaping one becomes exit code 2 with its message.
#pragma once

#include "cli/args.h"

namespace uspdit::cli {

int run_bench_attn(Args& args);
int run_plan(Args& args);
int run_check(Args& args);
int run_bench_dit(Args& args);
int run_forward(Args& args);
int run_generate(Args& args);

}  // namespace uspdit::cli
