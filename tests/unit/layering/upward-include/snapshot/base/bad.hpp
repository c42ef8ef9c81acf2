// Fixture: a base header that includes a higher layer (check-layering must refuse it).
#pragma once
#include "scrubber/pass/pass_report.hpp"
