// GoogleTest main for multi-rank tests: MPI starts once for all cases; rank 0 prints the usual
// report, other ranks print only their failures (prefixed), and every rank's exit code is its
// own result, so mpirun fails if any rank failed.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <cstring>

#include "core/log.h"

namespace {

class FailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (result.failed()) {
      std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, result.file_name() ? result.file_name() : "?",
                   result.line_number(), result.summary());
    }
  }

 private:
  int rank_;
};

// An exception escaping a test body on one rank leaves the other ranks waiting in the next
// collective forever: abort the whole job instead, so the failure is reported at once.
class AbortOnException : public testing::EmptyTestEventListener {
 public:
  explicit AbortOnException(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (result.failed() && std::strstr(result.summary(), "exception") != nullptr) {
      std::fprintf(stderr, "[rank %d] aborting the job: an exception escaped a multi-rank test\n", rank_);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  uspdit::log::set_rank(rank, size);
  at::set_num_threads(1);
  testing::InitGoogleTest(&argc, argv);
  if (rank != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  testing::UnitTest::GetInstance()->listeners().Append(new AbortOnException(rank));
  int result = RUN_ALL_TESTS();
  MPI_Finalize();
  return result;
}
