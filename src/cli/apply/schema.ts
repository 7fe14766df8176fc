/**
 * Reads a tenant file: YAML → `TenantFile`, every mistake reported with its line and field path
 * (`tenant.yaml:12: apps[1].preAuth: idp or passthrough`), all of them at once. Deeper rules (URL shapes, CIDR
 * ranges, SSO settings) are the admin API's, which names the field in its answer.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { LICENCE_SKUS } from '../../store/directory-types.ts';
import { CLIENT_TYPES, PLATFORMS, POLICY_STATES, RISK_LEVELS } from '../../store/policy-types.ts';
import { KINDS, type TenantFile } from './model.ts';

export type Path = (string | number)[];
export interface FileIssue {
  path: Path;
  message: string;
  line?: number;
}

export const pathText = (path: Path): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

type Check = (value: unknown, path: Path, out: FileIssue[]) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (out: FileIssue[], path: Path, message: string): void => {
  out.push({ path, message });
};

const str: Check = (v, p, out) => {
  if (typeof v !== 'string' || v === '') fail(out, p, 'a non-empty string');
};
const bool: Check = (v, p, out) => {
  if (typeof v !== 'boolean') fail(out, p, 'true or false');
};
const int =
  (min: number, max: number): Check =>
  (v, p, out) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      fail(out, p, `a whole number from ${min} to ${max}`);
  };
const oneOf =
  (allowed: readonly string[]): Check =>
  (v, p, out) => {
    if (typeof v !== 'string' || !allowed.includes(v)) fail(out, p, `one of ${allowed.join(', ')}`);
  };
const nullable =
  (check: Check): Check =>
  (v, p, out) => {
    if (v !== null) check(v, p, out);
  };
const listOf =
  (check: Check): Check =>
  (v, p, out) => {
    if (!Array.isArray(v)) return fail(out, p, 'a list');
    v.forEach((item, i) => check(item, [...p, i], out));
  };
const strings = listOf(str);
const anyObject: Check = (v, p, out) => {
  if (!isObject(v)) fail(out, p, 'an object (the admin API checks its fields)');
};
const orWord =
  (word: string, check: Check): Check =>
  (v, p, out) => {
    if (v !== word) check(v, p, out);
  };

function object(fields: Record<string, Check>, required: string[] = []): Check {
  return (v, p, out) => {
    if (!isObject(v)) return fail(out, p, `an object with ${Object.keys(fields).join(', ')}`);
    for (const key of required) if (v[key] === undefined) fail(out, [...p, key], 'required');
    for (const [key, value] of Object.entries(v)) {
      const check = fields[key];
      if (!check) fail(out, [...p, key], `unknown field (expected ${Object.keys(fields).join(', ')})`);
      else if (value !== undefined) check(value, [...p, key], out);
    }
  };
}

const principals = object({ users: strings, groups: strings });
const backendTimeout: Check = (v, p, out) => {
  if (v !== 'default' && v !== 'long') int(1, 3600)(v, p, out);
};
const typeList = (allowed: readonly string[]): Check => nullable(listOf(oneOf(allowed)));

const SECTIONS: Record<string, { key: string; item: Check }> = {
  connectorGroups: { key: 'name', item: object({ name: str }, ['name']) },
  locations: { key: 'name', item: object({ name: str, cidrs: strings, countries: strings }, ['name']) },
  users: {
    key: 'upn',
    item: object(
      {
        upn: str,
        displayName: (v, p, out) => {
          if (typeof v !== 'string') fail(out, p, 'a string');
        },
        email: nullable(str),
        onPremName: nullable(str),
        enabled: bool,
      },
      ['upn'],
    ),
  },
  groups: {
    key: 'name',
    item: object(
      {
        name: str,
        description: (v, p, out) => {
          if (typeof v !== 'string') fail(out, p, 'a string');
        },
        members: strings,
      },
      ['name'],
    ),
  },
  licences: {
    key: 'sku',
    item: object({ sku: oneOf(LICENCE_SKUS), seats: int(0, 1_000_000), assignments: principals }, ['sku']),
  },
  apps: {
    key: 'name',
    item: object(
      {
        name: str,
        connectorGroup: str,
        internalUrl: str,
        externalUrl: str,
        preAuth: oneOf(['idp', 'passthrough']),
        backendTimeout,
        tlsVerify: bool,
        backendCa: nullable(str),
        retryWrites: bool,
        sso: anyObject,
        hsts: nullable(anyObject),
        linkTranslation: anyObject,
        sessionCookie: anyObject,
        enabled: bool,
        assignments: principals,
      },
      ['name'],
    ),
  },
  policies: {
    key: 'name',
    item: object(
      {
        name: str,
        state: oneOf(POLICY_STATES),
        conditions: object({
          users: object({ include: orWord('all', principals), exclude: principals }),
          apps: orWord('all', strings),
          locations: object({ include: orWord('any', strings), exclude: strings }),
          platforms: typeList(PLATFORMS),
          clientTypes: typeList(CLIENT_TYPES),
          signinRisk: typeList(RISK_LEVELS),
          time: nullable(object({ days: listOf(int(0, 6)), from: str, to: str, timeZone: str, outside: bool })),
        }),
        grant: object({
          block: bool,
          requireMfa: bool,
          requirePhishingResistantMfa: bool,
          signInFrequencyHours: nullable(int(1, 8760)),
          persistentSession: nullable(oneOf(['always', 'never'])),
        }),
      },
      ['name'],
    ),
  },
};

/** Structure and names: the whole file's mistakes (without lines; `parseTenantFile` adds them). */
export function validateTenantFile(data: unknown): FileIssue[] {
  const out: FileIssue[] = [];
  if (!isObject(data))
    return [{ path: [], message: `a mapping with tenant and any of ${KINDS.map((k) => k.section).join(', ')}` }];
  for (const [key, value] of Object.entries(data)) {
    if (key === 'tenant') {
      str(value, ['tenant'], out);
      continue;
    }
    const section = SECTIONS[key];
    if (!section) {
      fail(out, [key], `unknown section (expected tenant, ${Object.keys(SECTIONS).join(', ')})`);
      continue;
    }
    if (value === null) continue; // `users:` with nothing under it: an empty, managed section
    if (!Array.isArray(value)) {
      fail(out, [key], 'a list');
      continue;
    }
    const seen = new Map<string, number>();
    value.forEach((item, i) => {
      section.item(item, [key, i], out);
      const name = isObject(item) ? item[section.key] : undefined;
      if (typeof name !== 'string') return;
      const id = key === 'users' ? name.toLowerCase() : name;
      const first = seen.get(id);
      if (first !== undefined) fail(out, [key, i, section.key], `${name} is already named at ${key}[${first}]`);
      else seen.set(id, i);
    });
  }
  return out;
}

