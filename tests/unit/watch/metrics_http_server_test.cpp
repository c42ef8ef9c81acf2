// The loopback /metrics server over real sockets: it answers GET /metrics with the body, 404s
// anything else, and refuses non-loopback addresses.
#include "scrubber/metrics/metrics_http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "snapshot/error.hpp"

namespace singleton {
namespace {

// Connects, sends `request`, lets the server answer, returns the whole response.
std::string fetch(MetricsHttpServer& server, const std::string& request) {
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server.port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::send(client.get(), request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
  server.serve_ready([] { return std::string("singleton_up 1\n"); });
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(client.get(), buf, sizeof buf, 0)) > 0) response.append(buf, n);
  return response;
}

TEST(MetricsHttpServer, ServesTheBodyOnGetMetrics) {
  MetricsHttpServer server("127.0.0.1:0");
  ASSERT_GT(server.port(), 0);
  const std::string response = fetch(server, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(response.find("Content-Length: 15\r\n"), std::string::npos);
  EXPECT_EQ(response.substr(response.size() - 15), "singleton_up 1\n");
}

TEST(MetricsHttpServer, OtherPathsAreNotFound) {
  MetricsHttpServer server("localhost:0");
  const std::string response = fetch(server, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.0 404", 0), 0u) << response;
}

TEST(MetricsHttpServer, NothingWaitingReturnsAtOnce) {
  MetricsHttpServer server("127.0.0.1:0");
  bool called = false;
  server.serve_ready([&] {
    called = true;
    return std::string();
  });
  EXPECT_FALSE(called);
}

TEST(MetricsHttpServer, NonLoopbackAddressesAreUsageErrors) {
  for (const char* bad : {"0.0.0.0:9477", "10.0.0.1:9477", "[::]:9477", "127.0.0.1", "x:1",
                          "127.0.0.1:99999", "127.0.0.1:port"}) {
    try {
      check_loopback_listen_address(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << bad;
    }
  }
  check_loopback_listen_address("[::1]:9477");
  check_loopback_listen_address("127.0.0.2:9477");
}

TEST(MetricsHttpServer, PortInUseIsAnEnvironmentError) {
  MetricsHttpServer first("127.0.0.1:0");
  try {
    MetricsHttpServer second("127.0.0.1:" + std::to_string(first.port()));
    FAIL() << "bound twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kEnvironment);
    EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos);
  }
}

}  // namespace
}  // namespace singleton
