// SPDX-License-Identifier: GPL-2.0-only
/**
 * WARNs compared by site. A kernel splat names file:line and the symbol its
 * code sits in (`WARNING: CPU: 0 PID: 9 at drivers/iommu/iommufd/pages.c:238
 * iopt_area_unpin_domain+0x..` on 6.12, `WARNING: drivers/iommu/iommufd/pages.c:238
 * at iopt_area_unpin_domain+0x.., CPU#0: p/9` from 6.19); a model WARN is an
 * assertion named `<kernel function>.<detail>` (src/base/warn.ts). The site of
 * a kernel WARN is the function it is written in: kernel-warn-sites.json
 * (scripts/oracle/warn-sites.ts, from the release's source) maps file:line to
 * it, so an inlined helper is not mistaken for its caller; without a row the
 * splat's symbol stands. MODEL_SITE_ALIASES lists the model sites whose name
 * is not the kernel function's. generic_pt's NS(fn) / DOMAIN_NS(fn) functions
 * (pasted per format: pt_iommu_amdv1_fn ...) are named pt_iommu_fn in the table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/** release → file → [first line, last line, function] of every function holding a WARN. */
export type SiteTable = Record<string, Record<string, Array<[number, number, string]>>>;

export const SITES_FILE = join(import.meta.dirname, 'kernel-warn-sites.json');

let cached: SiteTable | undefined;
export function loadSites(): SiteTable {
  cached ??= existsSync(SITES_FILE) ? (JSON.parse(readFileSync(SITES_FILE, 'utf8')) as SiteTable) : {};
  return cached;
}

/**
 * Model sites named otherwise than the kernel function that holds the WARN
 * (model function → the kernel functions it stands for).
 */
export const MODEL_SITE_ALIASES: Readonly<Record<string, readonly string[]>> = {
  // The xarray mock's unmap walk: mock_domain_unmap_pages() (selftest.c, 6.12 and earlier).
  mock_domain_unmap: ['mock_domain_unmap_pages'],
  // A missing pinned_pfns entry: the WARN_ON(!xa_is_value(entry)) of the xarray walks (pages.c).
  xarray: ['batch_from_xarray', 'batch_from_xarray_clear', 'iopt_pages_fill_from_xarray'],
  // pfn_batch init: __batch_init() (pages.c).
  batch_init: ['__batch_init'],
  // The flags check of get/pin_user_pages_fast (mm/gup.c).
  gup_fast: ['gup_fast_fallback'],
  // Unmapping a domain: __iommu_unmap() (iommu.c).
  iommu_unmap: ['__iommu_unmap'],
  // The batch's total_pfns bookkeeping (pages.c batch_skip_carry(), iopt_area_unpin_domain()).
  pfn_batch: ['batch_skip_carry', 'batch_clear_carry', 'iopt_area_unpin_domain', '__iopt_area_unfill_domain'],
};

export interface KernelWarnSite {
  /** The function the WARN is written in (the table's), else the splat's symbol. */
  fn: string;
  /** The symbol the splat printed (after inlining). */
  symbol: string;
  file?: string;
  line?: number;
}

const SPLAT_612 = /^WARNING: CPU: \d+ PID: \d+ at (?:(\S+):(\d+) )?([A-Za-z0-9_.$]+)\+0x/;
const SPLAT_619 = /^WARNING: (?:(\S+):(\d+) )?at ([A-Za-z0-9_.$]+)\+0x/;

/** Parse a `WARNING:` line of either format; undefined when it is not a splat with a symbol. */
export function parseSplat(text: string, release = '', sites: SiteTable = loadSites()): KernelWarnSite | undefined {
  const t = text.replace(/^\[\s*\d+\.\d+\]\s*/, '');
  const m = SPLAT_612.exec(t) ?? SPLAT_619.exec(t);
  if (!m) return undefined;
  const [, file, lineText, symbol] = m;
  const site: KernelWarnSite = { fn: symbol.replace(/\.(isra|constprop|part|cold)\.\d+$|\.cold$/, ''), symbol };
  if (file) {
    // A header included as ../iommu_pt.h prints its path with the `..` in it.
    site.file = posix.normalize(file);
    site.line = Number(lineText);
    const table = sites[release] ?? sites[Object.keys(sites).find((r) => release.startsWith(`${r}`)) ?? ''];
    const hit = table?.[site.file]?.find(([a, b]) => site.line !== undefined && a <= site.line && site.line <= b);
    if (hit) site.fn = hit[2];
  }
  return site;
}

/** The kernel function a model assertion stands for (`iopt_area_unpin_domain.last` → iopt_area_unpin_domain). */
export function modelWarnFunction(assertion: string): string {
  const dot = assertion.indexOf('.');
  return dot < 0 ? assertion : assertion.slice(0, dot);
}

export interface WarnSiteComparison {
  same: boolean;
  /** Model functions (in order of first WARN) no kernel WARN matched. */
  modelOnly: string[];
  /** Kernel functions no model WARN matched. */
  kernelOnly: string[];
  model: string[];
  kernel: string[];
}

/** Compare the sets of WARN sites (each function once, however many times it fired). */
export function compareWarnSites(modelAssertions: readonly string[], kernel: readonly KernelWarnSite[]): WarnSiteComparison {
  const model = [...new Set(modelAssertions.map(modelWarnFunction))];
  const kfns = [...new Set(kernel.map((k) => k.fn))];
  const accepts = (m: string, k: KernelWarnSite): boolean => {
    const names = [m, ...(MODEL_SITE_ALIASES[m] ?? [])];
    return names.includes(k.fn) || names.includes(k.symbol);
  };
  const modelOnly = model.filter((m) => !kernel.some((k) => accepts(m, k)));
  const kernelOnly = kfns.filter((f) => !kernel.some((k) => k.fn === f && model.some((m) => accepts(m, k))));
  return { same: modelOnly.length === 0 && kernelOnly.length === 0, modelOnly, kernelOnly, model, kernel: kfns };
}
