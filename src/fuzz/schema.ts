// SPDX-License-Identifier: GPL-2.0-only
/**
 * The JSON Schema (draft 2020-12) of scenario programs, generated from OPS;
 * docs/scenario.schema.json is its output (`iommufd-sim schema`), kept in
 * sync by a test. A small validator for the subset of JSON Schema used here
 * lets the tests check every example without another dependency.
 */
import { PROFILE_NAMES } from '../base/profile.js';
import { CAPABILITIES } from '../mm/task.js';
import { CONSTANTS, type FieldSpec, OPS, PHYS_LAYOUTS, THP_MODES } from './program.js';

export type JsonSchema = { [k: string]: unknown };

const HANDLE = '\\$[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?';
const TERM = `(${HANDLE}|0[xX][0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*([KMGTPkmgtp](i?[Bb])?)?|${Object.keys(CONSTANTS).join('|')})`;
/** An integer expression: terms joined by + and -. */
export const EXPR_PATTERN = `^\\s*[-+]?\\s*${TERM}(\\s*[-+]\\s*${TERM})*\\s*$`;

function fieldSchema(f: FieldSpec): JsonSchema {
  const base: JsonSchema = { description: f.doc };
  const names = Object.keys(f.values ?? {});
  switch (f.kind) {
    case 'int':
      return { ...base, $ref: '#/$defs/int' };
    case 'flags': {
      const item: JsonSchema = names.length ? { anyOf: [{ enum: names }, { $ref: '#/$defs/int' }] } : { $ref: '#/$defs/int' };
      return { ...base, anyOf: [{ type: 'array', items: item }, item] };
    }
    case 'enum':
      return names.length ? { ...base, anyOf: [{ enum: names }, { $ref: '#/$defs/int' }] } : { ...base, anyOf: [{ type: 'string', pattern: '^[A-Z][A-Za-z0-9_]*$' }, { $ref: '#/$defs/int' }] };
    case 'bool':
      return { ...base, type: 'boolean' };
    case 'string':
      return { ...base, type: 'string' };
    case 'hex':
      return { ...base, type: 'string', pattern: '^(0[xX])?[0-9a-fA-F\\s_:,]*$' };
    case 'ranges':
      return { ...base, type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: { $ref: '#/$defs/int' } } };
  }
}

/** The schema of the program format. */
export function programJsonSchema(): JsonSchema {
  const defs: Record<string, JsonSchema> = {
    int: {
      anyOf: [{ type: 'integer' }, { type: 'string', pattern: EXPR_PATTERN }],
      description: 'a number, or a string of sizes (4K, 0x1000), constants (U64_MAX) and handles joined by + and -; every term fits in 64 bits (sums wrap as in C); never true/false',
    },
    handle: { type: 'string', pattern: '^\\$[A-Za-z_][A-Za-z0-9_]*$' },
    expectation: {
      anyOf: [
        { enum: ['ok', 'any'] },
        { type: 'string', pattern: '^E[A-Z0-9]+$', description: 'an errno name' },
        { type: 'object', description: 'output values (implies success unless it names errno); ret compares the return value' },
      ],
    },
  };
  const calls: JsonSchema[] = [];
  for (const [name, spec] of Object.entries(OPS)) {
    const properties: Record<string, JsonSchema> = {
      op: { const: name },
      as: { $ref: '#/$defs/handle', description: spec.primary ? `binds ${spec.primary}` : 'binds the return value' },
      expect: { $ref: '#/$defs/expectation' },
      expectOn: { type: 'object', description: 'per-profile expectations overriding expect', additionalProperties: false, properties: Object.fromEntries(PROFILE_NAMES.map((p) => [p, { $ref: '#/$defs/expectation' }])) },
      proc: { type: 'string', pattern: `^${HANDLE}$`, description: 'the process making the call (default $main)' },
      comment: { type: 'string' },
    };
    for (const [f, fs] of Object.entries(spec.fields)) properties[f] = fieldSchema(fs);
    const required = ['op', ...Object.entries(spec.fields).filter(([, fs]) => fs.required).map(([f]) => f)];
    defs[`op_${name}`] = { type: 'object', description: spec.doc, required, additionalProperties: false, properties };
    calls.push({ $ref: `#/$defs/op_${name}` });
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/iommufd-sim/iommufd-sim/docs/scenario.schema.json',
    title: 'iommufd-sim scenario program',
    description: 'A list of system calls on a simulated machine with symbolic handles and expectations (generated from src/fuzz/program.ts OPS by `iommufd-sim schema`).',
    type: 'object',
    required: ['calls'],
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      description: { type: 'string' },
      profile: { enum: [...PROFILE_NAMES] },
      profiles: { type: 'array', minItems: 1, items: { enum: [...PROFILE_NAMES] }, description: 'profiles the regression tests replay the program on' },
      memory: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: EXPR_PATTERN }], description: 'RAM of the machine (default 1G; from 4K to 1T, a multiple of 4K)' },
      memlock: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: `^(unlimited|infinity)$|${EXPR_PATTERN}` }], description: 'RLIMIT_MEMLOCK (default 8M)' },
      caps: { type: 'array', items: { enum: [...CAPABILITIES] } },
      seed: { type: 'integer' },
      thp: { enum: [...THP_MODES] },
      phys_layout: { enum: [...PHYS_LAYOUTS] },
      gbpages: { type: 'boolean', description: 'the CPU has 1 GiB pages, so the 1 GiB hugetlb size exists (default false, as the oracle VMs)' },
      hugetlb_pages: { type: 'object', additionalProperties: false, properties: { '2M': { type: 'integer' }, '1G': { type: 'integer' } } },
      expectWarning: {
        anyOf: [{ type: 'string' }, { type: 'object', additionalProperties: false, properties: Object.fromEntries(PROFILE_NAMES.map((p) => [p, { type: ['string', 'null'] }])) }],
        description: 'a WARN the program must trip (one per profile, or for all)',
      },
      calls: { type: 'array', items: { oneOf: calls } },
    },
    $defs: defs,
  };
}

