// Scrub passes against real guests (guest kit: QEMU TCG or KVM, a real libvirtd), through the
// `singleton` CLI as an operator runs it. Figures of the tests 1 and 2 and the time of
// one pass are printed and recorded as test properties.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "scrubber/pagecache/mincore_page_cache_view.hpp"
#include "scrubber/pass/pass_engine.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "tests/integration/eviction_evidence.hpp"
#include "tests/unit/cli_run.hpp"
#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace singleton {
namespace {

using guestkit::drop_from_host_cache;
using guestkit::Guest;
using guestkit::GuestOptions;
using guestkit::host_read_pages;
using guestkit::kit_problem;
using guestkit::ScratchDir;
using testing::AuditedRange;
using testing::host_only_verdict;
using testing::OutsideReclaim;
using testing::read_audit;
using testing::reread_missing;
using testing::resident_pages;
using testing::run_singleton;
using testing::u64;

constexpr uint64_t kMiB = 1 << 20;

// Rewrites pages of `path` with their own content: dirty in the host cache, content unchanged
// (so the guest still holds it: only the dirty state can keep them from being evicted).
void dirty_pages_in_place(const std::string& path, const std::vector<uint64_t>& pages) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  std::vector<char> buf(4096);
  for (uint64_t page : pages) {
    ASSERT_EQ(::pread(fd, buf.data(), 4096, page * 4096), 4096);
    ASSERT_EQ(::pwrite(fd, buf.data(), 4096, page * 4096), 4096);
  }
  ::close(fd);
}

std::string sha256(const std::string& path) {
  return testing::shell_output("sha256sum '" + path + "' | cut -d' ' -f1");
}

class ScrubGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Fail, never skip: a missing kit must not look like a pass.
    const std::string problem = kit_problem();
    ASSERT_EQ(problem, "") << problem;
    // A libvirtd stopped under us (another test's LibvirtDaemon) must fail the test with an
    // error, not kill the process with SIGPIPE before the Guest destructors stop QEMU.
    ::signal(SIGPIPE, SIG_IGN);
    lock_dir_ = std::make_unique<ScratchDir>("scrub-lock");
    ::setenv("SINGLETON_LOCK_FILE", (*lock_dir_ / "pass.lock").c_str(), 1);
  }
  std::unique_ptr<ScratchDir> lock_dir_;
};

