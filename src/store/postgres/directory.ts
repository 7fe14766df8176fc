/**
 * PostgreSQL implementation of the directory: users, groups, memberships, licences, app assignments and access
 * facts. MFA and settings live in `directory-mfa.ts`, the sign-in log in `signin-log.ts`; `createPostgresDirectory()`
 * puts them together. The checks, defaults and row mappers are the SQLite store's (`rules.ts`, `rows.ts`); what
 * differs is how several nodes stay correct together: seat counts are checked under a row lock on the licence,
 * federated group sync runs under a per-tenant advisory lock, one-time values are spent by a conditional UPDATE.
 * Orderings use the "C" collation so both stores list names in the same order whatever the database's locale.
 */
import type { PoolClient } from 'pg';
import { hashPassword } from '../../identity/password.ts';
import type { KeyRing } from '../../identity/keys.ts';
import type {
  AccessFacts,
  DirectoryGroup,
  DirectoryStore,
  Licence,
  LicenceSku,
  Principal,
  User,
} from '../directory-types.ts';
import { newDirectoryId } from '../directory-ids.ts';
import { appAssignmentFromRow, directoryGroupFromRow, licenceAssignmentFromRow, userFromRow } from '../rows.ts';
import {
  checkDirectoryGroupName,
  checkPrincipal,
  checkSeats,
  checkSku,
  EXTERNAL_GROUP_DESCRIPTION,
  externalGroupName,
  holdsLicence,
  loginKey,
  noLicence,
  normaliseUpn,
  pageLimit,
  seatsExceeded,
  userCursor,
} from '../rules.ts';
import { type Ctx, type Queryable, type Row, all, cells, guard, notFound, now, one, str, strOrNull, tx } from './db.ts';
import { createMfaRepo, createSettingsRepo } from './directory-mfa.ts';
import { createSigninLogRepo } from './signin-log.ts';
import { createReportsRepo } from './reports.ts';

const toUser = (r: Row): User => userFromRow(r, cells);
const toGroup = (r: Row): DirectoryGroup => directoryGroupFromRow(r, cells);

/** Advisory lock class for federated group sync ("Dgrp"); the object key is a hash of the tenant id. */
const GROUP_SYNC_LOCK_CLASS = 0x44677270;

/** Distinct users holding `sku` in `$1` (tenant), directly or through a group; `sku` is the SQL naming the SKU. */
const holdersSql = (sku: string): string => `(SELECT count(*) FROM (
    SELECT principal_id FROM dir_licence_assignments WHERE tenant_id = $1 AND sku = ${sku} AND principal_type = 'user'
    UNION
    SELECT m.user_id FROM dir_licence_assignments a JOIN dir_memberships m ON m.tenant_id = a.tenant_id AND m.group_id = a.principal_id
    WHERE a.tenant_id = $1 AND a.sku = ${sku} AND a.principal_type = 'group') h)::int`;

