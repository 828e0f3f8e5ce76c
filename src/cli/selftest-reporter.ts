// SPDX-License-Identifier: GPL-2.0-only
/**
 * A vitest reporter for `iommufd-sim selftest`: one JSON line on stdout per
 * event (`@@selftest {...}`), so the command can show progress while the
 * suites run and build its table, KTAP or JSON from the results. Loaded by
 * vitest from its path; it uses only the fields it names below.
 */

interface CaseLike {
  readonly name: string;
  readonly fullName: string;
  readonly module: { readonly moduleId: string };
  result(): { state: string; note?: string; errors?: ReadonlyArray<{ message?: string }> };
  diagnostic(): { duration?: number } | undefined;
}

interface ModuleLike {
  readonly children: { allTests(): Iterable<unknown> };
}

function emit(event: object): void {
  process.stdout.write(`@@selftest ${JSON.stringify(event)}\n`);
}

export default class SelftestReporter {
  onTestModuleCollected(m: ModuleLike): void {
    let n = 0;
    for (const _ of m.children.allTests()) n++;
    emit({ kind: 'collected', tests: n });
  }

  onTestCaseResult(t: CaseLike): void {
    const r = t.result();
    emit({
      kind: 'case',
      name: t.name,
      fullName: t.fullName,
      file: t.module.moduleId,
      state: r.state,
      ms: Math.round(t.diagnostic()?.duration ?? 0),
      ...(r.errors?.length ? { error: String(r.errors[0]?.message ?? '').split('\n')[0] } : {}),
    });
  }
}
