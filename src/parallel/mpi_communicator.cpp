#include "parallel/mpi_communicator.h"

#include <climits>
#include <future>
#include <stdexcept>
#include <string>

namespace uspdit::parallel {
namespace {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw std::runtime_error(std::string("MPI error in ") + what + ": " + std::string(text, len));
}

MPI_Datatype mpi_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kBFloat16:
    case at::kHalf: return MPI_UINT16_T;  // moved as bits, never reduced
    case at::kByte:
    case at::kChar:
    case at::kBool: return MPI_UINT8_T;
    default: throw std::invalid_argument(std::string("MPI communicator: unsupported dtype ") +
                                         c10::toString(type));
  }
}

int to_int(int64_t value, const char* what) {
  if (value < 0 || value > INT_MAX) {
    throw std::invalid_argument(std::string("MPI communicator: ") + what + " " +
                                std::to_string(value) + " exceeds the MPI int range");
  }
  return static_cast<int>(value);
}

void check_tensor(const at::Tensor& t, const char* what) {
  if (!t.is_contiguous()) throw std::invalid_argument(std::string(what) + " must be contiguous");
  if (!t.device().is_cpu()) throw std::invalid_argument(std::string(what) + " must be a CPU tensor");
}

std::vector<int> counts_and_displacements(std::span<const int64_t> counts, std::vector<int>& displ) {
  std::vector<int> out(counts.size());
  displ.assign(counts.size(), 0);
  int64_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    out[i] = to_int(counts[i], "count");
    displ[i] = to_int(offset, "displacement");
    offset += counts[i];
  }
  return out;
}

class ThreadedSendRecv final : public PendingOp {
 public:
  explicit ThreadedSendRecv(std::future<void> done) : done_(std::move(done)) {}
  ~ThreadedSendRecv() override {
    if (done_.valid()) done_.wait();
  }
  void wait() override {
    if (done_.valid()) done_.get();
  }

 private:
  std::future<void> done_;
};

class RequestPair final : public PendingOp {
 public:
  RequestPair(MPI_Request send, MPI_Request recv) : requests_{send, recv} {}
  ~RequestPair() override {
    if (!done_) MPI_Waitall(2, requests_, MPI_STATUSES_IGNORE);
  }
  void wait() override {
    if (done_) return;
    done_ = true;
    check_mpi(MPI_Waitall(2, requests_, MPI_STATUSES_IGNORE), "MPI_Waitall");
  }

 private:
  MPI_Request requests_[2];
  bool done_ = false;
};

}  // namespace

bool mpi_thread_multiple() {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided == MPI_THREAD_MULTIPLE;
}

int64_t elements_to_others(std::span<const int64_t> counts, int self) {
  int64_t total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (static_cast<int>(i) != self) total += counts[i];
  }
  return total;
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, bool owned, std::shared_ptr<CommStats> stats)
    : Communicator(stats ? std::move(stats) : std::make_shared<CommStats>()), comm_(comm), owned_(owned) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiCommunicator::~MpiCommunicator() {
  worker_.reset();  // joins: no transfer may outlive the communicator it uses
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owned_ && !finalized) MPI_Comm_free(&comm_);
}

bool MpiCommunicator::accepts(const at::Tensor& tensor) const { return tensor.device().is_cpu(); }

void MpiCommunicator::all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts,
                                   at::Tensor& recv, std::span<const int64_t> recv_counts) {
  check_tensor(send, "all_to_all_v send");
  check_tensor(recv, "all_to_all_v recv");
  if (static_cast<int>(send_counts.size()) != size_ || static_cast<int>(recv_counts.size()) != size_) {
    throw std::invalid_argument("all_to_all_v: counts must have one entry per rank");
  }
  std::vector<int> send_displ, recv_displ;
  auto sc = counts_and_displacements(send_counts, send_displ);
  auto rc = counts_and_displacements(recv_counts, recv_displ);
  MPI_Datatype type = mpi_type(send.scalar_type());
  check_mpi(MPI_Alltoallv(send.data_ptr(), sc.data(), send_displ.data(), type, recv.data_ptr(),
                          rc.data(), recv_displ.data(), type, comm_),
            "MPI_Alltoallv");
  count_sent(elements_to_others(send_counts, rank_) * static_cast<int64_t>(send.element_size()));
}

