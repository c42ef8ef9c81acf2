// Fixture: the uapi header outside scrubber/pagecache/ (check-layering must refuse it).
#include "kmod/include/uapi/singleton_pcache.h"
