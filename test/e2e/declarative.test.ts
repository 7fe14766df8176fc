/**
 * `drawbridge admin export` / `apply` against `drawbridge dev` (issue 15, item 3), through the real CLI: the demo
 * tenant exported and applied back is "No changes."; the file edited (an app added, a policy changed, a user
 * removed with --prune, one added) is planned, dry-run changes nothing, apply changes what the API then shows,
 * a second apply changes nothing, and exporting again gives the edited file back (modulo ordering).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

type Doc = Record<string, unknown> & {
  apps: Record<string, unknown>[];
  users: { upn: string }[];
  groups: { name: string; members: string[] }[];
  licences: { sku: string; assignments: { users: string[] } }[];
  policies: { name: string; state: string; grant: Record<string, unknown> }[];
};

/** Sections sorted by their JSON, lists of names sorted: order means nothing in a tenant file. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map(canonical).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

describe('drawbridge admin apply and export against drawbridge dev', () => {
  let stack: DevStack;
  const cli = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [MAIN, 'admin', '--state-dir', stack.dir, ...args],
        { timeout: 60_000 },
        (error, out, err) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, err });
        },
      );
    });
  const file = (name: string): string => path.join(stack.dir, name);

  before(async () => {
    stack = await startDevStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it('exports contoso, and applying the export changes nothing', async () => {
    const exported = await cli('export', '--tenant', 'contoso');
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /^tenant: contoso$/m);
    assert.doesNotMatch(
      exported.out.replace(/^#.*\n/gm, ''),
      /password|totp|secret|usr_|app_|grp_|loc_|ugr_|pol_/i,
      'no secrets and no ids',
    );
    writeFileSync(file('t.yaml'), exported.out);
    const applied = await cli('apply', '-f', file('t.yaml'));
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /^No changes\./);
  });

  it('applies an edited file: plan, dry run, apply, the API shows it, apply again, export again', async () => {
    const doc = parse(readFileSync(file('t.yaml'), 'utf8')) as Doc;
    const sample = doc.apps.find((a) => a.name === 'sample') as Record<string, unknown>;
    doc.apps.push({
      ...structuredClone(sample),
      name: 'wiki',
      externalUrl: String(sample.externalUrl).replace('//sample-', '//wiki-'),
      preAuth: 'idp',
      assignments: { users: ['alice@contoso.example'], groups: ['Sales'] },
    });
    const policy = doc.policies.find((p) => p.name === 'Require MFA for HR outside Office') as Doc['policies'][number];
    policy.state = 'report-only';
    policy.grant.requirePhishingResistantMfa = true;
    doc.users = doc.users.filter((u) => u.upn !== 'carol@contoso.example');
    for (const g of doc.groups) g.members = g.members.filter((m) => m !== 'carol@contoso.example');
    for (const l of doc.licences)
      l.assignments.users = l.assignments.users.filter((m) => m !== 'carol@contoso.example');
    doc.users.push({ upn: 'erin@contoso.example', displayName: 'Erin Evans', enabled: true } as Doc['users'][number]);
    (doc.groups.find((g) => g.name === 'Sales') as Doc['groups'][number]).members.push('erin@contoso.example');
    writeFileSync(file('t2.yaml'), stringify(doc));

    const dry = await cli('apply', '-f', file('t2.yaml'), '--prune', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.err);
    const planned = JSON.parse(dry.out) as {
      applied: boolean;
      changes: { action: string; kind: string; name: string; fields: { field: string }[] }[];
    };
    assert.equal(planned.applied, false);
    assert.deepEqual(
      planned.changes.map((c) => `${c.action} ${c.kind} ${c.name}`),
      [
        'create user erin@contoso.example',
        'update group Sales',
        'update licence basic',
        'create app wiki',
        'update policy Require MFA for HR outside Office',
        'delete user carol@contoso.example',
      ],
    );
    assert.deepEqual(
      planned.changes[4].fields.map((f) => f.field),
      ['state', 'grant.requirePhishingResistantMfa'],
    );
    assert.equal(
      (await stack.admin('GET', '/tenants/contoso/users/carol@contoso.example')).status,
      200,
      'a dry run changes nothing',
    );

    const applied = await cli('apply', '-f', file('t2.yaml'), '--prune');
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /  - user "carol@contoso\.example"\n/);
    assert.match(applied.out, /      grant\.requirePhishingResistantMfa: false → true\n/);
    assert.match(applied.out, /Apply complete: 2 created, 3 updated, 1 deleted\./);
    const password = /^ {2}erin@contoso\.example {2}(\S+)$/m.exec(applied.out)?.[1];
    assert.ok(password && password.length >= 12, applied.out);

    // What the API shows now.
    assert.equal((await stack.admin('GET', '/tenants/contoso/users/carol@contoso.example')).status, 404);
    const erin = await stack.admin<{
      id: string;
      displayName: string;
      hasPassword: boolean;
      groups: { name: string }[];
    }>('GET', '/tenants/contoso/users/erin@contoso.example');
    assert.equal(erin.body.displayName, 'Erin Evans');
    assert.equal(erin.body.hasPassword, true);
    assert.deepEqual(
      erin.body.groups.map((g) => g.name),
      ['Sales'],
    );
    const wiki = await stack.admin<{ id: string; preAuth: string; externalUrl: string }>(
      'GET',
      '/tenants/contoso/apps/wiki',
    );
    assert.equal(wiki.status, 200);
    assert.equal(wiki.body.preAuth, 'idp');
    const assigned = await stack.admin<{ items: { principal: { type: string } }[] }>(
      'GET',
      '/tenants/contoso/apps/wiki/assignments',
    );
    assert.deepEqual(assigned.body.items.map((a) => a.principal.type).sort(), ['group', 'user']);
    const changed = await stack.admin<{ state: string; grant: { requirePhishingResistantMfa: boolean } }>(
      'GET',
      `/tenants/contoso/policies/${encodeURIComponent(policy.name)}`,
    );
    assert.equal(changed.body.state, 'report-only');
    assert.equal(changed.body.grant.requirePhishingResistantMfa, true);
    // Audited like any other admin change.
    const audit = await stack.admin<{ items: { action: string; target: string }[] }>(
      'GET',
      '/tenants/contoso/audit-log?action=app.created',
    );
    assert.ok(audit.body.items.some((e) => e.target === wiki.body.id));

    const again = await cli('apply', '-f', file('t2.yaml'), '--prune');
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /^No changes\./);

    const reexported = await cli('export', '--tenant', 'contoso');
    assert.equal(reexported.code, 0, reexported.err);
    assert.deepEqual(canonical(parse(reexported.out)), canonical(doc));
  });

  it('refuses a file naming what does not exist, with its line, and changes nothing', async () => {
    writeFileSync(
      file('bad.yaml'),
      'tenant: contoso\napps:\n  - name: hr\n    connectorGroup: nowhere\n    preAuth: idp\n',
    );
    const bad = await cli('apply', '-f', file('bad.yaml'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /DB-ADMIN-FILE-INVALID/);
    assert.match(bad.err, /bad\.yaml:4: apps\[0\]\.connectorGroup: no connector group "nowhere"/);
    writeFileSync(file('bad2.yaml'), 'tenant: contoso\nusers:\n  - upn: x@contoso.example\n    enabled: maybe\n');
    const invalid = await cli('apply', '-f', file('bad2.yaml'));
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, /bad2\.yaml:4: users\[0\]\.enabled: true or false/);
    assert.equal((await stack.admin('GET', '/tenants/contoso/users/x@contoso.example')).status, 404);
  });
});
