// SPDX-License-Identifier: GPL-2.0-only
/**
 * Kernel behaviour profiles. A profile is a named set of behaviour switches,
 * read at the few places where kernel versions differ; code never compares
 * version names. Switches are named for the behaviour they select.
 *
 * `latest` is Linux 7.2 (the newest kernel we can read and boot, as
 * `../shared/oracle-7.2/`), `v6.12` is the 6.12 LTS kernel of
 * `../shared/oracle/` (6.12.95 with its stable fixes), `v6.5` takes the v6.5
 * (+ stable fixes) side of every later change, `v6.2` is the first release,
 * with the four pages.c bugs fixed in v6.3-rc6 / v6.5-rc4.
 */

export type ProfileName = 'latest' | 'v6.12' | 'v6.5' | 'v6.2';

export interface Profile {
  readonly name: ProfileName;
  /** The release uname(2) and /proc/sys/kernel/osrelease report (the oracle kernels' for latest and v6.12). */
  readonly release: string;
  // --- pages.c bugs present in v6.2 (kernel-core.md §5.10) ---
  /** batch_clear_carry leaves `end` at 0 after installing the carry (fixed b7c822fa6b77). */
  readonly carryLeavesEndZero: boolean;
  /** batch_clear_carry writes npfns[0] before computing pfns[0] (fixed 13a0d1ae7ee6). */
  readonly carryWritesCountFirst: boolean;
  /** iopt_area_unpin_domain computes batch_last_index from the read start, not start_index (fixed 727c28c1cef2). */
  readonly unpinLastIndexFromReadStart: boolean;
  /** iopt_alloc_pages does not reject uptr + length wrapping past 2^64 (fixed e4395701330f). */
  readonly skipUptrOverflowCheck: boolean;
  // --- later behaviour changes (kernel-core.md §16, uapi-spec.md §9) ---
  /** iopt_alloc_iova caps the automatic alignment at HPAGE_SIZE (v6.11). */
  readonly autoIovaAlignCap: boolean;
  /** iopt_alloc_iova uses overflow-checked ALIGN and rejects start' >= last (2025). */
  readonly autoIovaCheckedAlign: boolean;
  /** Unmap of an empty range succeeds in io_pagetable; IOAS_UNMAP itself reports -ENOENT (late 2025). */
  readonly unmapEmptyRangeOk: boolean;
  /** Unmap advances `start` past each unmapped area (latest). */
  readonly unmapAdvancesStart: boolean;
  /** -EDEADLOCK from unmap still reports the bytes unmapped (2025). */
  readonly deadlockReportsUnmapped: boolean;
  /** Unmap loop re-asks accesses up to 100 times (v6.5-rc1); before, one notify then WARN if still held. */
  readonly unmapRetryLimit: boolean;
  /** iommufd_access: detach / replace and the ioas_unpin path (v6.6). */
  readonly accessReplace: boolean;
  /** iopt_add_access assigns the access list id only on success (v6.6+). */
  readonly accessIdOnSuccess: boolean;
  /**
   * The selftest mock domain is the xarray one that WARNs when unmap or
   * iova_to_phys meets a missing entry (v6.2-v6.6); later mocks tolerate holes.
   */
  readonly mockWarnsMissingEntries: boolean;
  /**
   * The xarray mock's mock_domain_iova_to_phys() WARNs on a missing entry
   * (WARN_ON(!ent)); its unmap stopped warning in v6.7 but iova_to_phys kept it
   * until the mock moved to the generic AMDv1 page table (v6.19). Seen on the
   * 6.12.95 oracle at selftest.c:488.
   */
  readonly mockIovaToPhysWarnsMissing: boolean;
  /**
   * The selftest mock paging domain: the xarray of 2 KiB entries (up to 6.18)
   * or the generic IO page table in the AMDv1 selftest format (6.19 on: real
   * PTEs, every power-of-two page size from 2 KiB to 64 GiB, unmap that cannot
   * split a leaf).
   */
  readonly mockPageTable: 'xarray' | 'amdv1';
  /**
   * Pages of the [vvar_vclock] mapping (the pvclock / hvclock pages the
   * generic vDSO data store moved out of [vvar] in v6.15): 2 on 7.2, none
   * (no such mapping) on 6.12 and older.
   */
  readonly vvarVclockPages: number;
  /**
   * A fault-queue read too short for the first waiting group is -EINVAL
   * (iommufd_fault_fops_read() in eventq.c, 7.x); 6.12's fault.c reads
   * nothing and returns 0.
   */
  readonly faultReadShortIsEinval: boolean;
  /**
   * A replace away from an HWPT with a fault queue answers the old attachment's
   * outstanding faults in the NEW HWPT's queue (6.12's
   * iommufd_hwpt_replace_device() passes `hwpt`, not `old`, to
   * iommufd_auto_response_faults(), a kernel bug fixed in 7.x): unless the two
   * share a queue, the old queue's groups stay readable and their cookies
   * answerable.
   */
  readonly faultReplaceAnswersNewQueue: boolean;
  /**
   * Turning IOPF on for a mock device allocates its fault parameter there
   * and then (7.x: the driver's attach_dev -> mock_dev_enable_iopf() ->
   * iopf_queue_add_device(), a kzalloc fail-nth counts); 6.12's sweeps pass
   * no point there.
   */
  readonly iopfEnableAllocates: boolean;
  /**
   * Where the first clock's `seq` lies in the first [vvar] page: 0 on 7.2
   * (struct vdso_time_data starts the page), 128 on 6.12 (x86
   * DECLARE_VVAR(128, struct vdso_data, _vdso_data)).
   */
  readonly vvarSeqOffset: number;
  /** The iommufd file has an mmap (iommufd_fops_mmap, with the HW queue series): the driver regions of a vIOMMU. */
  readonly iommufdMmap: boolean;
  /** MAP_STACK sets VM_NOHUGEPAGE (calc_vm_flag_bits, v6.7+). */
  readonly mapStackNoHugepage: boolean;
  /**
   * A MAP_HUGETLB hint is aligned down to the huge page (x86's own
   * hugetlb_get_unmapped_area(), gone in 6.13); 7.x aligns it up
   * (fs/hugetlbfs hugetlb_get_unmapped_area(): ALIGN()).
   */
  readonly hugetlbHintAlignsDown: boolean;
  /**
   * MADV_COLLAPSE scans as 7.x does (mm/khugepaged.c collapse_scan_pmd():
   * no writable PTE needed, SCAN_NO_PTE_TABLE skipped, hstart >= hend is 0);
   * 6.12 and older need a writable PTE (SCAN_PAGE_RO), stop at an empty PMD
   * (SCAN_PMD_NONE) and answer EINVAL for a range inside one block
   * (MmOptions.collapseAnyPte).
   */
  readonly madviseCollapseAnyPte: boolean;
  /**
   * A write fault on the huge zero page allocates a THP (7.x
   * do_huge_zero_wp_pmd()); 6.12 splits it into small zero PTEs and the write
   * gets a small page (MmOptions.hugeZeroWpThp).
   */
  readonly hugeZeroWriteAllocsThp: boolean;
  /**
   * The first THP fault of an mm enters it in khugepaged's list
   * (__khugepaged_enter(), a slab allocation fail-nth counts and that a
   * fault tolerates): 7.x allocates the slot first and marks the mm
   * (MMF_VM_HUGEPAGE) only once it has one, so a failed one is tried again
   * at the next THP fault; 6.12 marks the mm first (MmOptions.khugepagedSlotFirst).
   */
  readonly khugepagedSlotFirst: boolean;
  /**
   * MADV_DONTNEED of a whole 2 MiB slice frees its page table once empty
   * (CONFIG_PT_RECLAIM, 6.14: zap_pte_range() → try_to_free_pte(); the 7.2
   * oracle has it). Without it an emptied table stays until munmap
   * (free_pgtables()), so a later fault there is 4 KiB, not a THP
   * (MmOptions.ptReclaim).
   */
  readonly ptReclaim: boolean;
  /**
   * mremap(2) as 6.17+ (mm/mremap.c do_mremap()): check_mremap_params()
   * refuses bad lengths and addresses before the VMA is looked up (a new
   * length over TASK_SIZE is EINVAL where 6.12 answers EFAULT for a missing
   * VMA first), the DONTUNMAP lengths are compared once page-aligned, and an
   * MREMAP_FIXED move of an unchanged length moves every VMA of the range
   * (remap_move(); 6.12: EFAULT past the first VMA). MmOptions.mremapMulti.
   */
  readonly mremapMovesVmas: boolean;
  /**
   * Reclaim of a lazily freed (MADV_FREE) folio it cannot discard, as 7.x's
   * try_to_unmap_one() and __discard_anon_folio_pmd_locked() do it: only a
   * dirty one becomes swap-backed again, one held by a pin (an extra
   * reference) stays lazily freed, and a PMD-mapped THP is never split for
   * it. 6.12 makes either swap-backed and splits the THP's PMD
   * (TTU_SPLIT_HUGE_PMD). MmOptions.lazyfreeKeepsReferenced.
   */
  readonly lazyfreeKeepsReferenced: boolean;
  /**
   * The huge zero folio is mapped by a special PMD (7.x set_huge_zero_folio():
   * pmd_mkspecial()), which gup_fast_pmd_leaf() refuses, so GUP takes it
   * through the slow walk and check_vma_flags() (a read of a write-only VMA is
   * EFAULT); 6.12's lockless walk takes it. MmOptions.hugeZeroSpecial.
   */
  readonly hugeZeroPmdSpecial: boolean;
  /**
   * [vvar] is VM_MIXEDMAP with refcounted data pages (7.x's generic vDSO
   * datastore, lib/vdso/datastore.c vvar_fault()): a page a user read
   * faulted in is a normal present PTE, which get_user_pages_fast() takes
   * (the slow walk still refuses VM_IO), MADV_DONTNEED zaps and MADV_COLD /
   * MADV_PAGEOUT accept; 6.12's [vvar] is VM_PFNMAP (special entries:
   * EFAULT, and EINVAL for those advices). MmOptions.vvarMixed.
   */
  readonly vvarMixedMap: boolean;
  /**
   * MADV_DOFORK is -EINVAL on any VM_SPECIAL mapping (7.x madvise_vma_behavior()):
   * [vdso], [vvar], a PFN map and a hugetlb one (VM_DONTEXPAND); 6.12 refuses only
   * VM_IO. MmOptions.doforkRefusesSpecial.
   */
  readonly madvDoforkRefusesSpecial: boolean;
  /**
   * PR_SET_THP_DISABLE takes PR_THP_DISABLE_EXCEPT_ADVISED in arg3 (v6.18):
   * THPs only where MADV_HUGEPAGE (or MADV_COLLAPSE) asks, and PR_GET_THP_DISABLE
   * reports 3; 6.12 refuses any arg3 (EINVAL). MmOptions.thpDisableExceptAdvised.
   */
  readonly thpDisableExceptAdvised: boolean;
  /**
   * madvise(MADV_GUARD_INSTALL / MADV_GUARD_REMOVE) (v6.13): guard regions, PTE
   * markers that fault SIGSEGV (EFAULT for GUP and copies); 6.12 has neither
   * advice (EINVAL). MmOptions.guardRegions.
   */
  readonly madvGuard: boolean;
  /**
   * VMA merges and a changed VMA's anon_vma (is_mergeable_anon_vma()): 7.x
   * lets a VMA with an anon_vma merge into a neighbour without one unless it is
   * a fork child's; 6.12 never does (the target's empty chain is not
   * singular). Both refuse a fork child's anon_vma to a neighbour without one.
   * MmOptions.anonMergeSrcWithout.
   */
  readonly anonMergeSrcWithout: boolean;
  /**
   * mseal(2) (v6.10): VM_SEALED VMAs refuse munmap, mremap, mprotect and a
   * MAP_FIXED over them (EPERM), and discarding advice on a read-only
   * anonymous one; without it the system call is ENOSYS (Process.mseal()).
   */
  readonly mseal: boolean;
  /**
   * Which sealed VMA is read-only anonymous for madvise: 7.x's
   * can_madvise_modify() asks vma_is_anonymous() (no vm_ops: a [vdso] or
   * [vvar] is not); 6.12's is_ro_anon() a VMA with no vm_file that is not
   * shared (a special mapping is). MmOptions.msealAnonByVmOps.
   */
  readonly msealAnonByVmOps: boolean;
  /** open() with O_DIRECTORY | O_CREAT is -EINVAL (build_open_flags(), v6.4); before, the flags passed on. */
  readonly openDirectoryCreateEinval: boolean;
  /**
   * 7.x open flags: O_EMPTYPATH (1 << 26) is one (VALID_OPEN_FLAGS and
   * O_PATH_FLAGS keep it; with an empty path the directory descriptor's own
   * file is opened, LOOKUP_EMPTY) and openat2() takes OPENAT2_REGULAR
   * (-EFTYPE for a file that is no regular one). Before, 1 << 26 was
   * __FMODE_NONOTIFY: open() drops it and openat2() strips it unchecked.
   */
  readonly openEmptyPath: boolean;
  /**
   * Pseudo filesystems are noexec (7.x init_pseudo() sets SB_I_NOEXEC): mmap
   * with PROT_EXEC of an anon-inode file or a dma-buf is -EPERM; 6.12's
   * init_pseudo() does not, and the fault fd answers -ENODEV (no mmap).
   */
  readonly pseudoFsNoexec: boolean;
  /**
   * fallocate()'s FALLOC_FL_WRITE_ZEROES (0x80) is one of vfs_fallocate()'s
   * modes (6.17): without KEEP_SIZE it passes the VFS checks (a read-only
   * descriptor is then -EBADF) and the filesystem refuses it; before, an
   * unknown mode bit is -EOPNOTSUPP first.
   */
  readonly fallocWriteZeroes: boolean;
  /**
   * fchmod/fchown of an anon-inode file (the access, fault and vEVENTQ fds)
   * is -EOPNOTSUPP (7.x anon_inode_setattr()); 6.12's anon inode takes
   * simple_setattr() and the owner checks (0 for root).
   */
  readonly anonInodeSetattrRefused: boolean;
  /**
   * A buffered write (shmem's) faults the user buffer in only after a short
   * copy (7.x generic_perform_write(), "filemap: move prefaulting out of hot
   * write path"): a page whose first byte cannot be read still gets its
   * folio added (write_begin) and i_size raised to the position reached
   * (write_end). 6.12 faults the chunk in first and stops with -EFAULT before
   * either.
   */
  readonly writeFaultInAfterShortCopy: boolean;
  /** GUP of a range wrapping past 2^64 fails with -EOVERFLOW (later kernels); v6.2-v6.6 return 0 pages. */
  readonly gupWrapFailsWithOverflow: boolean;
  /** test WARN at unfill_domains when an area with a storage domain is not in domains_itree. */
  readonly warnAreaNotInDomainsItree: boolean;
  /**
   * iopt_alloc_user_pages() checks uptr + length for wrap (-EOVERFLOW) before
   * iopt_alloc_pages() checks the length (-EINVAL) (v6.13, IOMMU_IOAS_MAP_FILE
   * split the user and file paths); before, the length came first.
   */
  readonly uptrOverflowBeforeLength: boolean;
  // --- the selftest driver (drivers/iommu/iommufd/selftest.c) ---
  /**
   * MOCK_FLAGS_DEVICE_* bits mock_dev_create() accepts: NO_DIRTY | HUGE_IOVA in
   * 6.12; 7.2 dropped HUGE_IOVA (the generic-pt mock) and added PASID.
   */
  readonly mockDevValidFlags: number;
  /**
   * iommufd_test_md_check_pa() looks the mock HWPT up before it checks the
   * arguments (7.2: the page size comes from the domain's pgsize_bitmap), so a
   * bad ID is -ENOENT even with bad arguments; 6.12 checks the arguments first.
   */
  readonly mdCheckMapLookupFirst: boolean;
  /**
   * iommufd_test_dirty() refuses more than 16 MiB of bitmap (EOVERFLOW) before
   * it looks the HWPT up (7.2); 6.12 has no cap: the lookup, the dirty-tracking
   * check, then a kvzalloc of the whole bitmap (ENOMEM past INT_MAX bytes).
   */
  readonly testDirtyLengthCap: boolean;
  /**
   * iommufd_test_add_reserved() rejects length 0 (-EINVAL) and a start + length - 1
   * that wraps (-EOVERFLOW) before the reservation (6.12.95 and 7.2; the model's
   * older selftest wrapped the last IOVA around).
   */
  readonly addReservedChecksRange: boolean;
  /**
   * struct iommu_hwpt_selftest has `pagetable_type` after `iotlb` (7.2, the
   * generic-pt mock): 8 bytes, so a nested HWPT's data_len may be 8; 6.12's
   * struct is 4 bytes and a longer data_len is -EINVAL.
   */
  readonly mockHwptSelftestPagetableType: boolean;
  // --- uAPI layer (uapi-spec.md §9) ---
  /**
   * IOMMU_GET_HW_INFO takes IOMMU_HW_INFO_FLAG_INPUT_TYPE with in_data_type
   * (7.2); 6.12 rejects every flag (-EOPNOTSUPP).
   */
  readonly hwInfoInputType: boolean;
  /**
   * IOMMU_GET_HW_INFO sets IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED for a device
   * whose driver does not report IOMMU_CAP_PCI_ATS_SUPPORTED (the mock's
   * never does); 6.12 has no such capability bit.
   */
  readonly hwInfoAtsNotSupportedCap: boolean;
  /**
   * IOMMU_HWPT_INVALIDATE bounds entry_len by PAGE_SIZE and entry_num by
   * IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX (-EINVAL); 6.12.95 checks neither.
   */
  readonly invalidateEntryNumCap: boolean;
  /**
   * IOMMU_HWPT_INVALIDATE looks hwpt_id up as any object and takes a nested
   * HWPT or a vIOMMU, other types -EINVAL (7.2); 6.12 looks up a nested HWPT
   * only, other types -ENOENT.
   */
  readonly invalidateTakesViommu: boolean;
  /** IOMMU_HWPT_ALLOC takes IOMMU_HWPT_ALLOC_PASID (7.2); 6.12: -EOPNOTSUPP. */
  readonly hwptAllocPasidFlag: boolean;
  /**
   * IOMMU_HWPT_FAULT_ID_VALID is accepted on paging HWPTs too (7.2,
   * iommufd_hwpt_paging_alloc valid_flags); 6.12 takes it on nested ones only.
   */
  readonly hwptFaultIdOnPaging: boolean;
  /** IOAS_MAP / IOAS_COPY reject flags with neither READABLE nor WRITEABLE (-EINVAL, v6.11, backported). */
  readonly mapNeedsReadOrWrite: boolean;
  /** VFIO_IOMMU_GET_INFO rounds each capability up to 8 bytes (v6.6); before, the IOVA cap sat at offset 36. */
  readonly vfioInfoCapsAligned: boolean;
  /** struct iommu_test_cmd carries the 48-byte union with the `dirty` member (v6.7): size 72, min 68; before, 56 / 52. */
  readonly testCmdDirtyUnion: boolean;
  // --- which uAPI exists (uapi-spec.md §9) ---
  /**
   * The highest IOMMUFD_CMD_* number the kernel has (IOMMUFD_CMD_BASE 0x80 + n):
   * 0x88 VFIO_IOAS in v6.5, 0x8e FAULT_QUEUE_ALLOC in 6.12, 0x94 HW_QUEUE_ALLOC in 7.2.
   * A later number is answered as an unknown command (-ENOTTY, iommufd_fops_ioctl).
   */
  readonly lastIommufdCmd: number;
  /**
   * The highest IOMMU_TEST_OP_* the selftest driver has: 12 MOCK_DOMAIN_FLAGS in
   * v6.5, 15 TRIGGER_IOPF in 6.12, 23 in 7.2. Later ops get -EOPNOTSUPP
   * (iommufd_test's default case).
   */
  readonly lastTestOp: number;
}

