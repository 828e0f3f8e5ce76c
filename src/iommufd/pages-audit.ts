// SPDX-License-Identifier: GPL-2.0-only
/**
 * Audit invariants of file-backed and dma-buf pages objects, for the
 * whole-state audit (audit.ts) to call per area and per pages object:
 *
 * - a dma-buf pages object pins and charges nothing (npinned, last_npinned,
 *   the xarray and the access tree stay empty, account mode NONE), stays
 *   attached to its dma-buf, and tracks exactly the (area, domain) pairs its
 *   areas are mapped in;
 * - each domain of an IOAS maps a dma-buf area at the exporter's physical
 *   range (index i at paddr + start + i * PAGE_SIZE), or, once revoked, not
 *   at all;
 * - a file pages object holds its file (still referenced, never released).
 *
 * The generic checks of audit.ts (npinned equals the pinned spans, per-frame
 * pin counts) do not apply to dma-buf pages: nothing of theirs is pinned.
 */
import { PAGE_SIZE } from '../mm/constants.js';
import { type IoptArea, areaIndexToIova } from './area.js';
import type { IommufdEnv } from './env.js';
import type { IoPagetable } from './io-pagetable.js';
import { IOPT_ADDRESS_FILE, IOPT_PAGES_ACCOUNT_NONE, type IoptPages, dmabufRevoked, isDmabufPages } from './pages.js';

export { isDmabufPages };

/** WARN `audit.<name>`; one problem (a function, not a closure made per call). */
function warnAudit(env: IommufdEnv, name: string, msg: string): number {
  env.warn.warn(`audit.${name}`, msg);
  return 1;
}

/** One dma-buf area of `iopt`: what every domain maps for it. Returns the number of problems (each WARNs). */
export function auditDmabufArea(env: IommufdEnv, iopt: IoPagetable, area: IoptArea): number {
  const pages = area.pages;
  if (!pages?.dmabuf) return 0;
  const db = pages.dmabuf;
  let problems = 0;
  const at = `dma-buf area at 0x${area.iova.toString(16)}`;
  const mapped = area.storageDomain !== undefined;
  if (mapped !== area.pagesNode.inTree) problems += warnAudit(env, 'dmabuf_itree', `${at}: storage ${mapped}, in domains_itree ${area.pagesNode.inTree}`);
  for (const d of iopt.domains) {
    const tracked = db.tracker.filter((t) => t.area === area && t.domain === d).length;
    if (tracked !== (mapped ? 1 : 0)) problems += warnAudit(env, 'dmabuf_tracker', `${at}: tracked ${tracked} times in a domain`);
    if (!mapped) continue;
    const revoked = dmabufRevoked(pages);
    for (let i = area.index; i <= area.lastIndex; i++) {
      const iova = areaIndexToIova(area, i);
      const off = i === area.index ? area.pageOffset : 0;
      const want = revoked ? -1 : db.phys.paddr + db.start + i * PAGE_SIZE + off;
      const got = d.peekPhys(iova);
      if (got !== want) {
        problems += warnAudit(env, 'dmabuf_domain', `${at} index ${i}: phys ${got}, expected ${want}${revoked ? ' (revoked)' : ''}`);
        break;
      }
    }
  }
  for (const t of db.tracker) {
    if (t.area === area && !iopt.domains.includes(t.domain)) problems += warnAudit(env, 'dmabuf_tracker', `${at}: tracks a domain not in its IOAS`);
  }
  return problems;
}

/** One file-backed or dma-buf pages object. Returns the number of problems (each WARNs). */
export function auditFilePages(env: IommufdEnv, pages: IoptPages): number {
  let problems = 0;
  if (pages.type === IOPT_ADDRESS_FILE) {
    if (pages.file && (pages.file.refs <= 0 || !pages.file.live)) problems += warnAudit(env, 'file_ref', `file pages: the file has ${pages.file.refs} references`);
    return problems;
  }
  if (!isDmabufPages(pages)) return 0;
  const db = pages.dmabuf!;
  if (pages.npinned !== 0 || pages.lastNpinned !== 0) problems += warnAudit(env, 'dmabuf_pinned', `npinned ${pages.npinned}, last_npinned ${pages.lastNpinned}`);
  if (!pages.pinnedPfns.isEmpty() || !pages.accessItree.isEmpty()) problems += warnAudit(env, 'dmabuf_access', 'a dma-buf pages object has accesses or xarray entries');
  if (pages.accountMode !== IOPT_PAGES_ACCOUNT_NONE) problems += warnAudit(env, 'dmabuf_account', `account mode ${pages.accountMode}`);
  if (!db.attach || db.attach.dmabuf.released || !db.attach.dmabuf.attachments.has(db.attach)) problems += warnAudit(env, 'dmabuf_attach', 'not attached to a live dma-buf');
  for (const t of db.tracker) {
    if (t.area.pages !== pages && t.area.pages !== undefined) problems += warnAudit(env, 'dmabuf_tracker', 'tracks an area of another pages object');
  }
  return problems;
}
