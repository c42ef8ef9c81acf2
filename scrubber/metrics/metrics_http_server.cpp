#include "scrubber/metrics/metrics_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "scrubber/config/numeric_option.hpp"
#include "scrubber/metrics/bounded_http_server.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

// A scrape is one small request and a response of some KiB: a few workers are plenty, and each
// exchange ends within 2 s however slowly the client sends or reads.
constexpr BoundedHttpServer::Limits kLimits{
    .workers = 4,
    .queued = 64,
    .backlog = 64,
    .exchange = {.deadline = std::chrono::seconds(2),
                 .io_timeout = std::chrono::seconds(1),
                 .request_bytes = 16 * 1024},
};

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

struct ListenAddress {
  std::string host;  // numeric, without brackets
  int family = AF_INET;
  int port = 0;
};

ListenAddress parse_listen(const std::string& listen) {
  const std::string usage = "--metrics-listen " + listen +
                            ": expected a loopback address and port (127.0.0.1:9477, "
                            "[::1]:9477, localhost:9477)";
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    throw Error(ExitCode::kUsage, usage);
  }
  ListenAddress out;
  out.host = listen.substr(0, colon);
  // 0 stays allowed: "any free port", named in the log (documented; the integration tests use it).
  try {
    out.port = static_cast<int>(
        parse_count_option("metrics-listen", listen.substr(colon + 1), {0, 65535, ""}));
  } catch (const Error&) {
    throw Error(ExitCode::kUsage, usage + "; PORT from 1 to 65535, or 0 for any free one");
  }
  if (out.host == "localhost") out.host = "127.0.0.1";
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
    out.family = AF_INET6;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, out.host.c_str(), &v6) != 1 || !IN6_IS_ADDR_LOOPBACK(&v6)) {
      throw Error(ExitCode::kUsage, usage);
    }
  } else {
    in_addr v4{};
    if (::inet_pton(AF_INET, out.host.c_str(), &v4) != 1 || (ntohl(v4.s_addr) >> 24) != 127) {
      throw Error(ExitCode::kUsage, usage);
    }
  }
  return out;
}

}  // namespace

void check_loopback_listen_address(const std::string& listen) { parse_listen(listen); }

MetricsHttpServer::MetricsHttpServer(const std::string& listen) {
  const ListenAddress address = parse_listen(listen);
  server_ = std::make_unique<BoundedHttpServer>(kLimits);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(body(), kContentType);
  });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.status == 404) {
      response.set_content("not found: try /metrics\n", "text/plain; charset=utf-8");
    }
  });
  port_ = server_->bind(address.host, address.family, address.port);
  if (port_ < 0) {
    throw Error(ExitCode::kEnvironment,
                "--metrics-listen " + listen + ": cannot listen: " + std::strerror(errno));
  }
  server_->start();
}

MetricsHttpServer::~MetricsHttpServer() = default;

void MetricsHttpServer::publish(std::string body) {
  const std::lock_guard lock(mutex_);
  body_ = std::move(body);
}

std::string MetricsHttpServer::body() const {
  const std::lock_guard lock(mutex_);
  return body_;
}

}  // namespace singleton
