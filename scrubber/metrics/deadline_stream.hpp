// One HTTP exchange on an accepted socket, for cpp-httplib's request parser, with limits the
// library's own SocketStream does not have: its timeouts restart at every byte (a client sending
// one byte per second keeps a worker forever) and it reads a request line of any length. Here the
// whole exchange has one deadline, every wait is also cut short by shutdown(2) of the socket (how
// the server stops), and the request may not exceed a byte cap.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>

namespace singleton {

class DeadlineStream final : public httplib::Stream {
 public:
  struct Limits {
    std::chrono::steady_clock::duration deadline;  // for the whole exchange
    std::chrono::milliseconds io_timeout;          // the longest one read or write waits
    size_t request_bytes;                          // the most read from the client
  };

  // `fd` stays owned by the caller.
  DeadlineStream(int fd, const Limits& limits);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  using httplib::Stream::write;  // the string overloads
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  // Waits for `events` until the I/O timeout or the deadline, whichever is first.
  bool wait_for(short events) const;

  int fd_;
  Limits limits_;
  std::chrono::steady_clock::time_point deadline_;
  size_t received_ = 0;
  // httplib reads the request line and headers one byte per call: buffered, not a recv each.
  char buffer_[4096];
  size_t buffered_ = 0;
  size_t consumed_ = 0;
};

}  // namespace singleton
