// SPDX-License-Identifier: GPL-2.0
/*
 * singleton_pcache: look at and evict the page cache of files passed by fd.
 *
 * Looking never disturbs the cache: folios are found with
 * filemap_get_folios() (a reference, no lock, no readahead, no
 * folio_mark_accessed), content is hashed through kmap_local_folio() one
 * 4 KiB page at a time. Eviction goes through invalidate_mapping_pages(), so
 * the kernel itself refuses dirty, writeback, mapped, locked and otherwise
 * busy folios; the module classifies folios first to count why pages stay.
 *
 * Another process's memory (PROCESS_PAGES) is hashed in place the same way:
 * get_user_pages_remote() with FOLL_NOFAULT takes a plain reference (not a
 * pin: a KSM page is not unshared) to pages that are present, and faults
 * nothing in (before 6.6 gup would fault hugetlb pages in: such mappings are
 * refused); access is checked as process_vm_readv checks it.
 *
 * The ABI is kmod/include/uapi/singleton_pcache.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/hugetlb_inline.h>
#include <linux/magic.h>
#include <linux/cred.h>
#include <linux/mmap_lock.h>
#include <linux/pid.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/xxhash.h>

#include "include/uapi/singleton_pcache.h"

/* The release version, from kmod/VERSION through Kbuild (not the ABI's). */
#ifndef SG_PCACHE_VERSION
#error "SG_PCACHE_VERSION comes from kmod/VERSION: build through kmod/Kbuild"
#endif
static_assert(sizeof(SG_PCACHE_VERSION) > 1, "kmod/VERSION is empty or missing");

/* Entries staged in the kernel before one copy_to_user(). */
#define SG_STAGE_ENTRIES 256

/* The largest argument struct a future userspace may pass. */
#define SG_MAX_ARG_SIZE 4096

/* The last index a range may reach; keeps "end + 1" from wrapping. */
#define SG_MAX_INDEX ((pgoff_t)ULONG_MAX - 1)

/*
 * Copy in an argument struct (kmod/ABI.md): its leading __u32 size, not the
 * size bits of the ioctl number, says how long the caller's struct is. From
 * ksize (the v1 size) up to SG_MAX_ARG_SIZE; bytes past ksize must be zero
 * (copy_struct_from_user(): -E2BIG otherwise). *usize is the size checked.
 */
static int sg_copy_args_in(void *karg, size_t ksize, unsigned long uarg,
			   u32 *usize)
{
	const void __user *up = (const void __user *)uarg;
	u32 size;

	if (!uarg)
		return -EFAULT;
	if (!IS_ALIGNED(uarg, 8))
		return -EINVAL;
	if (get_user(size, (const u32 __user *)up))
		return -EFAULT;
	if (size < ksize)
		return -EINVAL;
	if (size > SG_MAX_ARG_SIZE)
		return -E2BIG;
	*usize = size;
	return copy_struct_from_user(karg, ksize, up, size);
}

/* Copy out no more than the caller's struct holds. */
static int sg_copy_args_out(unsigned long uarg, const void *karg, size_t ksize,
			    u32 usize)
{
	if (copy_to_user((void __user *)uarg, karg, min_t(size_t, ksize, usize)))
		return -EFAULT;
	return 0;
}

/* A user array pointer: present, aligned, and inside the user range. */
static int sg_check_user_array(u64 uptr, u64 count, size_t elem)
{
	if (!uptr)
		return -EFAULT;
	if (!IS_ALIGNED(uptr, 8))
		return -EINVAL;
	if (uptr != (unsigned long)uptr)
		return -EFAULT;
	if (!access_ok((void __user *)(unsigned long)uptr, count * elem))
		return -EFAULT;
	return 0;
}

