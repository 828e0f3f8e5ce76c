/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Both RLIMIT_MODEs with CAP_IPC_LOCK dropped: RLIMIT_MEMLOCK exactly at the size mapped and one page
 * below, an attach that must pin, a second device, VmPin/VmLck; RLIMIT_MODE with objects present
 * (EBUSY) and a bad value; HUGE_PAGES get/set edge cases.
 * Written as an independent VMM engineer would probe the uAPI; each step prints its result, so that
 * the oracle suite compares the output on Linux 6.12 and 7.2 with the output under exec. Not a check
 * program.
 */
#define _GNU_SOURCE
#include "vmm.h"
/* RLIMIT_MEMLOCK at the edge as an unprivileged VMM meets it, both accounting modes */
static int opt(int fd, uint32_t id, uint16_t op, uint32_t obj, uint64_t *val)
{
	struct iommu_option o = { .size = sizeof(o), .option_id = id, .op = op, .object_id = obj, .val64 = *val };
	int r = ioctl(fd, IOMMU_OPTION, &o);
	*val = o.val64;
	return r;
}
static void lim(uint64_t v) { struct rlimit r = { v, 64 << 20 }; setrlimit(RLIMIT_MEMLOCK, &r); P("limit %llu\n", (unsigned long long)v); }
static void st(const char *t) { P("%s VmPin %ld VmLck %ld\n", t, status_kb("VmPin"), status_kb("VmLck")); }
int main(void)
{
	struct rlimit rl = { 64 << 20, 64 << 20 };
	R("setrlimit", setrlimit(RLIMIT_MEMLOCK, &rl));
	drop_ipc_lock();
	char *A = anon(8 << 20), *B = anon(8 << 20);
	memset(A, 1, 8 << 20); memset(B, 1, 8 << 20);
	uint64_t v = 0, len, iova;
	for (int mode = 0; mode < 2; mode++) {
		int fd = open("/dev/iommu", O_RDWR);
		P("== mode %d\n", mode);
		v = 0; R("get rlimit mode", opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v)); P(" val=%llu\n", (unsigned long long)v);
		v = mode; R("set rlimit mode", opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
		v = 2; R("set rlimit mode 2", opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
		uint32_t ioas = ioas_new(fd), ioas2 = ioas_new(fd), s, h, d;
		v = !mode; R("set rlimit mode with objects", opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
		v = 0; R("get huge", opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &v)); P(" val=%llu\n", (unsigned long long)v);
		v = 0; R("set huge 0", opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
		v = 2; R("set huge 2", opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
		v = 1; R("set huge obj 0", opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, 0, &v));
		v = 1; R("set huge 1", opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
		R("attach", mock_dev(fd, ioas, 0, &s, &h, &d));
		lim((8 << 20) - 4096);
		iova = 0x1000000; R("map 8M at limit-4K", map(fd, ioas, A, 8 << 20, &iova, FX));
		st("after fail");
		lim(8 << 20);
		iova = 0x1000000; R("map 8M at limit", map(fd, ioas, A, 8 << 20, &iova, FX));
		st("after ok");
		iova = 0x2000000; R("map 4K more", map(fd, ioas, B, 4096, &iova, FX));
		iova = 0x2000000; R("map same A 4K more (already pinned page)", map(fd, ioas, A, 4096, &iova, FX));
		st("after same");
		R("unmap", unmap(fd, ioas, 0x2000000, 4096, &len));
		iova = 0x1000000; R("ioas2 map B 8M (no domain)", map(fd, ioas2, B, 8 << 20, &iova, FX));
		st("ioas2 no domain");
		R("attach ioas2", mock_dev(fd, ioas2, 0, &s, &h, &d));
		st("after attach ioas2");
		lim(16 << 20);
		R("attach ioas2 at 16M", mock_dev(fd, ioas2, 0, &s, &h, &d));
		st("after attach ioas2 16M");
		R("attach ioas2 second dev", mock_dev(fd, ioas2, 0, &s, &h, &d));
		st("second dev");
		R("destroy dev", destroy(fd, s));
		st("destroyed second dev");
		R("unmap all ioas", unmap(fd, ioas, 0, UINT64_MAX, &len));
		st("unmapped ioas");
		R("close", close(fd));
		st("closed");
		lim(64 << 20);
	}
	return 0;
}
