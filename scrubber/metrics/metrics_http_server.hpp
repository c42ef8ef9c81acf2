// GET /metrics on a loopback port, served from the watch loop's own thread: the loop polls
// fd() with its other events and calls serve_ready() when it is readable. Loopback only: the
// metrics name images and VMs, which is nobody else's business.
#pragma once

#include <functional>
#include <string>

#include "snapshot/unique_fd.hpp"

namespace singleton {

class MetricsHttpServer {
 public:
  // `listen`: "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" (any 127.0.0.0/8 address).
  // Throws Error(kUsage) for other addresses or a malformed one, Error(kEnvironment) when the
  // port cannot be bound (naming it).
  explicit MetricsHttpServer(const std::string& listen);

  int fd() const { return listener_.get(); }
  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Answers the connections waiting: `GET /metrics` gets `body()` as text/plain (version
  // 0.0.4), anything else 404. Never blocks for long: a client that sends nothing within
  // 200 ms is dropped.
  void serve_ready(const std::function<std::string()>& body);

 private:
  UniqueFd listener_;
  int port_ = 0;
};

// Checks a --metrics-listen value without binding it (the config parser's check).
void check_loopback_listen_address(const std::string& listen);

}  // namespace singleton
