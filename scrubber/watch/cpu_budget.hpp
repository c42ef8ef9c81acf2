// A CPU budget as a token bucket: credit grows with wall time at `fraction` CPU-seconds per
// second, up to a burst, and work spends the CPU time it measurably used. Work may start while
// the credit is positive, so over any long stretch the process uses at most `fraction` of one
// core (plus one burst), and a guest's read after a quiet spell is handled at once.
#pragma once

namespace singleton {

class CpuBudget {
 public:
  // fraction: of one core (0.10 for --cpu-budget 10); burst_wall_seconds: how many seconds of
  // credit a quiet process can save up. Starts with a full bucket.
  CpuBudget(double fraction, double burst_wall_seconds);

  // Changes the rate (memory pressure raises it); the credit saved so far is kept (capped).
  void set_fraction(double fraction);
  double fraction() const { return fraction_; }

  // `wall_seconds` passed, in which the process used `cpu_seconds` of CPU.
  void account(double wall_seconds, double cpu_seconds);

  bool allows_work() const { return credit_ > 0; }
  // CPU-seconds that may still be spent (negative: debt from a step that cost more).
  double credit() const { return credit_; }
  // Wall seconds until allows_work() at the current rate (0 when it already does).
  double seconds_until_allowed() const;

 private:
  double cap() const { return fraction_ * burst_wall_seconds_; }

  double fraction_;
  double burst_wall_seconds_;
  double credit_;
};

}  // namespace singleton
