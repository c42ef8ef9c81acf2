// GET /metrics on a loopback port, served by threads of its own (cpp-httplib, bounded: see
// bounded_http_server.hpp), so that no client can stall the watch loop: the loop publishes the
// latest text with publish() and scrapes get a copy of it. Loopback only: the metrics name images
// and VMs, which is nobody else's business.
#pragma once

#include <memory>
#include <mutex>
#include <string>

namespace singleton {

class BoundedHttpServer;

class MetricsHttpServer {
 public:
  // `listen`: "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" (any 127.0.0.0/8 address;
  // PORT 0: any free one). Throws Error(kUsage) for other addresses or a malformed one,
  // Error(kEnvironment) when the port cannot be bound (naming it). Serves from here on.
  explicit MetricsHttpServer(const std::string& listen);
  // Stops at once: exchanges under way are cut, not waited for.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // The body of `GET /metrics` from now on (text/plain, version 0.0.4); anything else is a 404.
  // Until the first call the body is empty. Thread-safe.
  void publish(std::string body);

 private:
  std::string body() const;

  mutable std::mutex mutex_;
  std::string body_;
  int port_ = 0;
  std::unique_ptr<BoundedHttpServer> server_;  // last: stopped before the body goes away
};

// Checks a --metrics-listen value without binding it (the option's and config file's check).
void check_loopback_listen_address(const std::string& listen);

}  // namespace singleton