// Issue tests 1-4 on a raw image and a plain QEMU: a guest reads a 64 MiB file; one scrub evicts
// >= 90% of its pages from the host cache; pages read on the host only stay (0 evicted); dirty
// host pages stay; the guest then re-reads its file from disk and its checksum matches.
TEST_F(ScrubGuestTest, RawImagePlainQemu_EvictsWhatTheGuestHoldsOnly) {
  ScratchDir dir("scrub-raw");
  std::filesystem::create_directories(dir / "data");
  guestkit::write_random_file(dir / "data/guest64", 64 * kMiB, 64);
  guestkit::write_random_file(dir / "data/hostonly", 16 * kMiB, 16);
  guestkit::write_random_file(dir / "data/dirtied", 4 * kMiB, 4);
  const std::string image = dir / "data.img";
  guestkit::make_image(dir / "data", image);
  const auto guest_pages = guestkit::file_pages_in_image(image, "/guest64");
  const auto host_pages = guestkit::file_pages_in_image(image, "/hostonly");
  const auto dirtied_pages = guestkit::file_pages_in_image(image, "/dirtied");
  ASSERT_EQ(guest_pages.size(), 64 * kMiB / 4096);
  ASSERT_EQ(host_pages.size(), 16 * kMiB / 4096);
  const std::string want = sha256(dir / "data/guest64");
  drop_from_host_cache(image);

  GuestOptions opt;
  opt.mem_mib = 384;
  opt.disks.push_back({image, "raw", "writeback", "data", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\n"
      "cat /mnt/guest64 /mnt/dirtied > /dev/null\n"
      "sg_wait read\n"
      // Re-read from the (virtual) disk, not from the guest's own cache.
      "echo 3 > /proc/sys/vm/drop_caches\n"
      "sg_result sha256 $(sha256sum /mnt/guest64 | cut -d' ' -f1)\n";
  Guest guest(opt);
  guest.wait_for_pause("read");

  host_read_pages(image, host_pages);
  ::usleep(300 * 1000);  // let the readahead those reads started finish
  // Pages of a second file the guest read, dirtied on the host with unchanged content (the
  // guest holds them: only their dirty state may keep them).
  const std::vector<uint64_t> dirty{dirtied_pages[10], dirtied_pages[500], dirtied_pages[900]};
  dirty_pages_in_place(image, dirty);

  // The dry run first: it must hand nothing to the kernel (its audit stays empty) and add
  // nothing to the cache.
  const std::string scan_audit = dir / "scan-audit.jsonl";
  const auto scan =
      run_singleton("scan --json --backend mincore --audit " + scan_audit + " --pid " +
                    std::to_string(guest.qemu_pid()) + " --image " + image);
  ASSERT_EQ(scan.rc, 0) << scan.err;
  EXPECT_TRUE(read_audit(scan_audit, image).empty()) << "the dry run evicted ranges";
  {
    const auto doc = scan.json();
    const auto& t = doc.at("totals").as_object();
    EXPECT_LE(u64(t, "cached_pages_after"), u64(t, "cached_pages_before"))
        << "the dry run added pages to the image's host cache";
    EXPECT_GE(u64(t, "evicted_pages"), guest_pages.size() * 8 / 10) << "what a scrub would evict";
  }

  // Something else evicts page cache on this kind of host (DAMON pageout of cold memory,
  // proactive reclaim): pages the guest and the host read a while ago under TCG may have left
  // already. Re-read what left, right before the measurement, and say how much it was.
  std::printf(
      "re-read pages that left the host cache before the pass: /guest64 %zu, "
      "/hostonly %zu\n",
      reread_missing(image, guest_pages), reread_missing(image, host_pages));
  ::usleep(300 * 1000);
  dirty_pages_in_place(image, dirty);  // dirty again, had they been written back meanwhile

  const auto folio_map = [&] {
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> folio_of;  // page -> (first, pages)
    const auto pages = run_singleton("pagecache --json --pages --backend mincore " + image);
    EXPECT_EQ(pages.rc, 0) << pages.err;
    const auto doc = pages.json();
    for (const auto& page : doc.at("files").as_array().at(0).as_object().at("pages").as_array()) {
      const auto& p = page.as_object();
      folio_of[u64(p, "index")] = {u64(p, "folio_first"), u64(p, "folio_pages")};
    }
    return folio_of;
  };
  // Folio-wise eviction is what test 1 exercises where the kernel caches this image in large
  // folios (ext4 gained them after 6.1; on 6.1 every folio is one page).
  const auto folio_of = folio_map();
  uint64_t largest = 0;
  for (const auto& [page, folio] : folio_of) largest = std::max(largest, folio.second);
  std::printf("largest folio of the image in the host cache: %llu pages\n",
              (unsigned long long)largest);

  const uint64_t guest_before = guestkit::count_cached(image, guest_pages);
  const std::vector<bool> cached_before = resident_pages(image);
  uint64_t host_before = 0;
  for (uint64_t page : host_pages) host_before += cached_before.at(page);
  EXPECT_GE(guest_before, guest_pages.size() * 99 / 100);
  EXPECT_GE(host_before, host_pages.size() * 99 / 100);

  const std::string audit = dir / "scrub-audit.jsonl";
  const OutsideReclaim others_before = OutsideReclaim::now();
  const auto start = std::chrono::steady_clock::now();
  const auto scrub = run_singleton("scrub --json --backend mincore --audit " + audit + " --pid " +
                                   std::to_string(guest.qemu_pid()) + " --image " + image);
  const double pass_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<bool> cached_after = resident_pages(image);
  const OutsideReclaim others_after = OutsideReclaim::now();
  ASSERT_EQ(scrub.rc, 0) << scrub.err << scrub.out;
  const auto report = scrub.json();
  const auto& totals = report.at("totals").as_object();
  const std::vector<AuditedRange> ranges = read_audit(audit, image);
  ASSERT_FALSE(ranges.empty()) << "the scrub evicted nothing";

  const uint64_t guest_after = guestkit::count_cached(image, guest_pages);
  const uint64_t evicted_of_file = guest_before - guest_after;
  // Test 2, the invariant, proven from the audit: no page the guest does not hold lies inside
  // a range singleton handed to the kernel; what left outside them, others took.
  const auto verdict = host_only_verdict(ranges, host_pages, cached_before, cached_after,
                                         others_before, others_after);
  std::printf(
      "test 1: %llu of %llu cached pages of the guest's 64 MiB file evicted (%.1f%%)\n"
      "test 2: %zu host-only pages inside evicted ranges (%zu ranges audited); %zu of %llu "
      "left the cache outside every evicted range\n"
      "pass: %.2f s wall (singleton duration_s %.2f), totals: cached %llu, double %llu, "
      "evicted %llu, skipped %llu, partial-folio %llu, after %llu\n"
      "other evictors during the pass:%s\n",
      (unsigned long long)evicted_of_file, (unsigned long long)guest_before,
      100.0 * evicted_of_file / guest_before, verdict.inside.size(), ranges.size(),
      verdict.lost_outside.size(), (unsigned long long)host_before, pass_s,
      boost::json::value_to<double>(report.at("duration_s")),
      (unsigned long long)u64(totals, "cached_pages_before"),
      (unsigned long long)u64(totals, "double_cached_pages"),
      (unsigned long long)u64(totals, "evicted_pages"),
      (unsigned long long)u64(totals, "skipped_pages"),
      (unsigned long long)u64(totals, "partial_folio_pages"),
      (unsigned long long)u64(totals, "cached_pages_after"), verdict.counters.c_str());
  RecordProperty("test1_evicted_of_file", std::to_string(evicted_of_file));
  RecordProperty("test1_cached_of_file", std::to_string(guest_before));
  RecordProperty("test2_host_only_in_evicted_ranges", std::to_string(verdict.inside.size()));
  RecordProperty("test2_host_only_lost_outside", std::to_string(verdict.lost_outside.size()));
  RecordProperty("pass_seconds", std::to_string(pass_s));

  EXPECT_EQ(verdict.failure(), "") << "scrub report: " << scrub.out;
  if (!verdict.lost_outside.empty()) {
    // Where they were: their folios before the pass, evicted whole by someone else.
    std::string detail;
    for (uint64_t page : verdict.lost_outside) {
      const auto it = folio_of.find(page);
      detail += " " + std::to_string(page) + "(folio " +
                (it == folio_of.end()
                     ? std::string("?")
                     : std::to_string(it->second.first) + "+" + std::to_string(it->second.second)) +
                ")";
    }
    std::printf("host-only pages taken by other evictors during the pass:%s\n", detail.c_str());
  }
  // Test 1: at least 90% of the file's pages (folios straddling the file's edges may stay).
  EXPECT_GE(evicted_of_file * 10, guest_before * 9);
  // ... and every page of the file still cached sits in a folio that also holds pages outside
  // the file (metadata, another file): the only reason the default may keep one.
  {
    const std::set<uint64_t> in_file(guest_pages.begin(), guest_pages.end());
    uint64_t unexplained = 0;
    for (uint64_t page : guest_pages) {
      if (!cached_after.at(page)) continue;
      const auto it = folio_of.find(page);
      if (it == folio_of.end()) {
        ++unexplained;
        continue;
      }
      bool straddles = false;
      for (uint64_t k = it->second.first; k < it->second.first + it->second.second; ++k) {
        straddles |= in_file.count(k) == 0;
      }
      unexplained += !straddles;
    }
    EXPECT_EQ(unexplained, 0u) << "pages of the file kept although their folio is all file";
  }
  // Test 4: the dirty pages are still cached, and counted as skipped.
  EXPECT_EQ(guestkit::count_cached(image, dirty), dirty.size());
  const auto& reasons = totals.at("skipped_by_reason").as_object();
  EXPECT_GE(u64(reasons, "dirty") + u64(reasons, "writeback"), dirty.size());
  // The report measures what it claims: what singleton evicted left, and at most what others
  // took during the pass besides.
  EXPECT_LE(u64(totals, "cached_pages_after"),
            u64(totals, "cached_pages_before") - u64(totals, "evicted_pages"));
  EXPECT_EQ(report.at("images").as_array().size(), 1u);
  EXPECT_EQ(report.at("backend").as_string(), "mincore");

  // Test 3: the guest reads its file back (from disk now) and it is intact.
  guest.resume("read");
  const auto result = guest.wait();
  EXPECT_EQ(result.rc, 0) << result.output;
  EXPECT_EQ(result.results.at("sha256"), want);
  const int fd = ::open(image.c_str(), O_RDONLY);
  ::fsync(fd);
  ::close(fd);
}

// Issue test 5: a qcow2 image under a libvirt-managed domain, selected by --vm NAME. The guest's
// 4 KiB blocks stay 4 KiB-aligned in a qcow2 file (64 KiB clusters), so matching works as for raw.
TEST_F(ScrubGuestTest, Qcow2ImageLibvirtDomain_EvictsTheFileTheGuestRead) {
  guestkit::LibvirtDaemon daemon;
  ScratchDir dir("scrub-qcow2");
  std::filesystem::create_directories(dir / "data");
  guestkit::write_random_file(dir / "data/file32", 32 * kMiB, 32);
  const std::string image = dir / "data.qcow2";
  guestkit::make_image(dir / "data", image, "qcow2");
  const std::string want = sha256(dir / "data/file32");
  drop_from_host_cache(image);

  GuestOptions opt;
  opt.libvirt = true;
  opt.name = "sg-scrub-qcow2-" + std::to_string(::getpid());
  opt.disks.push_back({image, "qcow2", "writeback", "data", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\n"
      "cat /mnt/file32 > /dev/null\n"
      "sg_wait read\n"
      "echo 3 > /proc/sys/vm/drop_caches\n"
      "sg_result sha256 $(sha256sum /mnt/file32 | cut -d' ' -f1)\n";
  Guest guest(opt);
  guest.wait_for_pause("read");

  const auto scrub = run_singleton("scrub --json --vm " + opt.name);
  ASSERT_EQ(scrub.rc, 0) << scrub.err << scrub.out;
  const auto report = scrub.json();
  const boost::json::object* data = nullptr;
  for (const auto& item : report.at("images").as_array()) {
    if (item.as_object().at("path").as_string() == image) data = &item.as_object();
  }
  ASSERT_NE(data, nullptr) << "image " << image << " not in the report: " << scrub.out;
  const uint64_t file_pages = 32 * kMiB / 4096;
  std::printf("qcow2/libvirt: cached %llu, double %llu, evicted %llu, after %llu pages\n",
              (unsigned long long)u64(*data, "cached_pages_before"),
              (unsigned long long)u64(*data, "double_cached_pages"),
              (unsigned long long)u64(*data, "evicted_pages"),
              (unsigned long long)u64(*data, "cached_pages_after"));
  EXPECT_GE(u64(*data, "double_cached_pages"), file_pages * 95 / 100);
  EXPECT_GE(u64(*data, "evicted_pages"), file_pages * 9 / 10);
  // What it evicted left; other evictors (DAMON, reclaim) may take more meanwhile.
  EXPECT_LE(u64(*data, "cached_pages_after"),
            u64(*data, "cached_pages_before") - u64(*data, "evicted_pages"));
  EXPECT_EQ(data->at("vms").as_array().at(0).as_string(), opt.name);

  guest.resume("read");
  const auto result = guest.wait();
  EXPECT_EQ(result.rc, 0) << result.output;
  EXPECT_EQ(result.results.at("sha256"), want);
}

// Issue test 6: two VMs (plain QEMU, qcow2 overlays) on one raw backing file. Both read file A,
// only the first reads file B. `all` evicts A's pages and keeps B's; `any` then evicts B's too.
TEST_F(ScrubGuestTest, SharedBackingFile_AllNeedsEveryVmAnyNeedsOne) {
  ScratchDir dir("scrub-shared");
  std::filesystem::create_directories(dir / "data");
  guestkit::write_random_file(dir / "data/a", 16 * kMiB, 101);
  guestkit::write_random_file(dir / "data/b", 16 * kMiB, 102);
  const std::string base = dir / "base.img";
  guestkit::make_image(dir / "data", base);
  const auto a_pages = guestkit::file_pages_in_image(base, "/a");
  const auto b_pages = guestkit::file_pages_in_image(base, "/b");
  const std::string over1 = dir / "vm1.qcow2";
  const std::string over2 = dir / "vm2.qcow2";
  guestkit::make_overlay(base, over1);
  guestkit::make_overlay(base, over2);
  const std::string want_a = sha256(dir / "data/a");
  const std::string want_b = sha256(dir / "data/b");
  drop_from_host_cache(base);

  auto options = [&](const std::string& overlay, const std::string& files) {
    GuestOptions opt;
    opt.disks.push_back({overlay, "qcow2", "writeback", "data", false});
    opt.script = "mount -o ro /dev/sg/data /mnt\ncat " + files +
                 " > /dev/null\nsg_wait read\necho 3 > /proc/sys/vm/drop_caches\n"
                 "sg_result a $(sha256sum /mnt/a | cut -d' ' -f1)\n"
                 "sg_result b $(sha256sum /mnt/b | cut -d' ' -f1)\n";
    return opt;
  };
  Guest vm1(options(over1, "/mnt/a /mnt/b"));
  Guest vm2(options(over2, "/mnt/a"));
  vm1.wait_for_pause("read");
  vm2.wait_for_pause("read");
  const std::string vms = "--pid " + std::to_string(vm1.qemu_pid()) + " --image " + over1 +
                          " --pid " + std::to_string(vm2.qemu_pid()) + " --image " + over2;
  // What other evictors took while the guests read under TCG is read back first.
  std::printf("re-read pages that left the host cache before the pass: A %zu, B %zu\n",
              reread_missing(base, a_pages), reread_missing(base, b_pages));
  ASSERT_GE(guestkit::count_cached(base, a_pages), a_pages.size() * 99 / 100);
  ASSERT_GE(guestkit::count_cached(base, b_pages), b_pages.size() * 99 / 100);
  const std::vector<bool> cached_before = resident_pages(base);
  const OutsideReclaim others_before = OutsideReclaim::now();

  auto base_report = [&](const testing::CliRun& run) {
    const boost::json::object report = run.json();  // iterated below: must outlive the loop
    for (const auto& item : report.at("images").as_array()) {
      if (item.as_object().at("path").as_string() == base) return item.as_object();
    }
    ADD_FAILURE() << "backing file " << base << " not in the report: " << run.out;
    return boost::json::object();
  };

  const std::string audit = dir / "all-audit.jsonl";
  const auto all = run_singleton("scrub --json --shared-policy all --audit " + audit + " " + vms);
  ASSERT_EQ(all.rc, 0) << all.err << all.out;
  const auto all_base = base_report(all);
  ASSERT_FALSE(all_base.empty());
  EXPECT_EQ(all_base.at("vms").as_array().size(), 2u) << "one file, two VMs";
  const uint64_t a_left = guestkit::count_cached(base, a_pages);
  const uint64_t b_left = guestkit::count_cached(base, b_pages);
  std::printf(
      "shared, all: double %llu, evicted %llu; A cached %llu of %zu, B cached %llu of %zu\n",
      (unsigned long long)u64(all_base, "double_cached_pages"),
      (unsigned long long)u64(all_base, "evicted_pages"), (unsigned long long)a_left,
      a_pages.size(), (unsigned long long)b_left, b_pages.size());
  EXPECT_LE(a_left, a_pages.size() / 10) << "A is held by both VMs: `all` evicts it";
  // B is held by one VM only: `all` keeps it. Proven from the audit (no page of B in a range
  // singleton evicted); what left meanwhile, another evictor's counters account for.
  const auto verdict =
      host_only_verdict(read_audit(audit, base), b_pages, cached_before, resident_pages(base),
                        others_before, OutsideReclaim::now());
  std::printf("shared, all: B: %s\n", verdict.summary().c_str());
  EXPECT_EQ(verdict.failure(), "") << all.out;

  const auto any = run_singleton("scrub --json --shared-policy any " + vms);
  ASSERT_EQ(any.rc, 0) << any.err << any.out;
  const uint64_t b_left_any = guestkit::count_cached(base, b_pages);
  std::printf("shared, any: B cached %llu of %zu\n", (unsigned long long)b_left_any,
              b_pages.size());
  EXPECT_LE(b_left_any, b_pages.size() / 10) << "`any`: one VM holding B is enough";

  vm1.resume("read");
  vm2.resume("read");
  const auto r1 = vm1.wait();
  const auto r2 = vm2.wait();
  EXPECT_EQ(r1.results.at("a"), want_a);
  EXPECT_EQ(r1.results.at("b"), want_b);
  EXPECT_EQ(r2.results.at("a"), want_a);
  EXPECT_EQ(r2.results.at("b"), want_b);
}

// Issue test 7: a VM killed while the pass snapshots it: the pass is done in part (exit code 1),
// the other VM's image is scrubbed, nothing is evicted on the dead VM's behalf.
TEST_F(ScrubGuestTest, VmKilledDuringThePass_OtherVmDoneExitCodePartial) {
  ScratchDir dir("scrub-killed");
  std::vector<std::string> images;
  std::vector<std::unique_ptr<Guest>> guests;
  for (int i = 0; i < 2; ++i) {
    const std::string data = dir / ("data" + std::to_string(i));
    std::filesystem::create_directories(data);
    guestkit::write_random_file(data + "/file", 16 * kMiB, 200 + i);
    images.push_back(dir / ("vm" + std::to_string(i) + ".img"));
    guestkit::make_image(data, images.back());
    drop_from_host_cache(images.back());
    GuestOptions opt;
    opt.disks.push_back({images.back(), "raw", "writeback", "data", false});
    opt.script = "mount -o ro /dev/sg/data /mnt\ncat /mnt/file > /dev/null\nsg_wait read\n";
    guests.push_back(std::make_unique<Guest>(opt));
  }
  for (auto& guest : guests) guest->wait_for_pause("read");

  VmSelectionOptions selection;
  for (int i = 0; i < 2; ++i) {
    selection.pids.push_back(std::to_string(guests[i]->qemu_pid()));
    selection.images.push_back(images[i]);
  }
  const VmSelection selected = select_vms(selection);
  ASSERT_EQ(selected.vms.size(), 2u);
  const uint64_t cached_before_dead = guestkit::count_cached(images[1], [&] {
    std::vector<uint64_t> all(std::filesystem::file_size(images[1]) / 4096);
    for (size_t k = 0; k < all.size(); ++k) all[k] = k;
    return all;
  }());

  MincorePageCacheView view;
  PassOptions options;
  options.evict = true;
  options.snapshot.read_batch_bytes = 256 * 1024;  // many batches: the kill lands mid-snapshot
  bool killed = false;
  options.on_progress = [&](const PassProgress& p) {
    if (!killed && p.stage == "snapshot" && p.item == 2) {
      guests[1]->kill();
      killed = true;
    }
  };
  const PassReport report = run_pass(view, selected.vms, options);
  ASSERT_TRUE(killed) << "the pass never reached the second VM's snapshot";
  EXPECT_EQ(report.exit_code(), ExitCode::kPartial);
  ASSERT_EQ(report.vms.size(), 2u);
  EXPECT_EQ(report.vms[0].error, "");
  EXPECT_NE(report.vms[1].error, "") << "the killed VM's snapshot was reported complete";
  ASSERT_EQ(report.images.size(), 2u);
  EXPECT_EQ(report.images[0].error, "");
  EXPECT_GE(report.images[0].counts.evicted_pages, 16 * kMiB / 4096 * 9 / 10);
  EXPECT_NE(report.images[1].error, "");
  EXPECT_EQ(report.images[1].counts.evicted_pages, 0u);
  std::printf("killed VM: %s\nits image: %s (cached before %llu)\n", report.vms[1].error.c_str(),
              report.images[1].error.c_str(), (unsigned long long)cached_before_dead);
}

}  // namespace
}  // namespace singleton
