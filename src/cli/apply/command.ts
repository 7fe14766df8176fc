/**
 * `drawbridge admin apply -f FILE [--prune] [--dry-run] [--json]` and `drawbridge admin export --tenant T`: the
 * tenant file read, planned against the tenant as the admin API shows it, printed, and applied (docs/declarative.md).
 */
import { readFileSync } from 'node:fs';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { Action, Run } from '../admin.ts';
import { executePlan } from './execute.ts';
import { plan, renderPlan, type Change } from './plan.ts';
import { parseTenantFile, pathText, type FileIssue } from './schema.ts';
import { readTenant, toYaml } from './state.ts';

type UsageErrorClass = new (message: string) => Error;

/** `file:12: apps[1].preAuth: one of idp, passthrough`, one line each. */
function issuesText(source: string, issues: FileIssue[]): string {
  return issues
    .map((i) => `  ${source}${i.line ? `:${i.line}` : ''}: ${i.path.length ? `${pathText(i.path)}: ` : ''}${i.message}`)
    .join('\n');
}

const PAST = { create: 'Created', update: 'Updated', delete: 'Deleted' } as const;

export function applyAction(UsageError: UsageErrorClass): Action {
  return {
    usage: 'apply -f FILE [--tenant T] [--prune] [--dry-run] [--json]',
    summary: 'Print the plan that brings the tenant to the file, then apply it',
    flags: [
      ['-f, --file FILE', 'the tenant file (YAML; - for standard input)'],
      ['--tenant T', "apply to this tenant instead of the file's tenant:"],
      ['--prune', 'also delete what a section of the file does not name'],
      ['--dry-run', 'print the plan only'],
      ['--json', 'the plan (and passwords of new users) as JSON'],
    ],
    async run(r: Run) {
      const source = r.flags.file;
      if (!source) throw new UsageError('-f FILE is required (the tenant file)');
      const text = readFileSync(source === '-' ? 0 : source, 'utf8');
      const parsed = parseTenantFile(text);
      if (!parsed.ok) throw new DrawbridgeError('DB-ADMIN-FILE-INVALID', `\n${issuesText(source, parsed.issues)}`);
      const tenant = r.flags.tenant ?? parsed.file.tenant;
      if (!tenant)
        throw new DrawbridgeError(
          'DB-ADMIN-FILE-INVALID',
          `\n${issuesText(source, [{ path: ['tenant'], message: 'required (or pass --tenant)', line: 1 }])}`,
        );
      const current = await readTenant(r.api, tenant);
      const p = plan({ ...parsed.file, tenant: current.file.tenant }, current.file, { prune: r.flags.prune === true });
      if (p.errors.length > 0) {
        throw new DrawbridgeError(
          'DB-ADMIN-FILE-INVALID',
          `\n${issuesText(
            source,
            p.errors.map((e) => ({ ...e, line: parsed.lineOf(e.path) })),
          )}`,
        );
      }
      const dryRun = r.flags['dry-run'] === true || p.changes.length === 0;
      if (!r.json) r.print(renderPlan(p));
      if (dryRun) {
        if (r.json)
          r.print(
            `${JSON.stringify({ tenant: p.tenant, changes: p.changes.map(plain), warnings: p.warnings, applied: false }, null, 2)}\n`,
          );
        return;
      }
      if (!r.json) r.print('\n');
      const passwords = await executePlan(r.api, p, current.ids, (c) => {
        if (!r.json) r.print(`${PAST[c.action]} ${c.kind} ${JSON.stringify(c.name)}.\n`);
      });
      if (r.json) {
        r.print(
          `${JSON.stringify({ tenant: p.tenant, changes: p.changes.map(plain), warnings: p.warnings, applied: true, passwords }, null, 2)}\n`,
        );
        return;
      }
      const count = (a: Change['action']) => p.changes.filter((c) => c.action === a).length;
      r.print(
        `\nApply complete: ${count('create')} created, ${count('update')} updated, ${count('delete')} deleted.\n`,
      );
      if (passwords.length > 0) {
        r.print(
          `\nNew users' passwords (shown once; they are not stored anywhere else — hand them over, or reset one with POST /api/v1/tenants/<tenant>/users/<upn>/password):\n${passwords.map((x) => `  ${x.upn}  ${x.password}`).join('\n')}\n`,
        );
      }
    },
  };
}

const plain = (c: Change) => ({ action: c.action, kind: c.kind, name: c.name, fields: c.fields });

export function exportAction(UsageError: UsageErrorClass): Action {
  return {
    usage: 'export --tenant T [> tenant.yaml]',
    summary:
      "Write the tenant's connector groups, named locations, users, groups, licences, apps with assignments and policies as a tenant file",
    async run(r: Run) {
      const tenant = r.flags.tenant;
      if (!tenant) throw new UsageError('--tenant is required (the tenant name or id)');
      const state = await readTenant(r.api, tenant);
      r.print(r.json ? `${JSON.stringify(state.file, null, 2)}\n` : toYaml(state.file));
    },
  };
}
