#include "scrubber/metrics/bounded_http_server.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <deque>
#include <functional>
#include <vector>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {
namespace {

// Set on the accepting thread while it runs a task the full queue refused (see WorkerPool).
thread_local bool t_refusing = false;

// Blocks every signal in this thread while it lives, so that the threads it starts (and theirs)
// never take one: `watch` receives SIGTERM/SIGHUP through a signalfd, which works only while no
// thread leaves them unblocked (the default action of SIGTERM in a server thread is to kill).
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous_);
  }
  ~AllSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace

// httplib's own ThreadPool queues without limit: a flood of connections would wait there for
// minutes, each an open socket. This one keeps at most `queued` waiting; beyond that the task is
// run at once on the accepting thread with t_refusing set, and process_and_close_socket() only
// closes its socket (the task is the only owner of the accepted socket: it has to run).
class BoundedHttpServer::WorkerPool final : public httplib::TaskQueue {
 public:
  WorkerPool(size_t workers, size_t queued) : queued_(queued) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~WorkerPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      const std::lock_guard lock(mutex_);
      if (jobs_.size() < queued_) {
        jobs_.push_back(std::move(fn));
        ready_.notify_one();
        return;
      }
    }
    t_refusing = true;
    fn();
    t_refusing = false;
  }

  // Runs what is queued (each sees the server stopping and closes), then joins.
  void shutdown() override {
    {
      const std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return done_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const size_t queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::vector<std::thread> threads_;  // last: started once the rest is built
};

BoundedHttpServer::BoundedHttpServer(const Limits& limits) : limits_(limits) {
  new_task_queue = [this] { return new WorkerPool(limits_.workers, limits_.queued); };
  // httplib's default sets SO_REUSEPORT, which lets a second process bind the same port and
  // take half the scrapes; SO_REUSEADDR only allows a restart over TIME_WAIT connections.
  set_socket_options([](socket_t sock) {
    const int one = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  });
  set_keep_alive_max_count(1);
  set_payload_max_length(limits_.exchange.request_bytes);
  const auto io =
      std::chrono::duration_cast<std::chrono::microseconds>(limits_.exchange.io_timeout);
  set_read_timeout(io.count() / 1000000, io.count() % 1000000);
  set_write_timeout(io.count() / 1000000, io.count() % 1000000);
}

BoundedHttpServer::~BoundedHttpServer() { stop_serving(); }

int BoundedHttpServer::bind(const std::string& host, int family, int port) {
  set_address_family(family);
  const int bound = port == 0 ? bind_to_any_port(host) : bind_to_port(host, port) ? port : -1;
  // httplib listens with a backlog of 5 (compiled into Debian's library): a burst of scrapers
  // beyond it would wait for SYN retries. listen() again only resizes the backlog.
  if (bound > 0) ::listen(svr_sock_, limits_.backlog);
  return bound;
}

void BoundedHttpServer::start() {
  // The workers are started by this thread (httplib's loop): they inherit its mask.
  const AllSignalsBlocked blocked;
  thread_ = std::thread([this] {
    listen_after_bind();
    const std::lock_guard lock(mutex_);
    loop_done_ = true;
    loop_ended_.notify_all();
  });
}

void BoundedHttpServer::stop_serving() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const int fd : active_) ::shutdown(fd, SHUT_RDWR);
  }
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until its loop has marked itself running (called before, it
  // would leave the loop in accept() for good), and must not be called twice (it asserts): once,
  // as soon as the loop runs.
  std::unique_lock lock(mutex_);
  bool stop_called = false;
  while (!loop_done_) {
    if (!stop_called && is_running()) {
      lock.unlock();
      stop();
      stop_called = true;
      lock.lock();
      continue;
    }
    loop_ended_.wait_for(lock, std::chrono::milliseconds(5), [this] { return loop_done_; });
  }
  lock.unlock();
  thread_.join();
}

bool BoundedHttpServer::admit(int fd) {
  const std::lock_guard lock(mutex_);
  if (stopping_) return false;
  active_.insert(fd);
  return true;
}

void BoundedHttpServer::release(int fd) {
  const std::lock_guard lock(mutex_);
  active_.erase(fd);
}

bool BoundedHttpServer::process_and_close_socket(socket_t sock) {
  const UniqueFd owned(sock);
  if (t_refusing || !admit(sock)) return false;
  // Released before `owned` closes the socket: stop_serving() never shuts down a reused number.
  struct Admission {
    BoundedHttpServer& server;
    int fd;
    ~Admission() { server.release(fd); }
  } admission{*this, sock};
  ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  DeadlineStream stream(sock, limits_.exchange);
  bool closed_by_client = false;
  const bool answered = process_request(stream, true, closed_by_client, nullptr);
  ::shutdown(sock, SHUT_WR);  // the FIN right after the response
  return answered;
}

}  // namespace singleton