/*
 * Pages that are the only copy of their data, never evicted (skipped_shmem).
 * shmem_mapping() is tmpfs (huge= too), memfd and SysV shm: inline against
 * the exported shmem_aops on 6.1, EXPORT_SYMBOL_GPL on 6.12. ramfs is not
 * shmem (its own aops, not exported), but ramfs_get_inode() marks every
 * ramfs mapping unevictable, as SHM_LOCK does to shmem: mapping_unevictable()
 * keeps ramfs refused (tests/kmod: evict-ramfs) without a superblock magic.
 */
static bool sg_mapping_is_shmem(struct address_space *mapping)
{
	return shmem_mapping(mapping) || mapping_unevictable(mapping);
}

/* guest_memfd of confidential VMs (6.11+): its folios must not be touched. */
static bool sg_mapping_inaccessible(struct address_space *mapping)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	return mapping_inaccessible(mapping);
#else
	return false;
#endif
}

/* Reading a poisoned page is a machine check: never hash one. */
static bool sg_folio_poisoned(struct folio *folio)
{
	if (folio_test_hwpoison(folio))
		return true;
	return folio_test_large(folio) && folio_test_has_hwpoisoned(folio);
}

/*
 * The file behind fd, if it is one whose page cache the module may look at:
 * a regular file or a block device, with page-cache pages (no DAX, no
 * hugetlbfs, whose indices are not in 4 KiB pages).
 */
static struct file *sg_get_cache_file(int fd, bool need_read)
{
	struct file *file;
	struct inode *inode;
	int err;

	if (fd < 0)
		return ERR_PTR(-EBADF);
	file = fget(fd);	/* refuses O_PATH fds */
	if (!file)
		return ERR_PTR(-EBADF);
	err = -EBADF;
	if (need_read && !(file->f_mode & FMODE_READ))
		goto out_put;
	inode = file_inode(file);
	err = -EISDIR;
	if (S_ISDIR(inode->i_mode))
		goto out_put;
	err = -EINVAL;
	if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
		goto out_put;
	if (!file->f_mapping || !file->f_mapping->host)
		goto out_put;
	/*
	 * By superblock magic: is_file_hugepages() needs
	 * hugetlbfs_file_operations and secretmem_mapping() (6.12 only)
	 * secretmem_aops, neither exported to modules.
	 */
	err = -EOPNOTSUPP;
	if (IS_DAX(file->f_mapping->host) ||
	    file->f_mapping->host->i_sb->s_magic == HUGETLBFS_MAGIC)
		goto out_put;
	/* Memory the kernel itself must not read through the direct map. */
	if (file->f_mapping->host->i_sb->s_magic == SECRETMEM_MAGIC ||
	    sg_mapping_inaccessible(file->f_mapping))
		goto out_put;
	return file;

out_put:
	fput(file);
	return ERR_PTR(err);
}

static u32 sg_folio_flags(struct folio *folio)
{
	u32 flags = 0;
	unsigned int order = folio_order(folio);

	if (folio_test_dirty(folio))
		flags |= SG_PCACHE_PAGE_DIRTY;
	if (folio_test_writeback(folio))
		flags |= SG_PCACHE_PAGE_WRITEBACK;
	if (folio_test_uptodate(folio))
		flags |= SG_PCACHE_PAGE_UPTODATE;
	if (folio_test_active(folio))
		flags |= SG_PCACHE_PAGE_ACTIVE;
	if (folio_test_referenced(folio))
		flags |= SG_PCACHE_PAGE_REFERENCED;
	if (folio_mapped(folio))
		flags |= SG_PCACHE_PAGE_MAPPED;
	if (folio_test_locked(folio))
		flags |= SG_PCACHE_PAGE_LOCKED;
	if (folio_test_swapbacked(folio))
		flags |= SG_PCACHE_PAGE_SWAPBACKED;
	flags |= min(order, 255u) << SG_PCACHE_PAGE_ORDER_SHIFT;
	return flags;
}

static u64 sg_hash_page(struct folio *folio, pgoff_t index)
{
	size_t offset = (index - folio->index) * PAGE_SIZE;
	void *kaddr = kmap_local_folio(folio, offset);
	u64 hash = xxh64(kaddr, PAGE_SIZE, 0);

	kunmap_local(kaddr);
	return hash;
}

