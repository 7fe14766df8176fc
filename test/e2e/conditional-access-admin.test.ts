/**
 * Conditional access through the admin API and `drawbridge admin` over a real socket: the demo's locations and
 * policies created from the command line by name, what-if answering the demo's three outcomes (tables and JSON),
 * and `users disable` / `enable`.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { adminContext } from '../../src/edge/admin/context.ts';
import { directoryRoutes } from '../../src/edge/admin/directory-routes.ts';
import { errorHandler } from '../../src/edge/admin/error-handler.ts';
import { policyRoutes } from '../../src/edge/admin/policy-routes.ts';
import type { AdminDeps } from '../../src/edge/admin/types.ts';
import { Client, signIn, startHarness, type Harness } from './identity-harness.ts';
import { adminCli } from '../helpers/admin-cli.ts';

describe('conditional access admin API and CLI', () => {
  let h: Harness;
  let api: FastifyInstance;
  let url: string;
  const cli = (...argv: string[]) => adminCli([...argv, '--tenant', 'contoso'], url, 'unused');

  before(async () => {
    h = await startHarness();
    api = Fastify();
    api.setErrorHandler(errorHandler);
    const ctx = adminContext({ store: h.store } as unknown as AdminDeps);
    await api.register(
      async (r) => {
        directoryRoutes(r, ctx, { directory: h.directory, revokeUser: h.signin.revokeUser });
        policyRoutes(r, ctx, h.directory);
      },
      { prefix: '/api/v1' },
    );
    await api.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await api?.close();
    await h?.close();
  });

  it('creates the demo locations and policies by name from the command line', async () => {
    assert.equal((await cli('locations', 'create', '--name', 'Office', '--cidrs', '127.0.0.0/26')).code, 0);
    assert.equal((await cli('locations', 'create', '--name', 'Blocked range', '--cidrs', '127.0.0.64/27')).code, 0);
    const bad = await cli('locations', 'create', '--name', 'Nowhere', '--cidrs', '300.0.0.0/8');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /DB-ADMIN-INVALID/);
    const mfa = await cli(
      'policies',
      'create',
      '--name',
      'Require MFA for HR outside Office',
      '--apps',
      'hr',
      '--exclude-locations',
      'Office',
      '--grant',
      'mfa',
    );
    assert.equal(mfa.code, 0, mfa.err);
    const block = await cli(
      'policies',
      'create',
      '--name',
      'Block every app from Blocked range',
      '--locations',
      'Blocked range',
      '--grant',
      'block',
      '--exclude-users',
      'carol',
    );
    assert.equal(block.code, 0, block.err);
    const unknown = await cli('policies', 'create', '--name', 'x', '--apps', 'payroll', '--grant', 'block');
    assert.match(unknown.err, /conditions\.apps: no app payroll/);
    const listed = await cli('policies', 'list');
    assert.match(listed.out, /Require MFA for HR outside Office\s+on\s+app_[0-9a-f]{16}\s+mfa/);
    assert.match(listed.out, /Block every app from Blocked range\s+on\s+all\s+block/);
    const inUse = await cli('locations', 'delete', 'Office');
    assert.match(inUse.err, /DB-ADMIN-CONFLICT[\s\S]*used by policy Require MFA for HR outside Office/);
  });

  it('what-if answers the demo: password alone from .1, MFA from .100, blocked from .70; exclusions and report-only show', async () => {
    const office = await cli('policies', 'what-if', '--user', 'alice', '--app', 'hr', '--ip', '127.0.0.1');
    assert.equal(office.code, 0, office.err);
    assert.match(office.out, /^Decision: allow$/m);
    assert.match(office.out, /Require MFA for HR outside Office\s+on\s+not-applied\s+client in an excluded location/);
    const outside = await cli(
      'policies',
      'what-if',
      '--user',
      'alice',
      '--app',
      'hr',
      '--ip',
      '127.0.0.100',
      '--platform',
      'windows',
      '--json',
    );
    const json = JSON.parse(outside.out) as {
      decision: string;
      code: string;
      policy: { name: string };
      input: { platform: string };
    };
    assert.deepEqual(
      [json.decision, json.code, json.policy.name, json.input.platform],
      ['mfa-required', 'DB-CA-MFA-REQUIRED', 'Require MFA for HR outside Office', 'windows'],
    );
    const withMfa = JSON.parse(
      (
        await cli(
          'policies',
          'what-if',
          '--user',
          'alice',
          '--app',
          'hr',
          '--ip',
          '127.0.0.100',
          '--auth-methods',
          'password,totp',
          '--json',
        )
      ).out,
    );
    assert.equal(withMfa.decision, 'allow', JSON.stringify(withMfa));
    const blocked = await cli('policies', 'what-if', '--user', 'alice', '--app', 'hr', '--ip', '127.0.0.70');
    assert.match(blocked.out, /^Decision: block \(DB-CA-BLOCKED\) by policy "Block every app from Blocked range"$/m);
    const carol = JSON.parse(
      (await cli('policies', 'what-if', '--user', 'carol', '--app', 'hr', '--ip', '127.0.0.70', '--json')).out,
    );
    assert.equal(carol.decision, 'denied', 'carol is excluded from the block, but not assigned to the app');
    assert.equal(carol.code, 'DB-ACCESS-NOT-ASSIGNED');
    assert.match(JSON.stringify(carol.policies), /user excluded/);
    assert.equal(
      (await cli('policies', 'update', 'Block every app from Blocked range', '--state', 'report-only')).code,
      0,
    );
    const trial = JSON.parse(
      (
        await cli(
          'policies',
          'what-if',
          '--user',
          'alice',
          '--app',
          'hr',
          '--ip',
          '127.0.0.70',
          '--auth-methods',
          'password,totp',
          '--json',
        )
      ).out,
    );
    assert.equal(trial.decision, 'allow');
    assert.ok(trial.policies.some((p: { result: string }) => p.result === 'would have: block'));
    assert.equal((await cli('policies', 'update', 'Block every app from Blocked range', '--state', 'on')).code, 0);
  });

  it('users disable and enable', async () => {
    const c = new Client(h.port, { localAddress: '127.0.0.1' });
    const alice = h.users.find((u) => u.username === 'alice')!;
    assert.equal((await signIn(c, `${h.hr.externalUrl}/`, 'alice', alice.password)).status, 200);
    const off = await cli('users', 'disable', 'alice');
    assert.equal(off.code, 0, off.err);
    assert.match(off.out, /Disabled alice@contoso\.example/);
    assert.equal((await c.request(`${h.hr.externalUrl}/`)).status, 302, 'her session ended');
    const refused = await signIn(
      new Client(h.port, { localAddress: '127.0.0.1' }),
      `${h.hr.externalUrl}/`,
      'alice',
      alice.password,
    );
    assert.match(refused.body, /DB-ACCESS-ACCOUNT-DISABLED/);
    assert.equal((await cli('users', 'enable', 'alice')).code, 0);
    assert.equal(
      (await signIn(new Client(h.port, { localAddress: '127.0.0.1' }), `${h.hr.externalUrl}/`, 'alice', alice.password))
        .status,
      200,
    );
    assert.match((await cli('users', 'list')).out, /alice@contoso\.example\s+\S+\s+Alice Archer\s+true/);
  });
});