/** `default` and `long` as the API stores them, an empty section as `[]`. */
function normalise(data: Record<string, unknown>): TenantFile {
  const file = { ...data } as TenantFile & Record<string, unknown>;
  for (const kind of KINDS) if (file[kind.section] === null) file[kind.section] = [];
  file.apps = file.apps?.map((a) => {
    const t = a.backendTimeout as unknown;
    return t === 'default' ? { ...a, backendTimeout: 85 } : t === 'long' ? { ...a, backendTimeout: 180 } : a;
  });
  if (file.apps === undefined) delete file.apps;
  return file;
}

export type ParsedFile =
  | { ok: true; file: TenantFile; lineOf: (path: Path) => number | undefined }
  | { ok: false; issues: FileIssue[] };

/** Parses and validates; `lineOf` finds the line of a field (or of its nearest parent) for later errors. */
export function parseTenantFile(text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({ path: [], message: e.message.split('\n')[0], line: e.linePos?.[0].line })),
    };
  }
  const lineOf = (path: Path): number | undefined => lineOfPath(doc, lineCounter, path);
  const data: unknown = doc.toJS();
  const issues = validateTenantFile(data);
  if (issues.length > 0) return { ok: false, issues: issues.map((i) => ({ ...i, line: lineOf(i.path) })) };
  return { ok: true, file: normalise(data as Record<string, unknown>), lineOf };
}

function lineOfPath(doc: Document, counter: LineCounter, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
      // A key's line is better than its value's (a nested map starts on the next line).
      const parent = n > 0 ? (n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)) : null;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === path[n - 1]);
        const keyRange = (pair?.key as { range?: number[] } | null)?.range;
        if (keyRange) return counter.linePos(keyRange[0]).line;
      }
      if (isSeq(parent) || !isMap(parent)) return counter.linePos((node.range as number[])[0]).line;
    }
  }
  return undefined;
}
