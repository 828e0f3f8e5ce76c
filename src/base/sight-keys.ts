// SPDX-License-Identifier: GPL-2.0-only
/**
 * Numbers for objects in order of first sight, kept while the object lives
 * (a WeakMap: a number never keeps its object alive). The Inspector's keys
 * of contexts and pages objects, the bridge's inode numbers of hugetlb files.
 */
export class SightKeys<T extends object> {
  private readonly keys = new WeakMap<T, number>();

  /** `first`: the number the first object seen gets. */
  constructor(private next = 0) {}

  of(x: T): number {
    let k = this.keys.get(x);
    if (k === undefined) {
      k = this.next++;
      this.keys.set(x, k);
    }
    return k;
  }
}