export function createPostgresDirectory(ctx: Ctx, keys: KeyRing): DirectoryStore {
  const { pool } = ctx;

  const userRow = (q: Queryable, tenantId: string, id: string) =>
    one(q, 'SELECT * FROM dir_users WHERE tenant_id = $1 AND id = $2', [tenantId, id]);

  const principalExists = async (q: Queryable, tenantId: string, p: Principal): Promise<boolean> => {
    const table = p.type === 'user' ? 'dir_users' : 'dir_groups';
    return (await one(q, `SELECT 1 FROM ${table} WHERE tenant_id = $1 AND id = $2`, [tenantId, p.id])) !== undefined;
  };

  const deletePrincipalAssignments = async (c: PoolClient, tenantId: string, p: Principal): Promise<void> => {
    await c.query(
      'DELETE FROM dir_licence_assignments WHERE tenant_id = $1 AND principal_type = $2 AND principal_id = $3',
      [tenantId, p.type, p.id],
    );
    await c.query(
      'DELETE FROM dir_app_assignments WHERE tenant_id = $1 AND principal_type = $2 AND principal_id = $3',
      [tenantId, p.type, p.id],
    );
  };

  const users: DirectoryStore['users'] = {
    async create(tenantId, input) {
      const upn = normaliseUpn(input.upn);
      const hash = input.password ? await hashPassword(input.password) : null;
      const t = now();
      const row = await guard(
        `user ${upn}`,
        one(
          pool,
          `INSERT INTO dir_users (id, tenant_id, upn, display_name, email, onprem_name, enabled, source, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *`,
          [
            newDirectoryId('usr'),
            tenantId,
            upn,
            input.displayName ?? upn.split('@')[0],
            input.email ?? null,
            input.onPremName ?? null,
            input.enabled !== false,
            input.source ?? 'local',
            hash,
            t,
          ],
        ),
      );
      return toUser(row as Row);
    },
    async get(tenantId, id) {
      const r = await userRow(pool, tenantId, id);
      return r ? toUser(r) : null;
    },
    async findByLogin(tenantId, login) {
      const value = loginKey(login);
      if (!value) return null;
      const exact = await one(pool, 'SELECT * FROM dir_users WHERE tenant_id = $1 AND upn = $2', [tenantId, value]);
      if (exact) return toUser(exact);
      if (value.includes('@')) return null;
      const prefix = await all(
        pool,
        "SELECT * FROM dir_users WHERE tenant_id = $1 AND starts_with(upn, $2 || '@') LIMIT 2",
        [tenantId, value],
      );
      return prefix.length === 1 ? toUser(prefix[0]) : null;
    },
    async list(tenantId, filter = {}) {
      const limit = pageLimit(filter.limit);
      const search = filter.search ? `%${filter.search.toLowerCase()}%` : '%';
      const rows = await all(
        pool,
        `SELECT * FROM dir_users WHERE tenant_id = $1 AND upn COLLATE "C" > $2 AND (upn LIKE $3 OR lower(display_name) LIKE $3)
         ORDER BY upn COLLATE "C" LIMIT $4`,
        [tenantId, userCursor.decode(filter.cursor), search, limit + 1],
      );
      const items = rows.slice(0, limit).map(toUser);
      return { items, next: rows.length > limit ? userCursor.encode(items[items.length - 1].upn) : null };
    },
    async update(tenantId, id, patch) {
      const r = await userRow(pool, tenantId, id);
      if (!r) throw notFound('user', id);
      const u = toUser(r);
      const row = await one(
        pool,
        'UPDATE dir_users SET display_name = $3, email = $4, onprem_name = $5, enabled = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2 RETURNING *',
        [
          tenantId,
          id,
          patch.displayName ?? u.displayName,
          patch.email === undefined ? u.email : patch.email,
          patch.onPremName === undefined ? u.onPremName : patch.onPremName,
          patch.enabled ?? u.enabled,
          now(),
        ],
      );
      if (!row) throw notFound('user', id);
      return toUser(row);
    },
    async delete(tenantId, id) {
      await tx(ctx, async (c) => {
        await deletePrincipalAssignments(c, tenantId, { type: 'user', id });
        const result = await c.query('DELETE FROM dir_users WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
        if (result.rowCount === 0) throw notFound('user', id);
      });
    },
    async setPassword(tenantId, id, password) {
      const hash = password === null ? null : await hashPassword(password);
      const result = await pool.query(
        'UPDATE dir_users SET password_hash = $3, failed_count = 0, locked_until = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2',
        [tenantId, id, hash, now()],
      );
      if (result.rowCount === 0) throw notFound('user', id);
    },
    async passwordHash(tenantId, id) {
      return strOrNull(
        (await one(pool, 'SELECT password_hash FROM dir_users WHERE tenant_id = $1 AND id = $2', [tenantId, id]))
          ?.password_hash,
      );
    },
    async setPasswordHash(tenantId, id, hash) {
      await pool.query('UPDATE dir_users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        id,
        hash,
      ]);
    },
    async setLockout(tenantId, id, state) {
      await guard(
        'lockout',
        pool.query('UPDATE dir_users SET failed_count = $3, locked_until = $4 WHERE tenant_id = $1 AND id = $2', [
          tenantId,
          id,
          state.failedCount,
          state.lockedUntil,
        ]),
      );
    },
    async recordSignIn(tenantId, id, at) {
      await guard(
        'sign-in time',
        pool.query(
          'UPDATE dir_users SET last_signin_at = $3, failed_count = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2',
          [tenantId, id, at],
        ),
      );
    },
    async findByExternal(tenantId, issuer, subject) {
      const r = await one(
        pool,
        'SELECT u.* FROM dir_external_identities x JOIN dir_users u ON u.tenant_id = x.tenant_id AND u.id = x.user_id WHERE x.tenant_id = $1 AND x.issuer = $2 AND x.subject = $3',
        [tenantId, issuer, subject],
      );
      return r ? toUser(r) : null;
    },
    async externalLinks(tenantId, id) {
      const { rows } = await pool.query(
        'SELECT issuer, subject, provider_id FROM dir_external_identities WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, issuer, subject',
        [tenantId, id],
      );
      return (rows as Row[]).map((r) => ({
        issuer: String(r.issuer),
        subject: String(r.subject),
        providerId: r.provider_id === null ? null : String(r.provider_id),
      }));
    },
    async linkExternal(tenantId, id, issuer, subject, providerId = null) {
      if (!(await userRow(pool, tenantId, id))) throw notFound('user', id);
      await guard(
        'external identity',
        pool.query(
          'INSERT INTO dir_external_identities (tenant_id, issuer, subject, user_id, created_at, provider_id) VALUES ($1, $2, $3, $4, $5, $6)',
          [tenantId, issuer, subject, id, now(), providerId],
        ),
      );
    },
  };

  const groups: DirectoryStore['groups'] = {
    async create(tenantId, input) {
      const name = checkDirectoryGroupName(input.name);
      const row = await guard(
        `group ${name}`,
        one(
          pool,
          'INSERT INTO dir_groups (id, tenant_id, name, description, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
          [newDirectoryId('ugr'), tenantId, name, input.description ?? '', input.externalId ?? null, now()],
        ),
      );
      return toGroup(row as Row);
    },
    async get(tenantId, id) {
      const r = await one(pool, 'SELECT * FROM dir_groups WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return r ? toGroup(r) : null;
    },
    async getByName(tenantId, name) {
      const r = await one(pool, 'SELECT * FROM dir_groups WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
      return r ? toGroup(r) : null;
    },
    async list(tenantId) {
      return (
        await all(pool, 'SELECT * FROM dir_groups WHERE tenant_id = $1 ORDER BY name COLLATE "C"', [tenantId])
      ).map(toGroup);
    },
    async delete(tenantId, id) {
      await tx(ctx, async (c) => {
        await deletePrincipalAssignments(c, tenantId, { type: 'group', id });
        const result = await c.query('DELETE FROM dir_groups WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
        if (result.rowCount === 0) throw notFound('group', id);
      });
    },
    async addMember(tenantId, groupId, userId) {
      if (!(await userRow(pool, tenantId, userId))) throw notFound('user', userId);
      if (!(await groups.get(tenantId, groupId))) throw notFound('group', groupId);
      await guard(
        'membership',
        pool.query(
          'INSERT INTO dir_memberships (tenant_id, group_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [tenantId, groupId, userId],
        ),
      );
    },
    async removeMember(tenantId, groupId, userId) {
      await pool.query('DELETE FROM dir_memberships WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3', [
        tenantId,
        groupId,
        userId,
      ]);
    },
    async members(tenantId, groupId) {
      return (
        await all(
          pool,
          'SELECT u.* FROM dir_memberships m JOIN dir_users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id WHERE m.tenant_id = $1 AND m.group_id = $2 ORDER BY u.upn COLLATE "C"',
          [tenantId, groupId],
        )
      ).map(toUser);
    },
    async forUser(tenantId, userId) {
      return (
        await all(
          pool,
          'SELECT g.* FROM dir_memberships m JOIN dir_groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id WHERE m.tenant_id = $1 AND m.user_id = $2 ORDER BY g.name COLLATE "C"',
          [tenantId, userId],
        )
      ).map(toGroup);
    },
    async syncExternal(tenantId, userId, wanted) {
      await tx(ctx, async (c) => {
        // Two nodes signing in two users of one tenant may both create the same new group: one at a time per tenant.
        await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [GROUP_SYNC_LOCK_CLASS, tenantId]);
        const ids: string[] = [];
        for (const g of wanted) {
          let r = await one(c, 'SELECT id FROM dir_groups WHERE tenant_id = $1 AND external_id = $2', [
            tenantId,
            g.externalId,
          ]);
          if (!r) {
            r = await one(
              c,
              'UPDATE dir_groups SET external_id = $3 WHERE tenant_id = $1 AND name = $2 AND external_id IS NULL RETURNING id',
              [tenantId, g.name, g.externalId],
            );
          }
          if (!r) {
            const taken =
              (await one(c, 'SELECT 1 FROM dir_groups WHERE tenant_id = $1 AND name = $2', [tenantId, g.name])) !==
              undefined;
            r = await one(
              c,
              'INSERT INTO dir_groups (id, tenant_id, name, description, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
              [
                newDirectoryId('ugr'),
                tenantId,
                externalGroupName(g.name, g.externalId, taken),
                EXTERNAL_GROUP_DESCRIPTION,
                g.externalId,
                now(),
              ],
            );
          }
          const id = str((r as Row).id);
          ids.push(id);
          await c.query(
            'INSERT INTO dir_memberships (tenant_id, group_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
            [tenantId, id, userId],
          );
        }
        await c.query(
          `DELETE FROM dir_memberships m USING dir_groups g
           WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id AND m.tenant_id = $1 AND m.user_id = $2 AND g.external_id IS NOT NULL AND NOT (m.group_id = ANY($3::text[]))`,
          [tenantId, userId, ids],
        );
      });
    },
  };

  const licenceOf = async (q: Queryable, tenantId: string, sku: string): Promise<Licence | null> => {
    const r = await one(
      q,
      `SELECT seats, ${holdersSql('$2')} AS used FROM dir_licences WHERE tenant_id = $1 AND sku = $2`,
      [tenantId, sku],
    );
    return r ? { tenantId, sku: sku as LicenceSku, seats: Number(r.seats), used: Number(r.used) } : null;
  };

  const licences: DirectoryStore['licences'] = {
    async setSeats(tenantId, sku, seats) {
      checkSku(sku);
      checkSeats(seats);
      await guard(
        `${sku} licence`,
        pool.query(
          'INSERT INTO dir_licences (tenant_id, sku, seats) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, sku) DO UPDATE SET seats = excluded.seats',
          [tenantId, sku, seats],
        ),
      );
      return (await licenceOf(pool, tenantId, sku)) as Licence;
    },
    async list(tenantId) {
      const rows = await all(
        pool,
        `SELECT sku, seats, ${holdersSql('l.sku')} AS used FROM dir_licences l WHERE tenant_id = $1 ORDER BY sku COLLATE "C"`,
        [tenantId],
      );
      return rows.map((r) => ({
        tenantId,
        sku: str(r.sku) as LicenceSku,
        seats: Number(r.seats),
        used: Number(r.used),
      }));
    },
    async assign(tenantId, sku, principal) {
      checkSku(sku);
      checkPrincipal(principal);
      return tx(ctx, async (c) => {
        // The row lock makes concurrent assignments to one pool (from any node) count seats one after the other.
        const licence = await one(c, 'SELECT seats FROM dir_licences WHERE tenant_id = $1 AND sku = $2 FOR UPDATE', [
          tenantId,
          sku,
        ]);
        if (!licence) throw noLicence(sku);
        if (!(await principalExists(c, tenantId, principal))) throw notFound(principal.type, principal.id);
        const createdAt = now();
        await c.query(
          'INSERT INTO dir_licence_assignments (tenant_id, sku, principal_type, principal_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [tenantId, sku, principal.type, principal.id, createdAt],
        );
        const { used } = (await one(c, `SELECT ${holdersSql('$2')} AS used`, [tenantId, sku])) as { used: number };
        if (used > Number(licence.seats)) throw seatsExceeded(sku, Number(licence.seats), used);
        return { tenantId, sku, principal, createdAt };
      });
    },
    async unassign(tenantId, sku, principal) {
      await pool.query(
        'DELETE FROM dir_licence_assignments WHERE tenant_id = $1 AND sku = $2 AND principal_type = $3 AND principal_id = $4',
        [tenantId, sku, principal.type, principal.id],
      );
    },
    async assignments(tenantId, sku) {
      const rows = sku
        ? await all(
            pool,
            'SELECT * FROM dir_licence_assignments WHERE tenant_id = $1 AND sku = $2 ORDER BY created_at, principal_id',
            [tenantId, sku],
          )
        : await all(
            pool,
            'SELECT * FROM dir_licence_assignments WHERE tenant_id = $1 ORDER BY sku COLLATE "C", created_at, principal_id',
            [tenantId],
          );
      return rows.map((r) => licenceAssignmentFromRow(r, cells));
    },
  };

  const assignments: DirectoryStore['assignments'] = {
    async assign(tenantId, appId, principal) {
      checkPrincipal(principal);
      if (!(await one(pool, 'SELECT 1 FROM apps WHERE tenant_id = $1 AND id = $2', [tenantId, appId])))
        throw notFound('app', appId);
      if (!(await principalExists(pool, tenantId, principal))) throw notFound(principal.type, principal.id);
      const createdAt = now();
      await guard(
        'assignment',
        pool.query(
          'INSERT INTO dir_app_assignments (tenant_id, app_id, principal_type, principal_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [tenantId, appId, principal.type, principal.id, createdAt],
        ),
      );
      return { tenantId, appId, principal, createdAt };
    },
    async unassign(tenantId, appId, principal) {
      await pool.query(
        'DELETE FROM dir_app_assignments WHERE tenant_id = $1 AND app_id = $2 AND principal_type = $3 AND principal_id = $4',
        [tenantId, appId, principal.type, principal.id],
      );
    },
    async list(tenantId, appId) {
      return (
        await all(
          pool,
          'SELECT * FROM dir_app_assignments WHERE tenant_id = $1 AND app_id = $2 ORDER BY created_at, principal_id',
          [tenantId, appId],
        )
      ).map((r) => appAssignmentFromRow(r, cells));
    },
    async isAssigned(tenantId, appId, userId) {
      return (await assignments.appsForUser(tenantId, userId)).includes(appId);
    },
    async appsForUser(tenantId, userId) {
      const rows = await all(
        pool,
        `SELECT app_id FROM dir_app_assignments WHERE tenant_id = $1 AND principal_type = 'user' AND principal_id = $2
         UNION
         SELECT a.app_id FROM dir_app_assignments a JOIN dir_memberships m ON m.tenant_id = a.tenant_id AND m.group_id = a.principal_id
         WHERE a.tenant_id = $1 AND a.principal_type = 'group' AND m.user_id = $2`,
        [tenantId, userId],
      );
      return rows.map((r) => str(r.app_id));
    },
  };

  const access: DirectoryStore['access'] = {
    async facts(tenantId, userId): Promise<AccessFacts | null> {
      const r = await userRow(pool, tenantId, userId);
      if (!r) return null;
      const held = await all(
        pool,
        `SELECT l.sku, l.seats, ${holdersSql('l.sku')} AS used,
           EXISTS (SELECT 1 FROM dir_licence_assignments a WHERE a.tenant_id = $1 AND a.sku = l.sku AND a.principal_type = 'user' AND a.principal_id = $2) AS direct,
           EXISTS (SELECT 1 FROM dir_licence_assignments a JOIN dir_memberships m ON m.tenant_id = a.tenant_id AND m.group_id = a.principal_id
                   WHERE a.tenant_id = $1 AND a.sku = l.sku AND a.principal_type = 'group' AND m.user_id = $2) AS via_group
         FROM dir_licences l WHERE l.tenant_id = $1 ORDER BY l.sku COLLATE "C"`,
        [tenantId, userId],
      );
      const skus = held
        .filter((l) =>
          holdsLicence(
            { tenantId, sku: str(l.sku) as LicenceSku, seats: Number(l.seats), used: Number(l.used) },
            l.direct === true,
            l.via_group === true,
          ),
        )
        .map((l) => str(l.sku) as LicenceSku);
      return { user: toUser(r), groups: await groups.forUser(tenantId, userId), skus };
    },
  };

  return {
    users,
    groups,
    licences,
    assignments,
    access,
    mfa: createMfaRepo(ctx, keys),
    settings: createSettingsRepo(ctx, keys),
    signinLog: createSigninLogRepo(ctx),
    reports: createReportsRepo(ctx),
  };
}
