// SPDX-License-Identifier: GPL-2.0-only
/**
 * fget(fd) for the commands that take a file by descriptor (IOAS_MAP_FILE,
 * the selftest dma-buf ops): any open file of the calling process, not only
 * the driver files a context made. The machine's descriptor table answers
 * through IommufdFiles.fget(); a table without it (a context made without a
 * machine) shows only its driver files.
 */
import type { MemFile } from '../mm/memfile.js';
import type { IommufdCtx, IommufdFile } from './main.js';

/** An open file as iommufd sees it: its page cache (memfd, hugetlbfs, a regular file) or the driver file it is. */
export interface FgetFile {
  readonly memfile?: MemFile;
  readonly iommufdFile?: IommufdFile;
  /**
   * get_file(): one more reference on the open file description, which keeps
   * it open (its release not run) until the returned put drops it (fput()).
   */
  readonly hold?: () => () => void;
}

/** fget(): the caller's open file `fd`, or undefined (-EBADF). */
export function fget(ctx: IommufdCtx, fd: number): FgetFile | undefined {
  const files = ctx.files;
  if (files.fget) return files.fget(fd);
  const f = files.lookup(fd);
  return f ? { iommufdFile: f } : undefined;
}
