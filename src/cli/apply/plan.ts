/**
 * The plan of `drawbridge admin apply`: what to create, update (with the fields that differ) and delete (only with
 * prune) to bring a tenant (`current`, read from the admin API as a tenant file) to the file (`desired`), in
 * dependency order. Pure: no I/O, so every rule is unit-tested (plan.test.ts).
 *
 * Comparison: a field the file leaves out is not managed; objects compare field by field (what the file gives
 * must match); lists compare as sets (order is not meaningful anywhere in the file).
 */
import type { Path } from './schema.ts';
import { KINDS, type Kind, type Principals, type Section, type TenantFile } from './model.ts';

export interface FieldChange {
  /** Dotted path inside the object, e.g. `grant.requireMfa`. */
  field: string;
  from: unknown;
  to: unknown;
}

export interface Change {
  action: 'create' | 'update' | 'delete';
  section: Section;
  kind: string;
  name: string;
  /** update: what differs; create: the object's fields. */
  fields: FieldChange[];
  /** The object as the file gives it (create, update). */
  desired?: Record<string, unknown>;
}

export interface PlanIssue {
  path: Path;
  message: string;
}

export interface Plan {
  tenant: string;
  changes: Change[];
  /** References to objects that will not exist, and the like: nothing is applied while there is one. */
  errors: PlanIssue[];
  /** Differences the API cannot apply (they are left as they are). */
  warnings: string[];
}

/** What the API needs to create one that the file may leave out for an existing one. */
const REQUIRED_ON_CREATE: Partial<Record<Section, string[]>> = { apps: ['internalUrl', 'connectorGroup'] };

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets compare without order; two values of different shape simply differ. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const key = (v: unknown) => JSON.stringify(v);
    const x = a.map(key).sort();
    const y = b.map(key).sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The fields of `desired` that differ from `current` (leaf paths; an object only the file has is one change). */
export function diffFields(desired: Obj, current: Obj, prefix = ''): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [key, to] of Object.entries(desired)) {
    if (to === undefined) continue;
    const from = current[key];
    const field = `${prefix}${key}`;
    if (isObject(to) && isObject(from)) out.push(...diffFields(to, from, `${field}.`));
    else if (!sameValue(to, from ?? null)) out.push({ field, from: from ?? null, to });
  }
  return out;
}

/** Every field of a new object, flattened like an update's (for the plan's listing). */
function createdFields(obj: Obj, key: string): FieldChange[] {
  return Object.entries(obj)
    .filter(([k, v]) => k !== key && v !== undefined)
    .map(([field, to]) => ({ field, from: null, to }));
}

const itemsOf = (file: TenantFile, section: Section): Obj[] | undefined => file[section] as Obj[] | undefined;
const nameOf = (kind: Kind, obj: Obj): string => String(obj[kind.key]);
const idOf = (kind: Kind, name: string): string => (kind.section === 'users' ? name.toLowerCase() : name);

export function plan(desired: TenantFile, current: TenantFile, options: { prune?: boolean } = {}): Plan {
  const changes: Change[] = [];
  const deletes: Change[] = [];
  const warnings: string[] = [];
  const errors: PlanIssue[] = [];
  /** Names that will exist once applied, per section (for reference checks). */
  const after = new Map<Section, Set<string>>();

  for (const kind of KINDS) {
    const wanted = itemsOf(desired, kind.section);
    const existing = itemsOf(current, kind.section) ?? [];
    const byName = new Map(existing.map((o) => [idOf(kind, nameOf(kind, o)), o]));
    const names = new Set(existing.map((o) => idOf(kind, nameOf(kind, o))));
    if (wanted) {
      for (const [index, obj] of wanted.entries()) {
        const name = nameOf(kind, obj);
        const found = byName.get(idOf(kind, name));
        names.add(idOf(kind, name));
        if (!found) {
          for (const field of REQUIRED_ON_CREATE[kind.section] ?? []) {
            if (obj[field] === undefined)
              errors.push({ path: [kind.section, index, field], message: `required: ${kind.label} ${name} is new` });
          }
          changes.push({
            action: 'create',
            section: kind.section,
            kind: kind.label,
            name,
            fields: createdFields(obj, kind.key),
            desired: obj,
          });
          continue;
        }
        let fields = diffFields(obj, found).filter((f) => f.field !== kind.key);
        for (const f of fields.filter((c) =>
          kind.createOnly?.some((k) => c.field === k || c.field.startsWith(`${k}.`)),
        )) {
          warnings.push(
            `${kind.label} "${name}": ${f.field} cannot be changed through the admin API once created; left as ${JSON.stringify(f.from)}`,
          );
        }
        fields = fields.filter((f) => !kind.createOnly?.some((k) => f.field === k || f.field.startsWith(`${k}.`)));
        if (fields.length > 0)
          changes.push({ action: 'update', section: kind.section, kind: kind.label, name, fields, desired: obj });
      }
      if (options.prune && !kind.noDelete) {
        const keep = new Set(wanted.map((o) => idOf(kind, nameOf(kind, o))));
        for (const obj of existing) {
          const name = nameOf(kind, obj);
          if (keep.has(idOf(kind, name))) continue;
          names.delete(idOf(kind, name));
          deletes.push({ action: 'delete', section: kind.section, kind: kind.label, name, fields: [] });
        }
      }
    }
    after.set(kind.section, names);
  }

  errors.push(...checkReferences(desired, after));
  return { tenant: desired.tenant, changes: [...changes, ...deletes.reverse()], errors, warnings };
}

