import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { App, AppPatch, Store } from '../types.ts';
import { BACKEND_TIMEOUT, checkBackendTimeout, checkInternalUrl, checkSso, parseExternalUrl, requireSlug } from '../validate.ts';
import { checkPreAuth, APP_PATCH_COLUMNS } from '../rules.ts';
import { type Ctx, type Row, emit, guard, notFound, now, tx, cells } from './db.ts';
import { appFromRow } from '../rows.ts';

const toApp = (r: Row): App => appFromRow(r, cells);

export function appsRepo(ctx: Ctx): Store['apps'] {
  const { db } = ctx;
  const groupExists = db.prepare('SELECT 1 FROM connector_groups WHERE tenant_id = ? AND id = ?');
  const insert = db.prepare(
    `INSERT INTO apps (id, tenant_id, name, external_url, external_host, internal_url, group_id, pre_auth, backend_timeout,
       tls_verify, backend_ca, sso, retry_writes, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM apps WHERE tenant_id = ? AND id = ?');
  const all = db.prepare('SELECT * FROM apps WHERE tenant_id = ? ORDER BY name');
  const edgeWide = db.prepare('SELECT * FROM apps ORDER BY external_host');
  const hostTaken = db.prepare('SELECT id FROM apps WHERE external_host = ?');
  const nameTaken = db.prepare('SELECT id FROM apps WHERE tenant_id = ? AND name = ?');
  const remove = db.prepare('DELETE FROM apps WHERE tenant_id = ? AND id = ?');

  /** Checks the uniqueness rules inside the write transaction, so the message names the field that clashes. */
  function checkUnique(tenantId: string, self: string | null, name: string | undefined, externalHost: string | undefined): void {
    const sameName = name === undefined ? undefined : (nameTaken.get(tenantId, name) as { id: string } | undefined);
    if (sameName && sameName.id !== self) throw new DrawbridgeError('DB-ADMIN-CONFLICT', `an app named ${name} already exists in this tenant`);
    const sameHost = externalHost === undefined ? undefined : (hostTaken.get(externalHost) as { id: string } | undefined);
    if (sameHost && sameHost.id !== self) throw new DrawbridgeError('DB-ADMIN-CONFLICT', `an app is already published at ${externalHost}`);
  }

  return {
    async create(tenantId, input) {
      const name = requireSlug('name', input.name);
      const { externalUrl, externalHost } = parseExternalUrl(input.externalUrl);
      const internalUrl = checkInternalUrl(input.internalUrl);
      const preAuth = checkPreAuth(input.preAuth ?? 'idp');
      const backendTimeout = checkBackendTimeout(input.backendTimeout ?? BACKEND_TIMEOUT.default);
      const sso = JSON.stringify(checkSso(input.sso ?? { mode: 'none' }));
      const stamp = now();
      const row = tx(db, () => {
        if (!groupExists.get(tenantId, input.groupId)) throw notFound('connector group', input.groupId);
        checkUnique(tenantId, null, name, externalHost);
        return guard(`app ${name}`, () =>
          insert.get(newId('app'), tenantId, name, externalUrl, externalHost, internalUrl, input.groupId, preAuth, backendTimeout,
            input.tlsVerify === false ? 0 : 1, input.backendCa ?? null, sso, input.retryWrites === true ? 1 : 0, input.enabled === false ? 0 : 1, stamp, stamp) as Row,
        );
      });
      const app = toApp(row);
      emit(ctx, { kind: 'app', tenantId, id: app.id, op: 'created' });
      return app;
    },
    async get(tenantId, id) {
      const row = byId.get(tenantId, id) as Row | undefined;
      return row ? toApp(row) : null;
    },
    async list(tenantId) {
      return (all.all(tenantId) as Row[]).map(toApp);
    },
    async listAll() {
      return (edgeWide.all() as Row[]).map(toApp);
    },
    async update(tenantId, id, patch) {
      const p: AppPatch = { ...patch };
      let externalHost: string | undefined;
      if (p.name !== undefined) requireSlug('name', p.name);
      if (p.externalUrl !== undefined) ({ externalUrl: p.externalUrl, externalHost } = parseExternalUrl(p.externalUrl));
      if (p.internalUrl !== undefined) checkInternalUrl(p.internalUrl);
      if (p.preAuth !== undefined) checkPreAuth(p.preAuth);
      if (p.backendTimeout !== undefined) checkBackendTimeout(p.backendTimeout);
      const ssoText = p.sso === undefined ? undefined : JSON.stringify(checkSso(p.sso));
      const sets: string[] = ['updated_at = ?'];
      const values: (string | number | null)[] = [now()];
      for (const [key, column] of Object.entries(APP_PATCH_COLUMNS) as [keyof AppPatch, string][]) {
        const value = key === 'sso' ? ssoText : p[key];
        if (value === undefined) continue;
        sets.push(`${column} = ?`);
        values.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
      }
      if (externalHost !== undefined) {
        sets.push('external_host = ?');
        values.push(externalHost);
      }
      const row = tx(db, () => {
        if (!byId.get(tenantId, id)) throw notFound('app', id);
        if (p.groupId !== undefined && !groupExists.get(tenantId, p.groupId)) throw notFound('connector group', p.groupId);
        checkUnique(tenantId, id, p.name, externalHost);
        return guard(`app ${id}`, () =>
          db.prepare(`UPDATE apps SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`).get(...values, tenantId, id) as Row,
        );
      });
      emit(ctx, { kind: 'app', tenantId, id, op: 'updated' });
      return toApp(row);
    },
    async delete(tenantId, id) {
      const { changes } = remove.run(tenantId, id);
      if (changes === 0) throw notFound('app', id);
      emit(ctx, { kind: 'app', tenantId, id, op: 'deleted' });
    },
  };
}
