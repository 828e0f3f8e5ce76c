// SPDX-License-Identifier: GPL-2.0-only
/**
 * A tmpfs mount's regular files: shmem inodes with a name. The oracle VMs
 * mount tmpfs on /tmp, so a program there that keeps guest memory in a file
 * (QEMU's memory-backend-file, or IOAS_MAP_FILE of an open file) gets a
 * shmem page cache, the same one a memfd has (mm/shmem.c): shmem_file() is
 * true of it, so IOAS_MAP_FILE pins it through memfd_pin_folios(), and it
 * takes no seal (shmem_get_inode() starts every inode with F_SEAL_SEAL).
 *
 * The model holds the inodes and their pages; the walk of a path to them is
 * not modelled: the caller names an inode by a key of its own (under exec,
 * the real file's device and inode numbers, after the real open has done the
 * lookup, the creation and the permission checks). The name holds the inode,
 * so its pages stay cached with nothing open or mapped, as tmpfs keeps them,
 * until unlink (shmem_unlink() drops the dentry's reference).
 */
import type { MemFile } from '../mm/memfile.js';

export interface TmpfsInode {
  readonly file: MemFile;
  /** The path it was opened by (d_path()). */
  readonly path: string;
  /** Still linked: d_path() appends " (deleted)" once the last name is gone. */
  linked: boolean;
}

export class Tmpfs {
  private readonly inodes = new Map<string, TmpfsInode>();

  /** The linked inode known by `key`, if any. */
  lookup(key: string): TmpfsInode | undefined {
    return this.inodes.get(key);
  }

  /** A new linked inode for `key` holding `file` (the link takes a reference). */
  add(key: string, path: string, file: MemFile): TmpfsInode {
    file.get();
    const ino: TmpfsInode = { file, path, linked: true };
    this.inodes.set(key, ino);
    return ino;
  }

  /**
   * unlink(2) of the last name of `key`: open files and mappings keep the
   * inode; its pages go with the last of them. false when the model has no
   * such inode (a file it never saw opened).
   */
  unlink(key: string): boolean {
    const ino = this.inodes.get(key);
    if (ino === undefined) return false;
    this.inodes.delete(key);
    ino.linked = false;
    ino.file.put();
    return true;
  }

  /** Linked inodes. */
  get size(): number {
    return this.inodes.size;
  }

  /** The linked inodes (for the audits: no process may reach their page caches). */
  linked(): IterableIterator<TmpfsInode> {
    return this.inodes.values();
  }
}
