#include "scrubber/watch/cpu_budget.hpp"

#include <algorithm>

namespace singleton {

CpuBudget::CpuBudget(double fraction, double burst_wall_seconds)
    : fraction_(fraction), burst_wall_seconds_(burst_wall_seconds), credit_(cap()) {}

void CpuBudget::set_fraction(double fraction) {
  fraction_ = fraction;
  credit_ = std::min(credit_, cap());
}

void CpuBudget::account(double wall_seconds, double cpu_seconds) {
  credit_ = std::min(credit_ + fraction_ * std::max(0.0, wall_seconds) - std::max(0.0, cpu_seconds),
                     cap());
}

double CpuBudget::seconds_until_allowed() const {
  if (credit_ > 0) return 0;
  return fraction_ > 0 ? -credit_ / fraction_ : 1e9;
}

}  // namespace singleton
