import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { App, Store } from '../types.ts';
import { BACKEND_TIMEOUT, checkBackendTimeout, checkInternalUrl, parseExternalUrl, requireSlug } from '../validate.ts';
import { appPatchColumns, checkPreAuth, newAppJsonColumns } from '../rules.ts';
import { type Ctx, type Row, emit, guard, notFound, now, tx, cells } from './db.ts';
import { appFromRow } from '../rows.ts';

const toApp = (r: Row): App => appFromRow(r, cells);

export function appsRepo(ctx: Ctx): Store['apps'] {
  const { db } = ctx;
  const groupExists = db.prepare('SELECT 1 FROM connector_groups WHERE tenant_id = ? AND id = ?');
  const insert = db.prepare(
    `INSERT INTO apps (id, tenant_id, name, external_url, external_host, internal_url, group_id, pre_auth, backend_timeout,
       tls_verify, backend_ca, sso, hsts, link_translation, session_cookie, retry_writes, enabled, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM apps WHERE tenant_id = ? AND id = ?');
  const all = db.prepare('SELECT * FROM apps WHERE tenant_id = ? ORDER BY name');
  const edgeWide = db.prepare('SELECT * FROM apps ORDER BY external_host');
  const hostTaken = db.prepare('SELECT id FROM apps WHERE external_host = ?');
  const nameTaken = db.prepare('SELECT id FROM apps WHERE tenant_id = ? AND name = ?');
  const remove = db.prepare('DELETE FROM apps WHERE tenant_id = ? AND id = ?');

  /** Checks the uniqueness rules inside the write transaction, so the message names the field that clashes. */
  function checkUnique(
    tenantId: string,
    self: string | null,
    name: string | undefined,
    externalHost: string | undefined,
  ): void {
    const sameName = name === undefined ? undefined : (nameTaken.get(tenantId, name) as { id: string } | undefined);
    if (sameName && sameName.id !== self)
      throw new DrawbridgeError('DB-ADMIN-CONFLICT', `an app named ${name} already exists in this tenant`);
    const sameHost =
      externalHost === undefined ? undefined : (hostTaken.get(externalHost) as { id: string } | undefined);
    if (sameHost && sameHost.id !== self)
      throw new DrawbridgeError('DB-ADMIN-CONFLICT', `an app is already published at ${externalHost}`);
  }

  return {
    async create(tenantId, input) {
      const name = requireSlug('name', input.name);
      const { externalUrl, externalHost } = parseExternalUrl(input.externalUrl);
      const internalUrl = checkInternalUrl(input.internalUrl);
      const preAuth = checkPreAuth(input.preAuth ?? 'idp');
      const backendTimeout = checkBackendTimeout(input.backendTimeout ?? BACKEND_TIMEOUT.default);
      const { sso, hsts, linkTranslation, sessionCookie } = newAppJsonColumns(input);
      const stamp = now();
      const row = tx(db, () => {
        if (!groupExists.get(tenantId, input.groupId)) throw notFound('connector group', input.groupId);
        checkUnique(tenantId, null, name, externalHost);
        return guard(
          `app ${name}`,
          () =>
            insert.get(
              newId('app'),
              tenantId,
              name,
              externalUrl,
              externalHost,
              internalUrl,
              input.groupId,
              preAuth,
              backendTimeout,
              input.tlsVerify === false ? 0 : 1,
              input.backendCa ?? null,
              sso,
              hsts,
              linkTranslation,
              sessionCookie,
              input.retryWrites === true ? 1 : 0,
              input.enabled === false ? 0 : 1,
              stamp,
              stamp,
            ) as Row,
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
      const { columns, externalHost } = appPatchColumns(patch);
      const sets = ['updated_at = ?', ...columns.map(([column]) => `${column} = ?`)];
      const values = [
        now(),
        ...columns.map(([, value]) =>
          typeof value === 'boolean' ? (value ? 1 : 0) : (value as string | number | null),
        ),
      ];
      const row = tx(db, () => {
        if (!byId.get(tenantId, id)) throw notFound('app', id);
        if (patch.groupId !== undefined && !groupExists.get(tenantId, patch.groupId))
          throw notFound('connector group', patch.groupId);
        checkUnique(tenantId, id, patch.name, externalHost);
        return guard(
          `app ${id}`,
          () =>
            db
              .prepare(`UPDATE apps SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`)
              .get(...values, tenantId, id) as Row,
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
