import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantFile } from './model.ts';
import { diffFields, plan, renderPlan } from './plan.ts';
import { parseTenantFile, pathText } from './schema.ts';

/** A tenant as export writes it: every field. */
function current(): TenantFile {
  return {
    tenant: 'contoso',
    connectorGroups: [{ name: 'default' }],
    locations: [{ name: 'Office', cidrs: ['10.0.0.0/8'], countries: [] }],
    users: [
      {
        upn: 'alice@contoso.example',
        displayName: 'Alice',
        email: 'alice@contoso.example',
        onPremName: null,
        enabled: true,
      },
      { upn: 'carol@contoso.example', displayName: 'Carol', email: null, onPremName: null, enabled: true },
    ],
    groups: [{ name: 'HR', description: 'HR department', members: ['alice@contoso.example', 'carol@contoso.example'] }],
    licences: [{ sku: 'basic', seats: 25, assignments: { users: ['alice@contoso.example'], groups: [] } }],
    apps: [
      {
        name: 'hr',
        connectorGroup: 'default',
        internalUrl: 'http://hr.corp/',
        externalUrl: 'https://hr-contoso.apps.localhost',
        preAuth: 'idp',
        backendTimeout: 85,
        tlsVerify: true,
        backendCa: null,
        retryWrites: false,
        sso: { mode: 'none' },
        hsts: null,
        linkTranslation: { headers: true, body: false },
        sessionCookie: { persistent: 'user', lifetimeSeconds: null, sameSite: 'Lax' },
        enabled: true,
        assignments: { users: [], groups: ['HR'] },
      },
    ],
    policies: [
      {
        name: 'HR needs MFA',
        state: 'on',
        conditions: {
          users: { include: 'all', exclude: { users: [], groups: [] } },
          apps: ['hr'],
          locations: { include: 'any', exclude: ['Office'] },
          platforms: null,
          clientTypes: null,
          signinRisk: null,
          time: null,
        },
        grant: {
          block: false,
          requireMfa: true,
          requirePhishingResistantMfa: false,
          signInFrequencyHours: null,
          persistentSession: null,
        },
      },
    ],
  };
}

const clone = <T>(v: T): T => structuredClone(v);

describe('apply: the planner', () => {
  it('plans nothing when the file is the tenant, in another order', () => {
    const file = clone(current());
    file.users?.reverse();
    file.groups?.[0].members?.reverse();
    const p = plan(file, current(), { prune: true });
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.errors, []);
    assert.match(renderPlan(p), /^No changes\./);
  });

  it('leaves alone what the file leaves out: sections, fields, sub-fields', () => {
    const file: TenantFile = {
      tenant: 'contoso',
      apps: [{ name: 'hr', linkTranslation: { headers: true } }],
      policies: [{ name: 'HR needs MFA', grant: { requireMfa: true } }],
    };
    const p = plan(file, current(), { prune: true });
    assert.deepEqual(p.changes, []);
  });

  it('creates, updates with the fields that differ, and deletes only with prune', () => {
    const file = clone(current());
    file.apps?.push({
      name: 'wiki',
      connectorGroup: 'default',
      internalUrl: 'http://wiki.corp/',
      assignments: { users: ['alice@contoso.example'] },
    });
    (file.policies as NonNullable<TenantFile['policies']>)[0].grant = { requireMfa: false, block: true };
    file.users = file.users?.filter((u) => !u.upn.startsWith('carol'));
    file.groups = [{ name: 'HR', members: ['alice@contoso.example'] }];

    const without = plan(file, current());
    assert.deepEqual(
      without.changes.map((c) => `${c.action} ${c.kind} ${c.name}`),
      ['update group HR', 'create app wiki', 'update policy HR needs MFA'],
    );
    const policy = without.changes[2];
    assert.deepEqual(policy.fields, [
      { field: 'grant.requireMfa', from: true, to: false },
      { field: 'grant.block', from: false, to: true },
    ]);
    assert.deepEqual(without.changes[0].fields, [
      { field: 'members', from: ['alice@contoso.example', 'carol@contoso.example'], to: ['alice@contoso.example'] },
    ]);

    const pruned = plan(file, current(), { prune: true });
    assert.deepEqual(
      pruned.changes.map((c) => `${c.action} ${c.kind} ${c.name}`),
      ['update group HR', 'create app wiki', 'update policy HR needs MFA', 'delete user carol@contoso.example'],
    );
    assert.deepEqual(pruned.errors, []);
    const text = renderPlan(pruned);
    assert.match(text, /  ~ group "HR"\n      members: - "carol@contoso\.example"\n/);
    assert.match(text, /  \+ app "wiki"\n      connectorGroup: "default"\n/);
    assert.match(text, /      grant\.block: false → true\n/);
    assert.match(text, /  - user "carol@contoso\.example"\n/);
    assert.match(text, /Plan: 1 to create, 2 to update, 1 to delete\./);
  });

  it('orders by dependency: groups, locations and apps before what names them; deletions in reverse', () => {
    const file: TenantFile = {
      tenant: 'contoso',
      policies: [
        {
          name: 'Block home',
          conditions: { locations: { include: ['Home'] }, users: { include: { groups: ['Sales'] } }, apps: ['crm'] },
          grant: { block: true },
        },
      ],
      apps: [
        { name: 'crm', connectorGroup: 'branch', internalUrl: 'http://crm.corp/', assignments: { groups: ['Sales'] } },
      ],
      groups: [{ name: 'Sales', members: ['dan@contoso.example'] }],
      users: [{ upn: 'dan@contoso.example' }],
      locations: [{ name: 'Home', countries: ['GB'] }],
      connectorGroups: [{ name: 'branch' }],
    };
    const p = plan(file, { tenant: 'contoso' });
    assert.deepEqual(p.errors, []);
    assert.deepEqual(
      p.changes.map((c) => `${c.kind} ${c.name}`),
      [
        'connector group branch',
        'named location Home',
        'user dan@contoso.example',
        'group Sales',
        'app crm',
        'policy Block home',
      ],
    );
    const gone = plan(
      { tenant: 'contoso', connectorGroups: [], locations: [], users: [], groups: [], apps: [], policies: [] },
      current(),
      { prune: true },
    );
    assert.deepEqual(
      gone.changes.map((c) => `${c.action} ${c.kind} ${c.name}`),
      [
        'delete policy HR needs MFA',
        'delete app hr',
        'delete group HR',
        'delete user carol@contoso.example',
        'delete user alice@contoso.example',
        'delete named location Office',
        'delete connector group default',
      ],
    );
  });

  it('refuses names that will not exist, with the path of each', () => {
    const file: TenantFile = {
      tenant: 'contoso',
      users: [{ upn: 'alice@contoso.example' }],
      apps: [
        {
          name: 'wiki',
          connectorGroup: 'nowhere',
          internalUrl: 'http://wiki.corp/',
          assignments: { users: ['carol@contoso.example'], groups: ['HR', 'Ghosts'] },
        },
      ],
      policies: [
        {
          name: 'p',
          conditions: { apps: ['nope'], locations: { exclude: ['Office', 'Mars'] } },
          grant: { block: true },
        },
      ],
    };
    const p = plan(file, current(), { prune: true });
    assert.deepEqual(
      p.errors.map((e) => `${pathText(e.path)}: ${e.message}`),
      [
        'apps[0].connectorGroup: no connector group "nowhere" in the file or the tenant',
        'apps[0].assignments.users[0]: no user "carol@contoso.example" in the file or the tenant (or it would be deleted by --prune)',
        'apps[0].assignments.groups[1]: no group "Ghosts" in the file or the tenant',
        'policies[0].conditions.apps[0]: no app "nope" in the file or the tenant (or it would be deleted by --prune)',
        'policies[0].conditions.locations.exclude[1]: no named location "Mars" in the file or the tenant',
      ],
    );
    const missing = plan({ tenant: 'contoso', apps: [{ name: 'new' }] }, current());
    assert.deepEqual(
      missing.errors.map((e) => pathText(e.path)),
      ['apps[0].internalUrl', 'apps[0].connectorGroup'],
    );
  });

  it('warns about a group description it cannot change, and does not plan it', () => {
    const p = plan({ tenant: 'contoso', groups: [{ name: 'HR', description: 'People' }] }, current());
    assert.deepEqual(p.changes, []);
    assert.match(p.warnings[0], /group "HR": description cannot be changed/);
  });

  it('diffs nested objects leaf by leaf and lists as sets', () => {
    assert.deepEqual(diffFields({ a: { b: 1, c: [2, 1] }, d: null }, { a: { b: 2, c: [1, 2] }, d: { x: 1 } }), [
      { field: 'a.b', from: 2, to: 1 },
      { field: 'd', from: { x: 1 }, to: null },
    ]);
  });
});