/* Pages asked of get_user_pages_remote() at once, hashed under one
 * mmap_lock hold, between two looks at resched and signals. */
#define SG_PROCESS_CHUNK 512

/*
 * The task behind a pidfd. The helpers that do this (pidfd_get_task(),
 * pidfd_pid()) are not exported, so the file is recognised by what only the
 * kernel can make: a pidfs inode (6.9 on; the pid in i_private) or, before,
 * an anon inode file named "[pidfd]" (the pid in private_data).
 */
static struct task_struct *sg_pidfd_task(int pidfd)
{
	struct task_struct *task = NULL;
	struct pid *pid = NULL;
	struct file *file;
	struct inode *inode;

	if (pidfd < 0)
		return ERR_PTR(-EBADF);
	file = fget(pidfd);
	if (!file)
		return ERR_PTR(-EBADF);
	inode = file_inode(file);
#ifdef PID_FS_MAGIC
	if (inode->i_sb->s_magic == PID_FS_MAGIC)
		pid = inode->i_private;
#endif
	if (inode->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp(file->f_path.dentry->d_name.name, "[pidfd]"))
		pid = file->private_data;
	if (pid)
		task = get_pid_task(pid, PIDTYPE_PID);
	fput(file);
	if (!pid)
		return ERR_PTR(-EBADF);
	return task ? task : ERR_PTR(-ESRCH);
}

/*
 * May the caller read task's memory as process_vm_readv(2) may
 * (PTRACE_MODE_ATTACH_REALCREDS)? ptrace_may_access() is not exported: its
 * credential and dumpability rules are applied here. The LSM hook (Yama's
 * ptrace_scope) cannot be called from a module; CAP_SYS_ADMIN is required on
 * top (checked by the ioctl). Called under task->signal->exec_update_lock.
 */
static int sg_may_read_memory(struct task_struct *task, struct mm_struct *mm)
{
	const struct cred *cred = current_cred(), *tcred;
	bool ok;

	if (same_thread_group(task, current))
		return 0;
	rcu_read_lock();
	tcred = __task_cred(task);
	ok = uid_eq(cred->uid, tcred->euid) && uid_eq(cred->uid, tcred->suid) &&
	     uid_eq(cred->uid, tcred->uid) && gid_eq(cred->gid, tcred->egid) &&
	     gid_eq(cred->gid, tcred->sgid) && gid_eq(cred->gid, tcred->gid);
	if (!ok)
		ok = ns_capable(tcred->user_ns, CAP_SYS_PTRACE);
	rcu_read_unlock();
	if (!ok)
		return -EPERM;
	if (get_dumpable(mm) != SUID_DUMP_USER &&
	    !ns_capable(mm->user_ns, CAP_SYS_PTRACE))
		return -EPERM;
	return 0;
}

/*
 * get_user_pages_remote() adds FOLL_TOUCH on 6.1 and 6.12: pages found are
 * marked accessed (folio_mark_accessed(), a young PMD for a THP), as
 * process_vm_readv's pin_user_pages_remote() marks them (kmod/ABI.md).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define sg_gup_remote(mm, addr, nr, pages) \
	get_user_pages_remote(mm, addr, nr, FOLL_NOFAULT, pages, NULL)
#else
#define sg_gup_remote(mm, addr, nr, pages) \
	get_user_pages_remote(mm, addr, nr, FOLL_NOFAULT, pages, NULL, NULL)
#endif

/* XXH64 of a page of zeros, computed at load. */
static u64 sg_zero_hash;