const latest: Profile = Object.freeze({
  name: 'latest',
  release: '7.2.13',
  carryLeavesEndZero: false,
  carryWritesCountFirst: false,
  unpinLastIndexFromReadStart: false,
  skipUptrOverflowCheck: false,
  autoIovaAlignCap: true,
  autoIovaCheckedAlign: true,
  unmapEmptyRangeOk: true,
  unmapAdvancesStart: true,
  deadlockReportsUnmapped: true,
  unmapRetryLimit: true,
  accessReplace: true,
  accessIdOnSuccess: true,
  warnAreaNotInDomainsItree: true,
  mockWarnsMissingEntries: false,
  mockIovaToPhysWarnsMissing: false,
  // 7.2's selftest mock is the generic IO page table in the AMDv1 format.
  mockPageTable: 'amdv1',
  vvarVclockPages: 2,
  faultReadShortIsEinval: true,
  faultReplaceAnswersNewQueue: false,
  iopfEnableAllocates: true,
  vvarSeqOffset: 0,
  iommufdMmap: true,
  mapStackNoHugepage: true,
  hugetlbHintAlignsDown: false,
  madviseCollapseAnyPte: true,
  hugeZeroWriteAllocsThp: true,
  khugepagedSlotFirst: true,
  ptReclaim: true,
  mremapMovesVmas: true,
  lazyfreeKeepsReferenced: true,
  hugeZeroPmdSpecial: true,
  vvarMixedMap: true,
  madvDoforkRefusesSpecial: true,
  thpDisableExceptAdvised: true,
  madvGuard: true,
  anonMergeSrcWithout: true,
  mseal: true,
  msealAnonByVmOps: true,
  openDirectoryCreateEinval: true,
  openEmptyPath: true,
  pseudoFsNoexec: true,
  fallocWriteZeroes: true,
  anonInodeSetattrRefused: true,
  writeFaultInAfterShortCopy: true,
  // 7.2 checks the wrap first (the oracle answers EOVERFLOW).
  uptrOverflowBeforeLength: true,
  mockDevValidFlags: 0x5,
  mdCheckMapLookupFirst: true,
  testDirtyLengthCap: true,
  addReservedChecksRange: true,
  hwInfoInputType: true,
  mockHwptSelftestPagetableType: true,
  hwInfoAtsNotSupportedCap: true,
  invalidateEntryNumCap: true,
  invalidateTakesViommu: true,
  hwptAllocPasidFlag: true,
  hwptFaultIdOnPaging: true,
  mapNeedsReadOrWrite: true,
  vfioInfoCapsAligned: true,
  testCmdDirtyUnion: true,
  gupWrapFailsWithOverflow: true,
  lastIommufdCmd: 0x94,
  lastTestOp: 23,
});

