#include "scrubber/metrics/deadline_stream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace singleton {
namespace {

void describe(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    port = ntohs(v6.sin6_port);
  } else if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    port = ntohs(v4.sin_port);
  }
  ip = text;
}

}  // namespace

DeadlineStream::DeadlineStream(int fd, const Limits& limits)
    : fd_(fd), limits_(limits), deadline_(std::chrono::steady_clock::now() + limits.deadline) {}

bool DeadlineStream::wait_for(short events) const {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
  const auto wait = std::min(left, limits_.io_timeout);
  if (wait.count() <= 0) return false;
  pollfd p{fd_, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(wait.count()));
  } while (n < 0 && errno == EINTR);
  // POLLHUP/POLLERR count as ready: the read or write that follows reports them.
  return n > 0;
}

bool DeadlineStream::is_readable() const { return consumed_ < buffered_ || wait_for(POLLIN); }

bool DeadlineStream::is_writable() const { return wait_for(POLLOUT); }

ssize_t DeadlineStream::read(char* ptr, size_t size) {
  if (consumed_ == buffered_) {
    if (received_ >= limits_.request_bytes || !wait_for(POLLIN)) return -1;
    const size_t room = std::min(sizeof buffer_, limits_.request_bytes - received_);
    ssize_t n;
    do {
      n = ::recv(fd_, buffer_, room, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;  // 0: the client closed (or the server is stopping)
    received_ += static_cast<size_t>(n);
    buffered_ = static_cast<size_t>(n);
    consumed_ = 0;
  }
  const size_t n = std::min(size, buffered_ - consumed_);
  std::memcpy(ptr, buffer_ + consumed_, n);
  consumed_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t DeadlineStream::write(const char* ptr, size_t size) {
  if (!wait_for(POLLOUT)) return -1;
  ssize_t n;
  do {
    n = ::send(fd_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;  // httplib writes again
  return n;
}

void DeadlineStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  port = 0;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    describe(address, ip, port);
  }
}

void DeadlineStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  port = 0;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    describe(address, ip, port);
  }
}

}  // namespace singleton