static void sg_describe_vpage(struct page *page, struct sg_pcache_vpage *e)
{
	struct folio *folio = page_folio(page);
	void *kaddr;

	e->flags = SG_PCACHE_VPAGE_PRESENT;
	if (is_zero_pfn(page_to_pfn(page)))
		e->flags |= SG_PCACHE_VPAGE_ZERO;
	if (folio_test_ksm(folio))
		e->flags |= SG_PCACHE_VPAGE_KSM;
	if (folio_test_large(folio))
		e->flags |= SG_PCACHE_VPAGE_LARGE;
	/* Reading a poisoned page is a machine check. */
	if (PageHWPoison(page))
		return;
	kaddr = kmap_local_page(page);
	e->xxh64 = xxh64(kaddr, PAGE_SIZE, 0);
	kunmap_local(kaddr);
	e->flags |= SG_PCACHE_VPAGE_HASHED;
	/*
	 * The huge zero page (a read fault in a THP-enabled range): its
	 * symbol is not exported, but it is the one large folio of a user
	 * mapping that is neither anonymous nor file memory (no mapping),
	 * and its content is zeros.
	 */
	if (folio_test_large(folio) && !folio->mapping && e->xxh64 == sg_zero_hash)
		e->flags |= SG_PCACHE_VPAGE_ZERO;
}

/*
 * Would get_user_pages_remote() fault in pages of this VMA despite
 * FOLL_NOFAULT? Before 6.6 it hands hugetlb VMAs to follow_hugetlb_page(),
 * which calls hugetlb_fault() for a huge page that is not there whatever
 * FOLL_NOFAULT says (only faultin_page() looks at that flag). 6.6 retired
 * follow_hugetlb_page(): hugetlb goes through follow_page_mask() and
 * faultin_page() like any other VMA. A module cannot walk hugetlb page
 * tables itself (huge_pte_offset() and the hugetlb VMA lock are not
 * exported), so such a VMA is refused (kmod/ABI.md: EOPNOTSUPP).
 */
static bool sg_gup_would_fault(struct vm_area_struct *vma)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
	return is_vm_hugetlb_page(vma);
#else
	return false;
#endif
}

/*
 * Describes the pages [addr, addr + nr * PAGE_SIZE) of mm into out[], under
 * its mmap_lock (held for reading); pages[] holds nr pointers. A page
 * FOLL_NOFAULT cannot get (not present, swapped, under migration) stays all
 * zero, and so do whole VMAs gup would refuse page by page (no VM_READ,
 * VM_IO or VM_PFNMAP) and gaps between VMAs. gup is asked only about
 * addresses inside a VMA: just below a stack 6.12 warns ("GUP no longer
 * grows the stack"), and kernels without the 2023 StackRot fixes grew it.
 *
 * *described is how many pages from addr were described. Returns 0, -EINTR
 * (fatal signal) or -EOPNOTSUPP: the VMA at addr + *described is one gup
 * would fault in (sg_gup_would_fault()); nothing past it was looked at.
 */