/**
 * Linux 6.12.95 (linux-source-6.12 6.12.95-1~bpo12+1, judged against the
 * ../shared/oracle VM). Its io_pagetable.c and pages.c take the latest side of
 * every switch above: iopt_alloc_iova() caps the alignment at HPAGE_SIZE and
 * aligns with check_add_overflow(); iopt_unmap_iova_range() starts with rc 0,
 * moves start past each area, retries accesses up to 100 times and reports the
 * bytes unmapped on -EDEADLOCK; the access replace and IOAS_MAP read/write
 * checks are in. It differs in the uAPI it has (ENOTTY / EOPNOTSUPP past
 * IOMMU_CMD_FAULT_QUEUE_ALLOC / IOMMU_TEST_OP_TRIGGER_IOPF), in the order of
 * iopt_alloc_pages()'s checks (uptrOverflowBeforeLength), and in its selftest
 * driver, still the xarray mock (mockPageTable, mockIovaToPhysWarnsMissing, mockDevValidFlags,
 * mdCheckMapLookupFirst).
 */
const v612: Profile = Object.freeze({
  ...latest,
  name: 'v6.12',
  release: '6.12.95',
  hugetlbHintAlignsDown: true,
  madviseCollapseAnyPte: false,
  hugeZeroWriteAllocsThp: false,
  khugepagedSlotFirst: false,
  ptReclaim: false,
  mremapMovesVmas: false,
  lazyfreeKeepsReferenced: false,
  hugeZeroPmdSpecial: false,
  vvarMixedMap: false,
  madvDoforkRefusesSpecial: false,
  thpDisableExceptAdvised: false,
  madvGuard: false,
  anonMergeSrcWithout: false,
  msealAnonByVmOps: false,
  mockIovaToPhysWarnsMissing: true,
  mockPageTable: 'xarray',
  vvarVclockPages: 0,
  faultReadShortIsEinval: false,
  faultReplaceAnswersNewQueue: true,
  iopfEnableAllocates: false,
  vvarSeqOffset: 128,
  iommufdMmap: false,
  openEmptyPath: false,
  pseudoFsNoexec: false,
  fallocWriteZeroes: false,
  anonInodeSetattrRefused: false,
  writeFaultInAfterShortCopy: false,
  uptrOverflowBeforeLength: false,
  mockDevValidFlags: 0x3,
  mdCheckMapLookupFirst: false,
  testDirtyLengthCap: false,
  hwInfoInputType: false,
  mockHwptSelftestPagetableType: false,
  hwInfoAtsNotSupportedCap: false,
  invalidateEntryNumCap: false,
  invalidateTakesViommu: false,
  hwptAllocPasidFlag: false,
  hwptFaultIdOnPaging: false,
  lastIommufdCmd: 0x8e,
  lastTestOp: 15,
});

