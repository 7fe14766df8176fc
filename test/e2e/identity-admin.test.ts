/** The directory and sign-in log admin routes over a real SQLite store (fastify inject). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { adminContext } from '../../src/edge/admin/context.ts';
import { directoryRoutes } from '../../src/edge/admin/directory-routes.ts';
import { errorHandler } from '../../src/edge/admin/error-handler.ts';
import { signinLogRoutes } from '../../src/edge/admin/signin-log-routes.ts';
import type { AdminDeps } from '../../src/edge/admin/types.ts';
import { signIn, Client, startHarness, type Harness } from './identity-harness.ts';

let h: Harness;
let api: FastifyInstance;

describe('identity admin API', () => {
  before(async () => {
    h = await startHarness();
    api = Fastify();
    api.setErrorHandler(errorHandler);
    const ctx = adminContext({ store: h.store } as unknown as AdminDeps);
    await api.register(
      async (r) => {
        directoryRoutes(r, ctx, { directory: h.directory, revokeUser: h.signin.revokeUser });
        signinLogRoutes(r, ctx, h.directory);
      },
      { prefix: '/api/v1' },
    );
  });
  after(async () => {
    await api?.close();
    await h?.close();
  });

  it('creates a user, assigns app and licence, and the user gets in; disabling ends the session', async () => {
    const t = `/api/v1/tenants/contoso`;
    const created = await api.inject({
      method: 'POST',
      url: `${t}/users`,
      payload: { upn: 'ken@contoso.example', displayName: 'Ken', password: 'ken-Password-1' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const ken = created.json();
    assert.equal(
      (await api.inject({ method: 'POST', url: `${t}/apps/hr/assignments`, payload: { type: 'user', id: ken.id } }))
        .statusCode,
      201,
    );
    assert.equal(
      (
        await api.inject({
          method: 'POST',
          url: `${t}/licences/basic/assignments`,
          payload: { type: 'user', id: ken.id },
        })
      ).statusCode,
      201,
    );
    const c = new Client(h.port);
    assert.equal((await signIn(c, `${h.hr.externalUrl}/`, 'ken', 'ken-Password-1')).status, 200);
    const detail = (await api.inject({ url: `${t}/users/ken@contoso.example` })).json();
    assert.deepEqual(detail.licences, ['basic']);
    assert.deepEqual(detail.apps, [h.hr.id]);
    assert.equal(
      (await api.inject({ method: 'PATCH', url: `${t}/users/${ken.id}`, payload: { enabled: false } })).statusCode,
      200,
    );
    assert.equal((await c.request(`${h.hr.externalUrl}/`)).status, 302, 'session revoked at once');
    const resetRes = await api.inject({ method: 'POST', url: `${t}/users/${ken.id}/password` });
    const reset = resetRes.json();
    assert.equal(resetRes.statusCode, 200, resetRes.body);
    assert.match(reset.password, /^[\w]{5}-[\w]{5}-[\w]{5}-[\w]{5}$/);
  });

  it('refuses bad input with catalogue codes', async () => {
    const bad = await api.inject({
      method: 'PUT',
      url: '/api/v1/tenants/contoso/licences/gold',
      payload: { seats: 1 },
    });
    assert.equal(bad.json().error.code, 'DB-ADMIN-INVALID');
    const dup = await api.inject({
      method: 'POST',
      url: '/api/v1/tenants/contoso/users',
      payload: { upn: 'alice@contoso.example' },
    });
    assert.equal(dup.json().error.code, 'DB-ADMIN-CONFLICT');
  });

  it('queries and exports the sign-in log', async () => {
    await signIn(
      new Client(h.port),
      `${h.hr.externalUrl}/`,
      'bob',
      h.users.find((u) => u.username === 'bob')!.password,
    );
    const denied = (
      await api.inject({ url: '/api/v1/tenants/contoso/signin-log?code=DB-ACCESS-NO-LICENCE&limit=5' })
    ).json();
    assert.ok(denied.items.length >= 1);
    assert.equal(denied.items[0].username, 'bob@contoso.example');
    const csv = await api.inject({ url: '/api/v1/tenants/contoso/signin-log/export?format=csv' });
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
    assert.match(csv.body.split('\r\n')[0], /^time,event,result,code,.*,detail$/);
    assert.match(csv.body, /DB-ACCESS-NO-LICENCE/);
    const json = (
      await api.inject({ url: '/api/v1/tenants/contoso/signin-log/export?format=json&result=success' })
    ).json();
    assert.ok(json.items.every((e: { result: string }) => e.result === 'success'));
  });
});
