/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IOMMU_GET_HW_INFO as QEMU calls it: data_len 0/4/8/64 round trips and the zeroed tail, struct
 * sizes 16-48 with a non-zero tail, reserved fields, flags, bad pointers, wrong object types, a
 * NO_DIRTY device's capabilities; HWPT_ALLOC with DIRTY_TRACKING refused and QEMU's fallback without
 * it, DIRTY|NEST_PARENT, unknown flags, wrong ids; replace into an incompatible HWPT; destroy order.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#include "vmm.h"
/* IOMMU_GET_HW_INFO as QEMU's iommufd_backend_get_device_info() and cloud-hypervisor call it */
struct hwi { uint32_t size, flags, dev_id, data_len; uint64_t data_uptr; uint32_t type; uint8_t pasid, r[3]; uint64_t caps; uint64_t extra[2]; };
static int fd;
static void hw(const char *what, uint32_t size, uint32_t flags, uint32_t dev, uint32_t dlen, int bad, uint32_t in_type, uint8_t r0, uint64_t extra)
{
	uint8_t buf[64];
	memset(buf, 0xaa, sizeof(buf));
	struct hwi h = { .size = size, .flags = flags, .dev_id = dev, .data_len = dlen, .data_uptr = bad ? 8 : (uintptr_t)buf, .type = in_type, .r = { r0 } };
	h.extra[0] = extra;
	h.caps = 0x5555;
	h.pasid = 0x77;
	errno = 0;
	int rc = ioctl(fd, IOMMU_GET_HW_INFO, &h);
	P("%s -> %d %d len=%u type=%x pasid=%u caps=%llx buf:", what, rc, rc ? errno : 0, h.data_len, h.type, h.pasid, (unsigned long long)h.caps);
	for (int i = 0; i < 12; i++) P("%02x", buf[i]);
	P("\n");
}
int main(void)
{
	fd = open("/dev/iommu", O_RDWR);
	uint32_t ioas = ioas_new(fd), st, hwpt, idev, st2, hwpt2, idev2;
	R("attach", mock_dev(fd, ioas, 0, &st, &hwpt, &idev));
	R("attach nodirty", mock_dev(fd, ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &st2, &hwpt2, &idev2));
	P("ids %u %u %u / %u %u %u\n", st, hwpt, idev, st2, hwpt2, idev2);
	hw("len0", 32, 0, idev, 0, 0, 0, 0, 0);
	hw("len4", 32, 0, idev, 4, 0, 0, 0, 0);
	hw("len8", 32, 0, idev, 8, 0, 0, 0, 0);
	hw("len64", 32, 0, idev, 64, 0, 0, 0, 0);
	hw("nodirty len64", 32, 0, idev2, 64, 0, 0, 0, 0);
	hw("size24", 24, 0, idev, 64, 0, 0, 0, 0);
	hw("size28", 28, 0, idev, 64, 0, 0, 0, 0);
	hw("size40 zero tail", 40, 0, idev, 64, 0, 0, 0, 0);
	hw("size48 zero tail", 48, 0, idev, 64, 0, 0, 0, 0);
	hw("size48 nonzero tail", 48, 0, idev, 64, 0, 0, 0, 1);
	hw("nodirty size40", 40, 0, idev2, 64, 0, 0, 0, 0);
	hw("size36", 36, 0, idev, 64, 0, 0, 0, 0);
	hw("size16", 16, 0, idev, 64, 0, 0, 0, 0);
	hw("reserved nonzero", 32, 0, idev, 64, 0, 0, 1, 0);
	hw("bad uptr", 32, 0, idev, 64, 1, 0, 0, 0);
	hw("bad uptr len0", 32, 0, idev, 0, 1, 0, 0, 0);
	hw("dev=hwpt", 32, 0, hwpt, 64, 0, 0, 0, 0);
	hw("dev=ioas", 32, 0, ioas, 64, 0, 0, 0, 0);
	hw("dev=stdev", 32, 0, st, 64, 0, 0, 0, 0);
	hw("dev=999", 32, 0, 999, 64, 0, 0, 0, 0);
	hw("flags 2", 32, 2, idev, 64, 0, 0, 0, 0);
	hw("input type selftest", 32, 1, idev, 64, 0, IOMMU_HW_INFO_TYPE_SELFTEST, 0, 0);
	hw("input type default", 32, 1, idev, 64, 0, 0, 0, 0);
	hw("input type intel", 32, 1, idev, 64, 0, 1, 0, 0);
	hw("input type junk, flag 0", 32, 0, idev, 64, 0, 1, 0, 0);
	/* QEMU: hwpt alloc with DIRTY_TRACKING, fall back without on failure */
	struct iommu_hwpt_alloc a = { .size = sizeof(a), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = idev2, .pt_id = ioas };
	R("hwpt dirty on nodirty dev", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	a.flags = 0; R("hwpt fallback", ioctl(fd, IOMMU_HWPT_ALLOC, &a)); P(" id=%u\n", a.out_hwpt_id);
	uint32_t h0 = a.out_hwpt_id;
	a.dev_id = idev; a.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_NEST_PARENT;
	R("hwpt dirty|nest", ioctl(fd, IOMMU_HWPT_ALLOC, &a)); P(" id=%u\n", a.out_hwpt_id);
	uint32_t h1 = a.out_hwpt_id;
	a.flags = IOMMU_HWPT_ALLOC_NEST_PARENT; a.pt_id = h1;
	R("hwpt nest parent on hwpt", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	a.flags = 1 << 7; a.pt_id = ioas; R("hwpt unknown flag", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	a.flags = 0; a.dev_id = st; R("hwpt dev=stdev", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	a.dev_id = idev; a.pt_id = idev; R("hwpt pt=idev", ioctl(fd, IOMMU_HWPT_ALLOC, &a));
	a.pt_id = ioas; a.__reserved = 1; R("hwpt reserved", ioctl(fd, IOMMU_HWPT_ALLOC, &a)); a.__reserved = 0;
	R("replace nodirty to h1 (dirty)", md_replace(fd, st2, h1, NULL));
	R("replace dev to h0", md_replace(fd, st, h0, NULL));
	R("replace dev to h1", md_replace(fd, st, h1, NULL));
	R("destroy h1 in use", destroy(fd, h1));
	R("destroy auto hwpt", destroy(fd, hwpt));
	R("destroy auto hwpt2", destroy(fd, hwpt2));
	R("replace nodirty to ioas", md_replace(fd, st2, ioas, NULL));
	R("destroy h0", destroy(fd, h0));
	R("destroy ioas in use", destroy(fd, ioas));
	R("destroy idev", destroy(fd, idev));
	R("destroy st", destroy(fd, st));
	R("destroy h1", destroy(fd, h1));
	hw("after destroy", 32, 0, idev, 64, 0, 0, 0, 0);
	return 0;
}