/** Every name the file uses must name an object that exists after the apply (in the file or left in the tenant). */
function checkReferences(file: TenantFile, after: Map<Section, Set<string>>): PlanIssue[] {
  const errors: PlanIssue[] = [];
  const ref = (section: Section, what: string, name: string, path: Path): void => {
    const kind = KINDS.find((k) => k.section === section) as Kind;
    if (!after.get(section)?.has(idOf(kind, name))) {
      errors.push({
        path,
        message: `no ${what} ${JSON.stringify(name)} in the file or the tenant${file[section] ? ' (or it would be deleted by --prune)' : ''}`,
      });
    }
  };
  const principals = (p: Principals | undefined, path: Path): void => {
    p?.users?.forEach((u, i) => ref('users', 'user', u, [...path, 'users', i]));
    p?.groups?.forEach((g, i) => ref('groups', 'group', g, [...path, 'groups', i]));
  };
  file.groups?.forEach((g, i) => g.members?.forEach((u, j) => ref('users', 'user', u, ['groups', i, 'members', j])));
  file.licences?.forEach((l, i) => principals(l.assignments, ['licences', i, 'assignments']));
  file.apps?.forEach((a, i) => {
    if (a.connectorGroup !== undefined)
      ref('connectorGroups', 'connector group', a.connectorGroup, ['apps', i, 'connectorGroup']);
    principals(a.assignments, ['apps', i, 'assignments']);
  });
  file.policies?.forEach((p, i) => {
    const c = p.conditions;
    if (!c) return;
    const at: Path = ['policies', i, 'conditions'];
    if (c.users?.include && c.users.include !== 'all') principals(c.users.include, [...at, 'users', 'include']);
    principals(c.users?.exclude, [...at, 'users', 'exclude']);
    if (Array.isArray(c.apps)) c.apps.forEach((a, j) => ref('apps', 'app', a, [...at, 'apps', j]));
    if (Array.isArray(c.locations?.include))
      c.locations.include.forEach((l, j) => ref('locations', 'named location', l, [...at, 'locations', 'include', j]));
    c.locations?.exclude?.forEach((l, j) => ref('locations', 'named location', l, [...at, 'locations', 'exclude', j]));
  });
  return errors;
}

// --- rendering ---

const SYMBOL = { create: '+', update: '~', delete: '-' } as const;

function show(v: unknown): string {
  if (typeof v === 'string') return v.includes('\n') ? `(${v.split('\n').length} lines)` : JSON.stringify(v);
  return JSON.stringify(v) ?? 'null';
}

function fieldLine(f: FieldChange, action: Change['action']): string {
  if (action === 'create') return `${f.field}: ${show(f.to)}`;
  if (Array.isArray(f.to) && (Array.isArray(f.from) || f.from === null)) {
    const from = (f.from ?? []) as unknown[];
    const to = f.to as unknown[];
    const added = to.filter((v) => !from.some((w) => sameValue(v, w)));
    const removed = from.filter((v) => !to.some((w) => sameValue(v, w)));
    return `${f.field}: ${[...added.map((v) => `+ ${show(v)}`), ...removed.map((v) => `- ${show(v)}`)].join(', ')}`;
  }
  return `${f.field}: ${show(f.from)} → ${show(f.to)}`;
}

/** The plan as `terraform plan` prints one, concisely: a line per object, one per field that changes. */
export function renderPlan(p: Plan): string {
  const warnings = p.warnings.map((w) => `Warning: ${w}\n`).join('');
  if (p.changes.length === 0) return `${warnings}No changes. Tenant ${p.tenant} matches the file.\n`;
  const lines = p.changes.map((c) => {
    const head = `  ${SYMBOL[c.action]} ${c.kind} ${JSON.stringify(c.name)}`;
    return [head, ...c.fields.map((f) => `      ${fieldLine(f, c.action)}`)].join('\n');
  });
  return `${warnings}Tenant ${p.tenant}: + create, ~ update, - delete\n\n${lines.join('\n')}\n\n${summary(p)}\n`;
}

export function summary(p: Plan): string {
  const count = (a: Change['action']) => p.changes.filter((c) => c.action === a).length;
  return `Plan: ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete.`;
}
