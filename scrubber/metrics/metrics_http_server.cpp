#include "scrubber/metrics/metrics_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "snapshot/error.hpp"

namespace singleton {
namespace {

struct ListenAddress {
  sockaddr_storage address{};
  socklen_t length = 0;
};

ListenAddress parse_listen(const std::string& listen) {
  const std::string usage = "--metrics-listen " + listen +
                            ": expected a loopback address and port (127.0.0.1:9477, "
                            "[::1]:9477, localhost:9477)";
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    throw Error(ExitCode::kUsage, usage);
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5) {
    throw Error(ExitCode::kUsage, usage);
  }
  const int port = std::stoi(port_text);
  if (port > 65535) throw Error(ExitCode::kUsage, usage);
  if (host == "localhost") host = "127.0.0.1";
  ListenAddress out;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.address);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6->sin6_addr) != 1 ||
        !IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
      throw Error(ExitCode::kUsage, usage);
    }
    out.length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.address);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) != 1 ||
        (ntohl(v4->sin_addr.s_addr) >> 24) != 127) {
      throw Error(ExitCode::kUsage, usage);
    }
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away: its problem, not the loop's
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

void check_loopback_listen_address(const std::string& listen) { parse_listen(listen); }

MetricsHttpServer::MetricsHttpServer(const std::string& listen) {
  const ListenAddress address = parse_listen(listen);
  listener_ =
      UniqueFd(::socket(address.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) throw_errno("socket for --metrics-listen " + listen);
  const int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address.address),
             address.length) != 0 ||
      ::listen(listener_.get(), 16) != 0) {
    throw Error(ExitCode::kEnvironment,
                "--metrics-listen " + listen + ": cannot listen: " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void MetricsHttpServer::serve_ready(const std::function<std::string()>& body) {
  for (;;) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client.valid()) return;  // EAGAIN: nobody else waiting
    std::string request;
    char buf[2048];
    while (request.find("\r\n\r\n") == std::string::npos &&
           request.find("\n\n") == std::string::npos && request.size() < 8192) {
      pollfd p{client.get(), POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) break;
      const ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    const bool wanted =
        request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0;
    const std::string content = wanted ? body() : "not found: try /metrics\n";
    const std::string head = std::string(wanted ? "HTTP/1.0 200 OK" : "HTTP/1.0 404 Not Found") +
                             "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"
                             "\r\nContent-Length: " +
                             std::to_string(content.size()) + "\r\nConnection: close\r\n\r\n";
    // A response of a few KiB fits the socket buffer: a non-blocking send does not stall.
    send_all(client.get(), head + content);
  }
}

}  // namespace singleton