describe('apply: reading the file', () => {
  it('accepts a file and normalises default and long timeouts and empty sections', () => {
    const r = parseTenantFile('tenant: contoso\nusers:\napps:\n  - name: hr\n    backendTimeout: long\n');
    assert.ok(r.ok);
    assert.deepEqual(r.file, { tenant: 'contoso', users: [], apps: [{ name: 'hr', backendTimeout: 180 }] });
  });

  it('reports every mistake with its line and field', () => {
    const text = [
      'tenant: contoso', //           1
      'apps:', //                     2
      '  - name: hr', //              3
      '    preAuth: maybe', //        4
      '    colour: blue', //          5
      '  - name: hr', //              6
      'policies:', //                 7
      '  - name: p', //               8
      '    conditions:', //           9
      '      platforms: [windows, amiga]', // 10
      'gadgets: []', //               11
    ].join('\n');
    const r = parseTenantFile(text);
    assert.ok(!r.ok);
    assert.deepEqual(
      r.issues.map((i) => `${i.line}: ${pathText(i.path)}: ${i.message}`),
      [
        '4: apps[0].preAuth: one of idp, passthrough',
        '5: apps[0].colour: unknown field (expected name, connectorGroup, internalUrl, externalUrl, preAuth, backendTimeout, tlsVerify, backendCa, retryWrites, sso, hsts, linkTranslation, sessionCookie, enabled, assignments)',
        '6: apps[1].name: hr is already named at apps[0]',
        '10: policies[0].conditions.platforms[1]: one of windows, macos, linux, ios, android, chromeos, unknown',
        '11: gadgets: unknown section (expected tenant, connectorGroups, locations, users, groups, licences, apps, policies)',
      ],
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const r = parseTenantFile('tenant: contoso\nusers:\n  - upn: a\n   bad: [\n');
    assert.ok(!r.ok);
    assert.ok(r.issues[0].line !== undefined && r.issues[0].line >= 3, JSON.stringify(r.issues));
  });

  it('finds the line of a reference for the planner', () => {
    const r = parseTenantFile(
      'tenant: contoso\napps:\n  - name: hr\n    connectorGroup: nowhere\n    internalUrl: http://x/\n',
    );
    assert.ok(r.ok);
    assert.equal(r.lineOf(['apps', 0, 'connectorGroup']), 4);
    assert.equal(r.lineOf(['apps', 0, 'assignments', 'users', 0]), 3);
  });
});