/** Linux 6.5: 6.12's side of every uAPI switch, plus the older behaviour below. */
const v65: Profile = Object.freeze({
  ...v612,
  name: 'v6.5',
  release: '6.5.0',
  autoIovaAlignCap: false,
  autoIovaCheckedAlign: false,
  unmapEmptyRangeOk: false,
  unmapAdvancesStart: false,
  deadlockReportsUnmapped: false,
  accessReplace: false,
  accessIdOnSuccess: false,
  warnAreaNotInDomainsItree: false,
  mockWarnsMissingEntries: true,
  addReservedChecksRange: false,
  mapNeedsReadOrWrite: false,
  vfioInfoCapsAligned: false,
  testCmdDirtyUnion: false,
  gupWrapFailsWithOverflow: false,
  mapStackNoHugepage: false,
  mseal: false,
  lastIommufdCmd: 0x88,
  lastTestOp: 12,
});

const v62: Profile = Object.freeze({
  ...v65,
  name: 'v6.2',
  release: '6.2.0',
  carryLeavesEndZero: true,
  carryWritesCountFirst: true,
  unpinLastIndexFromReadStart: true,
  skipUptrOverflowCheck: true,
  unmapRetryLimit: false,
  openDirectoryCreateEinval: false,
});

const PROFILES: Record<ProfileName, Profile> = { latest, 'v6.12': v612, 'v6.5': v65, 'v6.2': v62 };

export function profileByName(name: string): Profile | undefined {
  return Object.hasOwn(PROFILES, name) ? PROFILES[name as ProfileName] : undefined;
}

export const PROFILE_NAMES: readonly ProfileName[] = ['latest', 'v6.12', 'v6.5', 'v6.2'];
