// The loopback /metrics server over real sockets: it answers GET /metrics with the published
// body, 404s anything else, refuses non-loopback addresses, and no client can hold it: a client
// trickling its request one byte at a time neither delays other scrapes nor the server's stop, and
// a burst of connections gets complete answers or clean refusals.
#include "scrubber/metrics/metrics_http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "snapshot/base/error.hpp"
#include "snapshot/base/unique_fd.hpp"

namespace singleton {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A connected client socket with receive and send timeouts, so that no test can hang on it.
UniqueFd connect_to(int port) {
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const timeval timeout{10, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return UniqueFd();
  }
  return client;
}

// Everything the server sends until it closes; nullopt when the read failed (reset, timeout).
std::optional<std::string> read_to_end(int fd) {
  std::string response;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return response;
    if (n < 0) return std::nullopt;
    response.append(buf, static_cast<size_t>(n));
  }
}

// Connects, sends `request`, returns the whole response.
std::string fetch(int port, const std::string& request) {
  UniqueFd client = connect_to(port);
  EXPECT_TRUE(client.valid());
  EXPECT_EQ(::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  return read_to_end(client.get()).value_or("(read failed)");
}

std::string scrape(int port) { return fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); }

// A complete 200 response whose Content-Length matches its body, and the body is `body`.
bool is_complete_answer(const std::string& response, const std::string& body) {
  const auto end_of_head = response.find("\r\n\r\n");
  return response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 && end_of_head != std::string::npos &&
         response.find("Content-Length: " + std::to_string(body.size()) + "\r\n") < end_of_head &&
         response.substr(end_of_head + 4) == body;
}

// Connects and sends a scrape's request one byte every 200 ms, and again once cut off, until
// destroyed: the slowloris the old single-threaded server waited for.
class SlowClient {
 public:
  explicit SlowClient(int port)
      : thread_([this, port] {
          const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
          while (!stop_) {
            UniqueFd client = connect_to(port);
            if (!client.valid()) {  // the server is gone
              std::this_thread::sleep_for(std::chrono::milliseconds(50));
              continue;
            }
            const auto connected = Clock::now();
            for (size_t i = 0; !stop_; i = (i + 1) % request.size()) {
              if (::send(client.get(), &request[i], 1, MSG_NOSIGNAL) != 1) break;
              std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
            if (!stop_) {
              cut_after_ = seconds_since(connected);
              ++cut_;
            }
          }
        }) {}
  ~SlowClient() {
    stop_ = true;
    thread_.join();
  }
  int times_cut() const { return cut_; }
  double cut_after_seconds() const { return cut_after_; }

 private:
  std::atomic<bool> stop_ = false;
  std::atomic<int> cut_ = 0;
  std::atomic<double> cut_after_ = 0;
  std::thread thread_;
};

TEST(MetricsHttpServer, ServesThePublishedBodyOnGetMetrics) {
  MetricsHttpServer server("127.0.0.1:0");
  ASSERT_GT(server.port(), 0);
  server.publish("singleton_up 1\n");
  const std::string response = scrape(server.port());
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(response.find("Content-Length: 15\r\n"), std::string::npos);
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.substr(response.size() - 15), "singleton_up 1\n");