// ---------------------------------------------------------------------------
// A validator for the subset used above

export interface SchemaError {
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let cur: unknown = root;
  for (const seg of ref.slice(2).split('/')) cur = (cur as Record<string, unknown>)[seg];
  if (!cur || typeof cur !== 'object') throw new Error(`dangling $ref ${ref}`);
  return cur as JsonSchema;
}

/** Validate `value` against `schema` (the subset programJsonSchema uses); the errors found. */
export function validateJsonSchema(schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = ''): SchemaError[] {
  const errs: SchemaError[] = [];
  const s = schema.$ref ? { ...resolveRef(root, String(schema.$ref)), ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) } : schema;
  const t = typeOf(value);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const ok = types.some((x) => x === t || (x === 'number' && t === 'integer'));
    if (!ok) return [{ path, message: `expected ${types.join(' or ')}, got ${t}` }];
  }
  if (s.const !== undefined && value !== s.const) errs.push({ path, message: `expected ${JSON.stringify(s.const)}` });
  if (Array.isArray(s.enum) && !s.enum.includes(value as never)) errs.push({ path, message: `expected one of ${(s.enum as unknown[]).map((x) => JSON.stringify(x)).join(', ')}` });
  if (typeof s.pattern === 'string' && typeof value === 'string' && !new RegExp(s.pattern).test(value)) errs.push({ path, message: `${JSON.stringify(value)} does not match ${s.pattern}` });
  if (t === 'array') {
    const a = value as unknown[];
    if (typeof s.minItems === 'number' && a.length < s.minItems) errs.push({ path, message: `fewer than ${s.minItems} items` });
    if (typeof s.maxItems === 'number' && a.length > s.maxItems) errs.push({ path, message: `more than ${s.maxItems} items` });
    if (s.items && typeof s.items === 'object') a.forEach((x, i) => {
      errs.push(...validateJsonSchema(s.items as JsonSchema, x, root, `${path}[${i}]`));
    });
  }
  if (t === 'object') {
    const o = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) errs.push({ path, message: `missing ${r}` });
    for (const [k, v] of Object.entries(o)) {
      if (Object.hasOwn(props, k)) errs.push(...validateJsonSchema(props[k], v, root, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push({ path: `${path}.${k}`, message: 'unknown property' });
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') errs.push(...validateJsonSchema(s.additionalProperties as JsonSchema, v, root, `${path}.${k}`));
    }
  }
  if (Array.isArray(s.anyOf)) {
    const ok = (s.anyOf as JsonSchema[]).some((x) => validateJsonSchema(x, value, root, path).length === 0);
    if (!ok) errs.push({ path, message: 'matches none of the allowed forms' });
  }
  if (Array.isArray(s.oneOf)) {
    const results = (s.oneOf as JsonSchema[]).map((x) => validateJsonSchema(x, value, root, path));
    const n = results.filter((r) => r.length === 0).length;
    if (n !== 1) {
      // Report the errors of the alternative matching on `op` when there is one.
      const op = t === 'object' ? (value as Record<string, unknown>).op : undefined;
      const idx = (s.oneOf as JsonSchema[]).findIndex((x) => {
        const r = x.$ref ? resolveRef(root, String(x.$ref)) : x;
        return (r.properties as Record<string, JsonSchema> | undefined)?.op?.const === op;
      });
      if (n === 0 && idx >= 0) errs.push(...results[idx]);
      else errs.push({ path, message: n === 0 ? 'matches no alternative' : 'matches several alternatives' });
    }
  }
  return errs;
}
