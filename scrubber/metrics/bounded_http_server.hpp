// cpp-httplib's Server, bounded so that no client can hold it: a fixed pool of workers, a short
// queue behind them (a connection beyond it is closed unanswered), one request per connection
// (no keep-alive), every exchange within a deadline and a request-size cap (DeadlineStream), and
// a stop that does not wait for slow clients (their sockets are shut down). It serves on a thread
// of its own from start() until stop_serving() or destruction.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "scrubber/metrics/deadline_stream.hpp"

namespace singleton {

class BoundedHttpServer : public httplib::Server {
 public:
  struct Limits {
    size_t workers;  // threads answering requests
    size_t queued;   // connections accepted and waiting for a worker, at most
    int backlog;     // connections the kernel holds before they are accepted
    DeadlineStream::Limits exchange;
  };

  explicit BoundedHttpServer(const Limits& limits);
  ~BoundedHttpServer() override;
  BoundedHttpServer(const BoundedHttpServer&) = delete;
  BoundedHttpServer& operator=(const BoundedHttpServer&) = delete;

  // Binds `host` (a numeric address) and `port` (0: any free one); returns the port bound, or -1
  // with errno set.
  int bind(const std::string& host, int family, int port);
  // Serves on a thread of its own (connections made before it runs wait in the backlog).
  void start();
  // Stops accepting, cuts the exchanges under way, waits for the threads. Idempotent.
  void stop_serving();

 private:
  class WorkerPool;
  // httplib's per-connection hook (private virtual: overriding it is what its SSLServer does).
  bool process_and_close_socket(socket_t sock) override;
  // Records the connection so that stop_serving() can shut it down; false once stopping.
  bool admit(int fd);
  void release(int fd);

  Limits limits_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable loop_ended_;
  bool loop_done_ = false;  // listen_after_bind() returned
  bool stopping_ = false;
  std::set<int> active_;  // sockets of the exchanges under way
};

}  // namespace singleton
