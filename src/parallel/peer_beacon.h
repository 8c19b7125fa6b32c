// The watchdog's side channel: small UDP datagrams between the ranks' watchdog threads, outside
// the data communicator. It works while that communicator is blocked (MPI or NCCL), needs no MPI
// progress and no thread support from MPI, and a rank that is stopped or dead simply falls
// silent — which is itself the news. Datagrams can be lost; senders repeat every interval.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace uspdit::parallel {

class PeerBeacon {
 public:
  using Address = std::array<uint8_t, 8>;  // IPv4 (4 bytes), port (2), zero (2)

  // Opens a UDP socket on an ephemeral port of every interface. ok() is false when the host
  // allows none; the watchdog then still fires on its own clock but cannot name peers.
  PeerBeacon();
  ~PeerBeacon();
  PeerBeacon(const PeerBeacon&) = delete;
  PeerBeacon& operator=(const PeerBeacon&) = delete;

  bool ok() const { return fd_ >= 0; }
  // How peers reach this socket: the first non-loopback IPv4 address of an interface that is up
  // (127.0.0.1 on a host without one), and the port.
  Address address() const;
  // Every rank's address, in rank order (this rank's is skipped when sending).
  void set_peers(const std::vector<Address>& peers, int self);

  void send_to_all(const void* data, size_t bytes) const;
  // One datagram, waiting up to timeout_ms; returns its size, or 0 on timeout.
  size_t receive(void* buffer, size_t capacity, int timeout_ms) const;

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<sockaddr_in> peers_;
};

}  // namespace uspdit::parallel
