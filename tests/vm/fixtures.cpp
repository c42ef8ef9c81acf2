#include "tests/vm/fixtures.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "tests/vm/guest.hpp"

namespace fs = std::filesystem;

namespace singleton::guestkit {
namespace {

constexpr uint64_t kPage = 4096;

std::string run_output(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) throw std::runtime_error("failed: " + cmd + "\n" + out);
  return out;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

ScratchDir::ScratchDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path_ = kit_dir() + "/scratch/" + tag + "-" + std::to_string(getpid()) + "-" +
          std::to_string(counter++);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!std::getenv("SG_KEEP_GUESTS")) fs::remove_all(path_, ec);
}

std::string kit_problem() {
  if (geteuid() != 0) return "integration tests need root";
  if (!fs::exists(kit_dir() + "/kernel-6.1/vmlinuz")) {
    return "guest kit not built in " + kit_dir() +
           " (run: make guest-kit, or tests/vm/build-kit BUILD/vm)";
  }
  return "";
}

void write_random_file(const std::string& path, uint64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path, std::ios::binary);
  std::vector<uint64_t> block(kPage / 8);
  for (uint64_t done = 0; done < bytes; done += kPage) {
    for (auto& w : block) w = rng();
    out.write(reinterpret_cast<const char*>(block.data()),
              static_cast<std::streamsize>(std::min<uint64_t>(kPage, bytes - done)));
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string shell_output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void make_image(const std::string& dir, const std::string& out, const std::string& format,
                const std::string& fs, bool partition, bool lvm) {
  run_output(std::string(SG_KIT_SOURCE_DIR) + "/make-image --dir '" + dir + "' --out '" + out +
             "' --format " + format + " --fs " + fs + (partition ? " --partition" : "") +
             (lvm ? " --lvm" : ""));
}

void make_overlay(const std::string& backing, const std::string& out) {
  run_output(std::string(SG_KIT_SOURCE_DIR) + "/make-image --backing '" + backing +
             "' --out '" + out + "'");
}

std::vector<uint64_t> file_pages_in_image(const std::string& raw_image,
                                          const std::string& file_in_image) {
  // debugfs prints the file's physical blocks (4 KiB, as make-image formats them).
  std::string out = run_output("debugfs -R 'blocks " + file_in_image + "' '" + raw_image + "'");
  std::vector<uint64_t> pages;
  std::istringstream in(out);
  std::string word;
  while (in >> word) {
    if (word.find_first_not_of("0123456789") == std::string::npos) pages.push_back(std::stoull(word));
  }
  if (pages.empty()) throw std::runtime_error("no blocks for " + file_in_image + " in " + raw_image);
  return pages;
}

std::vector<uint64_t> pages_holding(const std::string& raw_image, const std::string& source) {
  const std::vector<uint64_t> wanted = page_hashes(source);
  std::vector<uint64_t> sorted(wanted);
  std::sort(sorted.begin(), sorted.end());
  const uint64_t zero = [] {
    std::vector<char> zeros(kPage);
    return XXH64(zeros.data(), kPage, 0);
  }();
  std::vector<uint64_t> pages;
  const std::vector<uint64_t> image = page_hashes(raw_image);
  for (uint64_t i = 0; i < image.size(); ++i) {
    if (image[i] != zero && std::binary_search(sorted.begin(), sorted.end(), image[i]))
      pages.push_back(i);
  }
  return pages;
}

uint64_t count_cached(const std::string& path, const std::vector<uint64_t>& pages) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) throw std::runtime_error("open " + path);
  struct stat st;
  fstat(fd.fd, &st);
  if (st.st_size == 0) return 0;
  void* map = mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd.fd, 0);
  if (map == MAP_FAILED) throw std::runtime_error("mmap " + path);
  // No access through the mapping: mincore alone does not fault pages in.
  std::vector<unsigned char> vec((st.st_size + kPage - 1) / kPage);
  int r = mincore(map, st.st_size, vec.data());
  munmap(map, st.st_size);
  if (r != 0) throw std::runtime_error("mincore " + path);
  uint64_t cached = 0;
  for (uint64_t p : pages)
    if (p < vec.size() && (vec[p] & 1)) ++cached;
  return cached;
}

void drop_from_host_cache(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) throw std::runtime_error("open " + path);
  fdatasync(fd.fd);
  posix_fadvise(fd.fd, 0, 0, POSIX_FADV_DONTNEED);
}

void host_read_pages(const std::string& path, const std::vector<uint64_t>& pages) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) throw std::runtime_error("open " + path);
  std::vector<char> buf(kPage);
  for (uint64_t page : pages) {
    if (pread(fd.fd, buf.data(), kPage, static_cast<off_t>(page * kPage)) != kPage)
      throw std::runtime_error("read page " + std::to_string(page) + " of " + path);
  }
}

std::vector<uint64_t> page_hashes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint64_t> hashes;
  std::vector<char> buf(kPage);
  while (in.read(buf.data(), kPage) || in.gcount() > 0) {
    auto n = static_cast<size_t>(in.gcount());
    std::fill(buf.begin() + n, buf.end(), 0);
    hashes.push_back(XXH64(buf.data(), kPage, 0));
  }
  return hashes;
}

std::vector<uint64_t> mergeable_page_hashes(pid_t pid) {
  // Deliberately simple and independent of snapshot/ (this checks the kit, not the product):
  // smaps for `mg` VMAs, pagemap for presence, /proc/PID/mem for content.
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  if (!smaps) throw std::runtime_error("cannot read smaps of pid " + std::to_string(pid));
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  std::string line;
  uint64_t start = 0, end = 0;
  while (std::getline(smaps, line)) {
    unsigned long long a, b;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &a, &b) == 2 && line.find(' ') > line.find('-')) {
      start = a;
      end = b;
    } else if (line.rfind("VmFlags:", 0) == 0 && line.find(" mg") != std::string::npos) {
      regions.emplace_back(start, end);
    }
  }
  Fd mem(open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  Fd pagemap(open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
  if (mem.fd < 0 || pagemap.fd < 0) throw std::runtime_error("cannot open mem/pagemap");
  std::vector<uint64_t> hashes;
  std::vector<char> buf(kPage);
  for (auto [s, e] : regions) {
    std::vector<uint64_t> entries((e - s) / kPage);
    pread(pagemap.fd, entries.data(), entries.size() * 8, static_cast<off_t>(s / kPage * 8));
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!(entries[i] >> 63)) continue;  // not present
      if (pread(mem.fd, buf.data(), kPage, static_cast<off_t>(s + i * kPage)) != kPage) continue;
      hashes.push_back(XXH64(buf.data(), kPage, 0));
    }
  }
  return hashes;
}

}  // namespace singleton::guestkit