  server.publish("singleton_up 2\n");
  EXPECT_TRUE(is_complete_answer(scrape(server.port()), "singleton_up 2\n"));
  EXPECT_TRUE(is_complete_answer(fetch(server.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
                                 "singleton_up 2\n"));
}

TEST(MetricsHttpServer, OtherPathsAreNotFound) {
  MetricsHttpServer server("localhost:0");
  const std::string response = fetch(server.port(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 404", 0), 0u) << response;
  EXPECT_NE(response.find("not found: try /metrics"), std::string::npos) << response;
}

// The usage error of a bad --metrics-listen value, or "" when it is accepted.
std::string listen_error(const std::string& listen) {
  try {
    check_loopback_listen_address(listen);
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << listen;
    return e.what();
  }
}

TEST(MetricsHttpServer, NonLoopbackAddressesAndBadPortsAreUsageErrors) {
  for (const char* bad : {"0.0.0.0:9477", "10.0.0.1:9477", "[::]:9477", "127.0.0.1", "x:1"}) {
    EXPECT_NE(listen_error(bad).find("expected a loopback address"), std::string::npos) << bad;
  }
  for (const char* bad : {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:port", "127.0.0.1:-1",
                          "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1: 80", "[::1]:1e3"}) {
    EXPECT_NE(listen_error(bad).find("PORT from 1 to 65535, or 0 for any free one"),
              std::string::npos)
        << bad;
  }
  for (const char* good : {"[::1]:9477", "127.0.0.2:65535", "localhost:1", "localhost:0"}) {
    EXPECT_EQ(listen_error(good), "") << good;
  }
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

TEST(MetricsHttpServer, ServesOnIpv6Loopback) {
  MetricsHttpServer server("[::1]:0");
  server.publish("a 1\n");
  UniqueFd client(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(static_cast<uint16_t>(server.port()));
  address.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::send(client.get(), request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
  EXPECT_TRUE(is_complete_answer(read_to_end(client.get()).value_or(""), "a 1\n"));
}

TEST(MetricsHttpServer, ASlowClientDelaysNoScrapeAndIsCutOff) {
  MetricsHttpServer server("127.0.0.1:0");
  server.publish("singleton_up 1\n");
  SlowClient slow(server.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // it is well into its request
  double worst = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    const std::string response = scrape(server.port());
    worst = std::max(worst, seconds_since(start));
    EXPECT_TRUE(is_complete_answer(response, "singleton_up 1\n")) << response;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::printf("slowest of 5 scrapes beside a slow client: %.4f s\n", worst);
  RecordProperty("slow_client_scrape_seconds", std::to_string(worst));
  EXPECT_LT(worst, 1.0);
  // The exchange deadline (2 s) ends the slow client's connection, not its own patience.
  const auto start = Clock::now();
  while (slow.times_cut() == 0 && seconds_since(start) < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(slow.times_cut(), 1) << "the slow client was never cut off";
  EXPECT_LT(slow.cut_after_seconds(), 3.0);
}

TEST(MetricsHttpServer, HundredParallelConnectionsAreAnsweredOrRefusedCleanly) {
  MetricsHttpServer server("127.0.0.1:0");
  const std::string body(32 * 1024, 'x');  // a large scrape: several writes each
  server.publish(body);
  constexpr int kClients = 100;
  std::atomic<int> answered = 0, refused = 0, broken = 0;
  std::atomic<int> ready = 0;
  std::atomic<bool> go = false;
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      ++ready;
      while (!go) std::this_thread::yield();
      UniqueFd client = connect_to(server.port());
      const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
      if (!client.valid() || ::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
                                 static_cast<ssize_t>(request.size())) {
        ++refused;
        return;
      }
      const std::optional<std::string> response = read_to_end(client.get());
      if (response && is_complete_answer(*response, body)) {
        ++answered;
      } else if (!response || response->empty()) {
        ++refused;  // closed or reset without a byte: a refusal, not a broken answer
      } else {
        ++broken;
      }
    });
  }
  while (ready < kClients) std::this_thread::yield();
  go = true;
  for (std::thread& client : clients) client.join();
  const double took = seconds_since(start);
  std::printf("%d parallel connections: %d answered, %d refused, %d broken in %.3f s\n", kClients,
              answered.load(), refused.load(), broken.load(), took);
  RecordProperty("parallel_answered", answered.load());
  EXPECT_EQ(broken, 0);
  EXPECT_EQ(answered + refused, kClients);
  EXPECT_GE(answered, 1);
  // Bounded, not fast (speed is for benchmarks; this also runs in TCG guests): every connection
  // is answered or closed within its 2 s deadline, at most 64 wait for 4 workers, so all are
  // done in 16 x 2 s plus one deadline; a hang or an unbounded queue would exceed it.
  EXPECT_LT(took, 36.0);
  // Still serving afterwards.
  EXPECT_TRUE(is_complete_answer(scrape(server.port()), body));
}

TEST(MetricsHttpServer, StopsPromptlyWithASlowClientConnected) {
  auto server = std::make_unique<MetricsHttpServer>("127.0.0.1:0");
  SlowClient slow(server->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto start = Clock::now();
  server.reset();
  const double took = seconds_since(start);
  std::printf("stopped with a slow client connected in %.4f s\n", took);
  // Well below the 2 s exchange deadline: the slow client's exchange is cut, not waited for.
  EXPECT_LT(took, 0.5);
}

TEST(MetricsHttpServer, AnOversizedRequestIsCutOffAndTheServerGoesOn) {
  MetricsHttpServer server("127.0.0.1:0");
  server.publish("a 1\n");
  const auto start = Clock::now();
  UniqueFd client = connect_to(server.port());
  ASSERT_TRUE(client.valid());
  // The server stops reading at its 16 KiB cap: the send may fail (reset) part way.
  const std::string request = "GET /metrics?" + std::string(64 * 1024, 'q') + " HTTP/1.1\r\n\r\n";
  ::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL);
  const std::string response = read_to_end(client.get()).value_or("");
  EXPECT_EQ(response.find("200 OK"), std::string::npos) << response.substr(0, 200);
  EXPECT_LT(seconds_since(start), 3.0);
  EXPECT_TRUE(is_complete_answer(scrape(server.port()), "a 1\n"));
}

}  // namespace
}  // namespace singleton