static int sg_describe_range(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr, struct page **pages,
			     struct sg_pcache_vpage *out,
			     unsigned long *described)
{
	unsigned long done = 0;
	int err = 0;

	while (done < nr) {
		unsigned long a = addr + done * PAGE_SIZE;
		struct vm_area_struct *vma = find_vma(mm, a);
		unsigned long span;
		long got, i;

		if (!vma) {		/* nothing mapped from a on */
			done = nr;
			break;
		}
		if (vma->vm_start > a) {	/* a gap: skip to the VMA */
			done += min_t(unsigned long, nr - done,
				      (vma->vm_start - a) >> PAGE_SHIFT);
			continue;
		}
		span = min_t(unsigned long, nr - done,
			     (vma->vm_end - a) >> PAGE_SHIFT);
		if ((vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
		    !(vma->vm_flags & VM_READ)) {
			done += span;
			continue;
		}
		if (sg_gup_would_fault(vma)) {
			err = -EOPNOTSUPP;
			break;
		}
		got = sg_gup_remote(mm, a, span, pages);
		if (got == -EINTR) {
			err = -EINTR;
			break;
		}
		if (got <= 0) {		/* the page at a is not there */
			done++;
			continue;
		}
		for (i = 0; i < got; i++) {
			sg_describe_vpage(pages[i], &out[done + i]);
			put_page(pages[i]);
		}
		done += got;
	}
	*described = done;
	return err;
}

static long sg_ioc_process_pages(unsigned long uarg)
{
	struct sg_pcache_process_pages a;
	struct sg_pcache_vpage *stage;
	struct sg_pcache_vpage __user *out;
	struct page **pages;
	struct task_struct *task;
	struct mm_struct *mm;
	unsigned long addr, total;
	u32 n = 0, usize;
	long err;

	err = sg_copy_args_in(&a, sizeof(a), uarg, &usize);
	if (err)
		return err;
	if (a.flags)
		return -EINVAL;
	if (!a.max_entries || a.max_entries > SG_PCACHE_MAX_PAGE_ENTRIES)
		return -EINVAL;
	if (!PAGE_ALIGNED(a.start) || !PAGE_ALIGNED(a.end) || a.start >= a.end ||
	    a.end > TASK_SIZE_MAX)
		return -EINVAL;
	err = sg_check_user_array(a.entries, a.max_entries, sizeof(*stage));
	if (err)
		return err;
	out = (struct sg_pcache_vpage __user *)(unsigned long)a.entries;

	task = sg_pidfd_task(a.pidfd);
	if (IS_ERR(task))
		return PTR_ERR(task);
	/*
	 * As mm_access() does: exec_update_lock keeps an exec (of a setuid
	 * program, say) from replacing the mm and the credentials between the
	 * grab and the check, so the mm checked is the mm read. A reference to
	 * mm_users: its mappings stay while we look.
	 */
	err = down_read_killable(&task->signal->exec_update_lock);
	if (err)
		goto out_task;
	mm = get_task_mm(task);
	if (!mm) {
		up_read(&task->signal->exec_update_lock);
		err = -ESRCH;
		goto out_task;
	}
	err = sg_may_read_memory(task, mm);
	up_read(&task->signal->exec_update_lock);
	if (err)
		goto out_mm;
	stage = kvmalloc_array(SG_PROCESS_CHUNK, sizeof(*stage), GFP_KERNEL);
	pages = kmalloc_array(SG_PROCESS_CHUNK, sizeof(*pages), GFP_KERNEL);
	err = -ENOMEM;
	if (!stage || !pages)
		goto out_free;

	total = min_t(u64, a.max_entries, (a.end - a.start) >> PAGE_SHIFT);
	addr = a.start;
	err = 0;
	while (n < total) {
		unsigned long nr = min_t(unsigned long, total - n, SG_PROCESS_CHUNK);
		unsigned long got;

		/* The process is exiting: what it held is going away. */
		if (task->flags & PF_EXITING) {
			err = -ESRCH;
			break;
		}
		memset(stage, 0, nr * sizeof(*stage));
		if (mmap_read_lock_killable(mm)) {
			err = -EINTR;
			break;
		}
		err = sg_describe_range(mm, addr, nr, pages, stage, &got);
		mmap_read_unlock(mm);
		if (got && copy_to_user(out + n, stage, got * sizeof(*stage))) {
			err = -EFAULT;
			break;
		}
		n += got;
		addr += got * PAGE_SIZE;
		if (err == -EOPNOTSUPP) {
			/*
			 * A mapping gup would fault in: the call ends before
			 * it (next is its start); a call starting in it fails.
			 */
			if (n)
				err = 0;
			break;
		}
		if (err)
			break;
		cond_resched();
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
	}
	if (!err) {
		a.next = addr;
		a.nr_entries = n;
		a.status = addr == a.end ? SG_PCACHE_STATUS_DONE : 0;
		err = sg_copy_args_out(uarg, &a, sizeof(a), usize);
	}
out_free:
	kfree(pages);
	kvfree(stage);
out_mm:
	mmput(mm);
out_task:
	put_task_struct(task);
	return err;
}

static long sg_ioc_version(unsigned long uarg)
{
	struct sg_pcache_version v;
	u32 usize;
	int err;

	err = sg_copy_args_in(&v, sizeof(v), uarg, &usize);
	if (err)
		return err;
	v.abi_major = SG_PCACHE_ABI_MAJOR;
	v.abi_minor = SG_PCACHE_ABI_MINOR;
	v.page_size = PAGE_SIZE;
	v.features = SG_PCACHE_FEAT_FILE_PAGES | SG_PCACHE_FEAT_XXH64 |
		     SG_PCACHE_FEAT_EVICT | SG_PCACHE_FEAT_FOLIO_ORDER |
		     SG_PCACHE_FEAT_PROCESS_PAGES;
	v.max_page_entries = SG_PCACHE_MAX_PAGE_ENTRIES;
	v.max_evict_ranges = SG_PCACHE_MAX_EVICT_RANGES;
	v.reserved0 = 0;
	v.reserved = 0;
	return sg_copy_args_out(uarg, &v, sizeof(v), usize);
}

static long sg_ioc_file_pages(unsigned long uarg)
{
	struct sg_pcache_file_pages a;
	struct sg_pcache_page *stage;
	struct sg_pcache_page __user *out;
	struct address_space *mapping;
	struct folio_batch fbatch;
	struct file *file;
	pgoff_t pos, index;
	u32 n = 0, staged = 0;
	bool done = false, full = false;
	u32 usize;
	long err;

	err = sg_copy_args_in(&a, sizeof(a), uarg, &usize);
	if (err)
		return err;
	if (a.flags & ~SG_PCACHE_WANT_HASH)
		return -EINVAL;
	if (!a.max_entries || a.max_entries > SG_PCACHE_MAX_PAGE_ENTRIES)
		return -EINVAL;
	err = sg_check_user_array(a.entries, a.max_entries, sizeof(*stage));
	if (err)
		return err;
	out = (struct sg_pcache_page __user *)(unsigned long)a.entries;

	file = sg_get_cache_file(a.fd, true);
	if (IS_ERR(file))
		return PTR_ERR(file);
	mapping = file->f_mapping;

	stage = kmalloc_array(SG_STAGE_ENTRIES, sizeof(*stage), GFP_KERNEL);
	err = -ENOMEM;
	if (!stage)
		goto out_fput;

	a.file_size = i_size_read(mapping->host);
	pos = a.start_index;
	if (a.start_index > SG_MAX_INDEX)
		done = true;
	err = 0;
	while (!done && !full) {
		unsigned int i, nr;

		index = pos;
		folio_batch_init(&fbatch);
		nr = filemap_get_folios(mapping, &index, SG_MAX_INDEX, &fbatch);
		for (i = 0; i < nr && !full; i++) {
			struct folio *folio = fbatch.folios[i];
			pgoff_t first = folio->index;
			pgoff_t end = first + folio_nr_pages(folio);
			u32 flags = sg_folio_flags(folio);
			bool hash = (a.flags & SG_PCACHE_WANT_HASH) &&
				    (flags & SG_PCACHE_PAGE_UPTODATE) &&
				    !sg_folio_poisoned(folio);
			pgoff_t p;

			if (hash)
				flags |= SG_PCACHE_PAGE_HASHED;
			for (p = max(first, pos); p < end; p++) {
				struct sg_pcache_page *e = &stage[staged++];

				e->index = p;
				e->flags = flags;
				e->reserved = 0;
				e->xxh64 = hash ? sg_hash_page(folio, p) : 0;
				n++;
				if (staged == SG_STAGE_ENTRIES ||
				    n == a.max_entries) {
					if (copy_to_user(out + n - staged, stage,
							 staged * sizeof(*stage)))
						err = -EFAULT;
					staged = 0;
					cond_resched();
				}
				if (err || n == a.max_entries) {
					p++;
					full = true;
					break;
				}
			}
			pos = p;
		}
		folio_batch_release(&fbatch);
		if (err)
			goto out_free;
		/* filemap_get_folios() moves index past end when it ran out. */
		if (!full && (nr == 0 || index > SG_MAX_INDEX))
			done = true;
		if (!full && !done)
			pos = index;
		cond_resched();
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			goto out_free;
		}
	}
	if (staged && copy_to_user(out + n - staged, stage,
				   staged * sizeof(*stage))) {
		err = -EFAULT;
		goto out_free;
	}
	/* A full result may also have reached the end: the next call says so. */
	a.next_index = pos;
	a.nr_entries = n;
	a.status = done ? SG_PCACHE_STATUS_DONE : 0;
	err = sg_copy_args_out(uarg, &a, sizeof(a), usize);

out_free:
	kfree(stage);
out_fput:
	fput(file);
	return err;
}

