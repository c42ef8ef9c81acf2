// A hang guard for tests of code that a bug would make block for good (an open of a FIFO without
// O_NONBLOCK waits for a partner forever, a server that waits for a client): the code runs on a
// thread of its own and must return within a limit of a minute. That is thousands of times what
// the work takes on a quiet host and far beyond what load makes of it (a `singleton` run of 0.05 s
// here took 1-5 s in TCG guests on a loaded host), while a hang misses it however fast the
// machine. So the limit decides "hung or not", never "fast or slow" (speed is for benchmarks).
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <thread>

namespace singleton::testing {

inline constexpr std::chrono::seconds kHangLimit{60};

// Runs `work` on a thread and waits for it at most `limit`. On a miss, calls `release` (which
// must unblock the work: open the FIFO's other end, close the client's socket) and joins the
// thread, so that the test fails and goes on instead of hanging. True when `work` returned in
// time; an exception from `work` is rethrown here.
inline bool finishes_within(std::chrono::seconds limit, const std::function<void()>& work,
                            const std::function<void()>& release) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread thread([&] {
    try {
      work();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  const bool in_time = finished.wait_for(limit) == std::future_status::ready;
  if (!in_time) release();
  thread.join();
  finished.get();
  return in_time;
}

}  // namespace singleton::testing