void MpiCommunicator::all_gather_v(const at::Tensor& send, at::Tensor& recv,
                                   std::span<const int64_t> counts) {
  check_tensor(send, "all_gather_v send");
  check_tensor(recv, "all_gather_v recv");
  std::vector<int> displ;
  auto rc = counts_and_displacements(counts, displ);
  MPI_Datatype type = mpi_type(send.scalar_type());
  check_mpi(MPI_Allgatherv(send.data_ptr(), to_int(send.numel(), "count"), type, recv.data_ptr(),
                           rc.data(), displ.data(), type, comm_),
            "MPI_Allgatherv");
  count_sent(send.numel() * static_cast<int64_t>(send.element_size()) * (size_ - 1));
}

std::unique_ptr<PendingOp> MpiCommunicator::send_recv_async(const at::Tensor& send, int dst,
                                                            at::Tensor& recv, int src) {
  check_tensor(send, "send_recv send");
  check_tensor(recv, "send_recv recv");
  MPI_Datatype type = mpi_type(send.scalar_type());
  int send_count = to_int(send.numel(), "count");
  int recv_count = to_int(recv.numel(), "count");
  void* send_ptr = send.data_ptr();
  void* recv_ptr = recv.data_ptr();
  if (dst != rank_) count_sent(send.numel() * static_cast<int64_t>(send.element_size()));
  constexpr int kTag = 7;
  if (mpi_thread_multiple()) {
    // A helper thread drives the transfer to completion while the caller computes: Open MPI's
    // shared-memory and TCP transports make progress only inside MPI calls.
    MPI_Comm comm = comm_;
    if (!worker_) worker_ = std::make_unique<WorkerThread>();
    auto done = worker_->submit([=] {
      check_mpi(MPI_Sendrecv(send_ptr, send_count, type, dst, kTag, recv_ptr, recv_count, type, src,
                             kTag, comm, MPI_STATUS_IGNORE),
                "MPI_Sendrecv");
    });
    return std::make_unique<ThreadedSendRecv>(std::move(done));
  }
  MPI_Request reqs[2];
  check_mpi(MPI_Irecv(recv_ptr, recv_count, type, src, kTag, comm_, &reqs[1]), "MPI_Irecv");
  check_mpi(MPI_Isend(send_ptr, send_count, type, dst, kTag, comm_, &reqs[0]), "MPI_Isend");
  return std::make_unique<RequestPair>(reqs[0], reqs[1]);
}

void MpiCommunicator::broadcast(at::Tensor& tensor, int root) {
  check_tensor(tensor, "broadcast tensor");
  check_mpi(MPI_Bcast(tensor.data_ptr(), to_int(tensor.numel(), "count"),
                      mpi_type(tensor.scalar_type()), root, comm_),
            "MPI_Bcast");
  if (rank_ == root) count_sent(tensor.numel() * static_cast<int64_t>(tensor.element_size()) * (size_ - 1));
}

void MpiCommunicator::all_reduce_max(at::Tensor& tensor) {
  check_tensor(tensor, "all_reduce tensor");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), to_int(tensor.numel(), "count"),
                          mpi_type(tensor.scalar_type()), MPI_MAX, comm_),
            "MPI_Allreduce");
}

void MpiCommunicator::all_reduce_sum(at::Tensor& tensor) {
  check_tensor(tensor, "all_reduce tensor");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), to_int(tensor.numel(), "count"),
                          mpi_type(tensor.scalar_type()), MPI_SUM, comm_),
            "MPI_Allreduce");
}

void MpiCommunicator::barrier() { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

std::unique_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  MPI_Comm sub = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split");
  return std::make_unique<MpiCommunicator>(sub, true, shared_stats());
}

}  // namespace uspdit::parallel
