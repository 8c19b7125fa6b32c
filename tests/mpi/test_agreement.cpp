// A step that fails on one rank only makes every rank fail with that rank's message (no hang).
#include <gtest/gtest.h>
#include <mpi.h>

#include "core/error.h"
#include "parallel/agreement.h"
#include "parallel/mpi_communicator.h"

namespace uspdit::parallel {
namespace {

TEST(Agreement, OneFailingRankFailsEveryRankWithItsMessage) {
  MpiCommunicator world(MPI_COMM_WORLD, false);
  const int failing = world.size() - 1;
  try {
    run_agreed(world, [&] {
      if (world.rank() == failing) throw UsageError("file missing on this node");
    });
    FAIL() << "expected every rank to throw";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("file missing on this node"), std::string::npos) << msg;
    if (world.rank() != failing) {
      EXPECT_NE(msg.find("rank " + std::to_string(failing)), std::string::npos) << msg;
    }
  }
}

TEST(Agreement, RuntimeErrorsStayRuntimeErrorsEverywhere) {
  MpiCommunicator world(MPI_COMM_WORLD, false);
  EXPECT_THROW(run_agreed(world, [&] {
                 if (world.rank() == 0) throw std::runtime_error("bug");
               }),
               std::runtime_error);
}

TEST(Agreement, SuccessEverywhereReturns) {
  MpiCommunicator world(MPI_COMM_WORLD, false);
  int ran = 0;
  EXPECT_NO_THROW(run_agreed(world, [&] { ++ran; }));
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace uspdit::parallel
