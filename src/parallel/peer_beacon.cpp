#include "parallel/peer_beacon.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace uspdit::parallel {
namespace {

in_addr reachable_ipv4() {
  in_addr out{};
  out.s_addr = htonl(INADDR_LOOPBACK);
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    out = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    break;
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

PeerBeacon::PeerBeacon() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return;
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  any.sin_port = 0;
  socklen_t len = sizeof any;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&any), &len) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  port_ = ntohs(any.sin_port);
}

PeerBeacon::~PeerBeacon() {
  if (fd_ >= 0) ::close(fd_);
}

PeerBeacon::Address PeerBeacon::address() const {
  Address out{};
  if (!ok()) return out;
  const in_addr ip = reachable_ipv4();
  std::memcpy(out.data(), &ip.s_addr, 4);
  const uint16_t port = htons(port_);
  std::memcpy(out.data() + 4, &port, 2);
  return out;
}

void PeerBeacon::set_peers(const std::vector<Address>& peers, int self) {
  peers_.clear();
  for (size_t r = 0; r < peers.size(); ++r) {
    uint16_t port = 0;
    std::memcpy(&port, peers[r].data() + 4, 2);
    if (static_cast<int>(r) == self || port == 0) continue;  // a rank without a socket
    sockaddr_in a{};
    a.sin_family = AF_INET;
    std::memcpy(&a.sin_addr.s_addr, peers[r].data(), 4);
    a.sin_port = port;
    peers_.push_back(a);
  }
}

void PeerBeacon::send_to_all(const void* data, size_t bytes) const {
  if (!ok()) return;
  for (const auto& peer : peers_) {
    // Non-blocking and unchecked: a full buffer or an unreachable peer loses one beat.
    ::sendto(fd_, data, bytes, 0, reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
  }
}

size_t PeerBeacon::receive(void* buffer, size_t capacity, int timeout_ms) const {
  if (!ok()) {
    ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
    return 0;
  }
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return 0;
  const ssize_t n = ::recv(fd_, buffer, capacity, 0);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace uspdit::parallel