/* Is any folio cached at index? (No LRU effect: a bare reference.) */
static bool sg_folio_present(struct address_space *mapping, pgoff_t index)
{
	struct folio_batch fbatch;
	pgoff_t i = index;
	unsigned int nr;

	folio_batch_init(&fbatch);
	nr = filemap_get_folios(mapping, &i, index, &fbatch);
	folio_batch_release(&fbatch);
	return nr != 0;
}

struct sg_candidate {
	pgoff_t first;
	unsigned long nr;
};

static int sg_evict_range(struct address_space *mapping, bool shmem,
			  pgoff_t start, pgoff_t end, struct sg_pcache_evict *a)
{
	struct sg_candidate cand[PAGEVEC_SIZE];
	struct folio_batch fbatch;
	pgoff_t index = start;

	while (index <= end) {
		unsigned int i, nr, nc = 0;

		folio_batch_init(&fbatch);
		nr = filemap_get_folios(mapping, &index, end, &fbatch);
		if (!nr)
			break;
		for (i = 0; i < nr; i++) {
			struct folio *folio = fbatch.folios[i];
			pgoff_t first = folio->index;
			unsigned long nrp = folio_nr_pages(folio);
			pgoff_t last = first + nrp - 1;
			u64 pages = min(last, end) - max(first, start) + 1;

			if (shmem || folio_test_swapbacked(folio))
				a->skipped_shmem += pages;
			else if (first < start || last > end)
				a->skipped_partial += pages;
			else if (folio_test_dirty(folio))
				a->skipped_dirty += pages;
			else if (folio_test_writeback(folio))
				a->skipped_writeback += pages;
			else if (folio_mapped(folio))
				a->skipped_mapped += pages;
			else if (folio_test_locked(folio))
				a->skipped_locked += pages;
			else if (nc < ARRAY_SIZE(cand))
				cand[nc++] = (struct sg_candidate){ first, nrp };
			else
				a->skipped_busy += pages;
		}
		/* Our references would make every folio look busy: drop them. */
		folio_batch_release(&fbatch);
		for (i = 0; i < nc; i++) {
			invalidate_mapping_pages(mapping, cand[i].first,
						 cand[i].first + cand[i].nr - 1);
			/*
			 * Its return value also counts removed shadow entries:
			 * look again instead. Whatever stays was dirtied,
			 * mapped or referenced meanwhile (or sits in a per-CPU
			 * LRU batch, which modules cannot drain).
			 */
			if (sg_folio_present(mapping, cand[i].first))
				a->skipped_busy += cand[i].nr;
			else
				a->evicted_pages += cand[i].nr;
		}
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

static long sg_ioc_evict(unsigned long uarg)
{
	struct sg_pcache_evict a;
	struct sg_pcache_range *ranges;
	struct address_space *mapping;
	struct file *file;
	pgoff_t eof_pages;
	bool shmem;
	u32 i, usize;
	long err;

	err = sg_copy_args_in(&a, sizeof(a), uarg, &usize);
	if (err)
		return err;
	if (a.reserved)
		return -EINVAL;
	if (!a.nr_ranges || a.nr_ranges > SG_PCACHE_MAX_EVICT_RANGES)
		return -EINVAL;
	err = sg_check_user_array(a.ranges, a.nr_ranges, sizeof(*ranges));
	if (err)
		return err;

	file = sg_get_cache_file(a.fd, true);
	if (IS_ERR(file))
		return PTR_ERR(file);
	mapping = file->f_mapping;

	ranges = kvmalloc_array(a.nr_ranges, sizeof(*ranges), GFP_KERNEL);
	err = -ENOMEM;
	if (!ranges)
		goto out_fput;
	err = -EFAULT;
	if (copy_from_user(ranges, (const void __user *)(unsigned long)a.ranges,
			   a.nr_ranges * sizeof(*ranges)))
		goto out_free;

	eof_pages = DIV_ROUND_UP(i_size_read(mapping->host), PAGE_SIZE);
	for (i = 0; i < a.nr_ranges; i++) {
		err = -EINVAL;
		if (!ranges[i].nr_pages || ranges[i].start > SG_MAX_INDEX)
			goto out_free;
		err = -ERANGE;
		if (ranges[i].start >= eof_pages)
			goto out_free;
	}

	a.evicted_pages = 0;
	a.skipped_dirty = 0;
	a.skipped_writeback = 0;
	a.skipped_mapped = 0;
	a.skipped_locked = 0;
	a.skipped_partial = 0;
	a.skipped_shmem = 0;
	a.skipped_busy = 0;
	shmem = sg_mapping_is_shmem(mapping);
	for (i = 0; i < a.nr_ranges; i++) {
		pgoff_t start = ranges[i].start;
		pgoff_t end = SG_MAX_INDEX;

		if (ranges[i].nr_pages - 1 < SG_MAX_INDEX - start)
			end = start + ranges[i].nr_pages - 1;
		err = sg_evict_range(mapping, shmem, start, end, &a);
		if (err)
			goto out_free;
	}
	err = sg_copy_args_out(uarg, &a, sizeof(a), usize);

out_free:
	kvfree(ranges);
out_fput:
	fput(file);
	return err;
}

/*
 * An ioctl is its magic, number and direction: the size bits of the number
 * follow whatever struct the caller was compiled with and are ignored (the
 * struct's own size field is checked instead), so a grown struct still
 * reaches its handler. Number 4 (LIST_INODES, retired in ABI 2.0) is no
 * ioctl: -ENOTTY like any other unknown number.
 */
static long sg_pcache_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (_IOC_TYPE(cmd) != SG_PCACHE_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(SG_PCACHE_IOC_VERSION):
		return sg_ioc_version(arg);
	case _IOC_NR(SG_PCACHE_IOC_FILE_PAGES):
		return sg_ioc_file_pages(arg);
	case _IOC_NR(SG_PCACHE_IOC_EVICT):
		return sg_ioc_evict(arg);
	case _IOC_NR(SG_PCACHE_IOC_PROCESS_PAGES):
		return sg_ioc_process_pages(arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations sg_pcache_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sg_pcache_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice sg_pcache_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = SG_PCACHE_DEVICE_NAME,
	.fops = &sg_pcache_fops,
	.mode = 0600,
};

static int __init sg_pcache_init(void)
{
	int err;
	void *zeros = kzalloc(PAGE_SIZE, GFP_KERNEL);

	if (!zeros)
		return -ENOMEM;
	sg_zero_hash = xxh64(zeros, PAGE_SIZE, 0);
	kfree(zeros);
	err = misc_register(&sg_pcache_dev);

	if (err)
		pr_err("misc_register failed: %d\n", err);
	return err;
}

static void __exit sg_pcache_exit(void)
{
	misc_deregister(&sg_pcache_dev);
}

module_init(sg_pcache_init);
module_exit(sg_pcache_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("singleton: side-effect-free page-cache view and eviction");
MODULE_VERSION(SG_PCACHE_VERSION);
