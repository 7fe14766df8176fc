/**
 * SQLite implementation of the directory: users, groups, memberships, licences and app assignments. MFA and
 * settings live in `directory-mfa.ts`, the sign-in log in `signin-log.ts`; `createSqliteDirectory()` puts the three
 * together. Same conventions as the core repositories (`db.ts`): synchronous node:sqlite behind an async interface,
 * every statement scoped by tenant, constraint failures mapped to DB-ADMIN-CONFLICT.
 */
import type { DatabaseSync } from 'node:sqlite';
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
import { cells, guard, notFound, now, str, strOrNull, tx, type Row } from './db.ts';
import { createMfaRepo, createSettingsRepo } from './directory-mfa.ts';
import { createSigninLogRepo } from './signin-log.ts';
import { createReportsRepo } from './reports.ts';

const toUser = (r: Row): User => userFromRow(r, cells);
const toGroup = (r: Row): DirectoryGroup => directoryGroupFromRow(r, cells);

export function createSqliteDirectory(db: DatabaseSync, keys: KeyRing): DirectoryStore {
  const userRow = (tenantId: string, id: string) =>
    db.prepare('SELECT * FROM dir_users WHERE tenant_id = ? AND id = ?').get(tenantId, id) as Row | undefined;

  const principalExists = (tenantId: string, p: Principal): boolean => {
    const table = p.type === 'user' ? 'dir_users' : 'dir_groups';
    return db.prepare(`SELECT 1 FROM ${table} WHERE tenant_id = ? AND id = ?`).get(tenantId, p.id) !== undefined;
  };

  /** Distinct users holding `sku` directly or through a group. */
  const holders = (tenantId: string, sku: string): Set<string> => {
    const rows = db
      .prepare(
        `SELECT principal_id AS user_id FROM dir_licence_assignments WHERE tenant_id = ? AND sku = ? AND principal_type = 'user'
         UNION
         SELECT m.user_id FROM dir_licence_assignments a JOIN dir_memberships m ON m.tenant_id = a.tenant_id AND m.group_id = a.principal_id
         WHERE a.tenant_id = ? AND a.sku = ? AND a.principal_type = 'group'`,
      )
      .all(tenantId, sku, tenantId, sku) as Row[];
    return new Set(rows.map((r) => str(r.user_id)));
  };

  const userGroupIds = (tenantId: string, userId: string): string[] =>
    (
      db
        .prepare('SELECT group_id FROM dir_memberships WHERE tenant_id = ? AND user_id = ?')
        .all(tenantId, userId) as Row[]
    ).map((r) => str(r.group_id));

  const deletePrincipalAssignments = (tenantId: string, p: Principal) => {
    db.prepare(
      'DELETE FROM dir_licence_assignments WHERE tenant_id = ? AND principal_type = ? AND principal_id = ?',
    ).run(tenantId, p.type, p.id);
    db.prepare('DELETE FROM dir_app_assignments WHERE tenant_id = ? AND principal_type = ? AND principal_id = ?').run(
      tenantId,
      p.type,
      p.id,
    );
  };

  const users: DirectoryStore['users'] = {
    async create(tenantId, input) {
      const upn = normaliseUpn(input.upn);
      const hash = input.password ? await hashPassword(input.password) : null;
      const id = newDirectoryId('usr');
      const t = now();
      guard(`user ${upn}`, () =>
        db
          .prepare(
            `INSERT INTO dir_users (id, tenant_id, upn, display_name, email, onprem_name, enabled, source, password_hash, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id,
            tenantId,
            upn,
            input.displayName ?? upn.split('@')[0],
            input.email ?? null,
            input.onPremName ?? null,
            input.enabled === false ? 0 : 1,
            input.source ?? 'local',
            hash,
            t,
            t,
          ),
      );
      return toUser(userRow(tenantId, id) as Row);
    },
    async get(tenantId, id) {
      const r = userRow(tenantId, id);
      return r ? toUser(r) : null;
    },
    async findByLogin(tenantId, login) {
      const value = loginKey(login);
      if (!value) return null;
      const exact = db.prepare('SELECT * FROM dir_users WHERE tenant_id = ? AND upn = ?').get(tenantId, value) as
        | Row
        | undefined;
      if (exact) return toUser(exact);
      if (value.includes('@')) return null;
      const prefix = db
        .prepare("SELECT * FROM dir_users WHERE tenant_id = ? AND substr(upn, 1, length(?) + 1) = ? || '@' LIMIT 2")
        .all(tenantId, value, value) as Row[];
      return prefix.length === 1 ? toUser(prefix[0]) : null;
    },
    async list(tenantId, filter = {}) {
      const limit = pageLimit(filter.limit);
      const after = userCursor.decode(filter.cursor);
      const search = filter.search ? `%${filter.search.toLowerCase()}%` : '%';
      const rows = db
        .prepare(
          'SELECT * FROM dir_users WHERE tenant_id = ? AND upn > ? AND (upn LIKE ? OR lower(display_name) LIKE ?) ORDER BY upn LIMIT ?',
        )
        .all(tenantId, after, search, search, limit + 1) as Row[];
      const items = rows.slice(0, limit).map(toUser);
      return { items, next: rows.length > limit ? userCursor.encode(items[items.length - 1].upn) : null };
    },
    async update(tenantId, id, patch) {
      const r = userRow(tenantId, id);
      if (!r) throw notFound('user', id);
      const u = toUser(r);
      db.prepare(
        'UPDATE dir_users SET display_name = ?, email = ?, onprem_name = ?, enabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?',
      ).run(
        patch.displayName ?? u.displayName,
        patch.email === undefined ? u.email : patch.email,
        patch.onPremName === undefined ? u.onPremName : patch.onPremName,
        (patch.enabled ?? u.enabled) ? 1 : 0,
        now(),
        tenantId,
        id,
      );
      return toUser(userRow(tenantId, id) as Row);
    },
    async delete(tenantId, id) {
      tx(db, () => {
        deletePrincipalAssignments(tenantId, { type: 'user', id });
        const result = db.prepare('DELETE FROM dir_users WHERE tenant_id = ? AND id = ?').run(tenantId, id);
        if (result.changes === 0) throw notFound('user', id);
      });
    },
    async setPassword(tenantId, id, password) {
      const hash = password === null ? null : await hashPassword(password);
      const result = db
        .prepare(
          'UPDATE dir_users SET password_hash = ?, failed_count = 0, locked_until = NULL, updated_at = ? WHERE tenant_id = ? AND id = ?',
        )
        .run(hash, now(), tenantId, id);
      if (result.changes === 0) throw notFound('user', id);
    },
    async passwordHash(tenantId, id) {
      return strOrNull(userRow(tenantId, id)?.password_hash);
    },
    async setPasswordHash(tenantId, id, hash) {
      db.prepare('UPDATE dir_users SET password_hash = ? WHERE tenant_id = ? AND id = ?').run(hash, tenantId, id);
    },
    async setLockout(tenantId, id, state) {
      db.prepare('UPDATE dir_users SET failed_count = ?, locked_until = ? WHERE tenant_id = ? AND id = ?').run(
        state.failedCount,
        state.lockedUntil,
        tenantId,
        id,
      );
    },
    async recordSignIn(tenantId, id, at) {
      db.prepare(
        'UPDATE dir_users SET last_signin_at = ?, failed_count = 0, locked_until = NULL WHERE tenant_id = ? AND id = ?',
      ).run(at, tenantId, id);
    },
    async findByExternal(tenantId, issuer, subject) {
      const r = db
        .prepare(
          'SELECT u.* FROM dir_external_identities x JOIN dir_users u ON u.tenant_id = x.tenant_id AND u.id = x.user_id WHERE x.tenant_id = ? AND x.issuer = ? AND x.subject = ?',
        )
        .get(tenantId, issuer, subject) as Row | undefined;
      return r ? toUser(r) : null;
    },
    async externalLinks(tenantId, id) {
      const rows = db
        .prepare(
          'SELECT issuer, subject, provider_id FROM dir_external_identities WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, issuer, subject',
        )
        .all(tenantId, id) as Row[];
      return rows.map((r) => ({
        issuer: r.issuer as string,
        subject: r.subject as string,
        providerId: (r.provider_id as string | null) ?? null,
      }));
    },
    async linkExternal(tenantId, id, issuer, subject, providerId = null) {
      if (!userRow(tenantId, id)) throw notFound('user', id);
      guard('external identity', () =>
        db
          .prepare(
            'INSERT INTO dir_external_identities (tenant_id, issuer, subject, user_id, created_at, provider_id) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(tenantId, issuer, subject, id, now(), providerId),
      );
    },
  };

  const groups: DirectoryStore['groups'] = {
    async create(tenantId, input) {
      const name = checkDirectoryGroupName(input.name);
      const id = newDirectoryId('ugr');
      guard(`group ${name}`, () =>
        db
          .prepare(
            'INSERT INTO dir_groups (id, tenant_id, name, description, external_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(id, tenantId, name, input.description ?? '', input.externalId ?? null, now()),
      );
      return toGroup(db.prepare('SELECT * FROM dir_groups WHERE id = ?').get(id) as Row);
    },
    async get(tenantId, id) {
      const r = db.prepare('SELECT * FROM dir_groups WHERE tenant_id = ? AND id = ?').get(tenantId, id) as
        | Row
        | undefined;
      return r ? toGroup(r) : null;
    },
    async getByName(tenantId, name) {
      const r = db.prepare('SELECT * FROM dir_groups WHERE tenant_id = ? AND name = ?').get(tenantId, name) as
        | Row
        | undefined;
      return r ? toGroup(r) : null;
    },
    async list(tenantId) {
      return (db.prepare('SELECT * FROM dir_groups WHERE tenant_id = ? ORDER BY name').all(tenantId) as Row[]).map(
        toGroup,
      );
    },
    async delete(tenantId, id) {
      tx(db, () => {
        deletePrincipalAssignments(tenantId, { type: 'group', id });
        const result = db.prepare('DELETE FROM dir_groups WHERE tenant_id = ? AND id = ?').run(tenantId, id);
        if (result.changes === 0) throw notFound('group', id);
      });
    },
    async addMember(tenantId, groupId, userId) {
      if (!userRow(tenantId, userId)) throw notFound('user', userId);
      if (!(await groups.get(tenantId, groupId))) throw notFound('group', groupId);
      db.prepare('INSERT OR IGNORE INTO dir_memberships (tenant_id, group_id, user_id) VALUES (?, ?, ?)').run(
        tenantId,
        groupId,
        userId,
      );
    },
    async removeMember(tenantId, groupId, userId) {
      db.prepare('DELETE FROM dir_memberships WHERE tenant_id = ? AND group_id = ? AND user_id = ?').run(
        tenantId,
        groupId,
        userId,
      );
    },
    async members(tenantId, groupId) {
      return (
        db
          .prepare(
            'SELECT u.* FROM dir_memberships m JOIN dir_users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id WHERE m.tenant_id = ? AND m.group_id = ? ORDER BY u.upn',
          )
          .all(tenantId, groupId) as Row[]
      ).map(toUser);
    },
    async forUser(tenantId, userId) {
      return (
        db
          .prepare(
            'SELECT g.* FROM dir_memberships m JOIN dir_groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id WHERE m.tenant_id = ? AND m.user_id = ? ORDER BY g.name',
          )
          .all(tenantId, userId) as Row[]
      ).map(toGroup);
    },
    async syncExternal(tenantId, userId, wanted) {
      tx(db, () => {
        const ids: string[] = [];
        for (const g of wanted) {
          let r = db
            .prepare('SELECT id FROM dir_groups WHERE tenant_id = ? AND external_id = ?')
            .get(tenantId, g.externalId) as Row | undefined;
          if (!r) {
            r = db
              .prepare('SELECT id FROM dir_groups WHERE tenant_id = ? AND name = ? AND external_id IS NULL')
              .get(tenantId, g.name) as Row | undefined;
            if (r) db.prepare('UPDATE dir_groups SET external_id = ? WHERE id = ?').run(g.externalId, str(r.id));
          }
          if (!r) {
            const id = newDirectoryId('ugr');
            const name = externalGroupName(
              g.name,
              g.externalId,
              db.prepare('SELECT 1 FROM dir_groups WHERE tenant_id = ? AND name = ?').get(tenantId, g.name) !==
                undefined,
            );
            db.prepare(
              'INSERT INTO dir_groups (id, tenant_id, name, description, external_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
            ).run(id, tenantId, name, EXTERNAL_GROUP_DESCRIPTION, g.externalId, now());
            r = { id };
          }
          ids.push(str(r.id));
          db.prepare('INSERT OR IGNORE INTO dir_memberships (tenant_id, group_id, user_id) VALUES (?, ?, ?)').run(
            tenantId,
            str(r.id),
            userId,
          );
        }
        const stale = db
          .prepare(
            'SELECT m.group_id FROM dir_memberships m JOIN dir_groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id WHERE m.tenant_id = ? AND m.user_id = ? AND g.external_id IS NOT NULL',
          )
          .all(tenantId, userId) as Row[];
        for (const s of stale) {
          if (!ids.includes(str(s.group_id)))
            db.prepare('DELETE FROM dir_memberships WHERE tenant_id = ? AND group_id = ? AND user_id = ?').run(
              tenantId,
              str(s.group_id),
              userId,
            );
        }
      });
    },
  };

  const licenceOf = (tenantId: string, sku: string): Licence | null => {
    const r = db.prepare('SELECT * FROM dir_licences WHERE tenant_id = ? AND sku = ?').get(tenantId, sku) as
      | Row
      | undefined;
    return r
      ? { tenantId, sku: str(r.sku) as LicenceSku, seats: Number(r.seats), used: holders(tenantId, sku).size }
      : null;
  };

  const licences: DirectoryStore['licences'] = {
    async setSeats(tenantId, sku, seats) {
      checkSku(sku);
      checkSeats(seats);
      db.prepare(
        'INSERT INTO dir_licences (tenant_id, sku, seats) VALUES (?, ?, ?) ON CONFLICT (tenant_id, sku) DO UPDATE SET seats = excluded.seats',
      ).run(tenantId, sku, seats);
      return licenceOf(tenantId, sku) as Licence;
    },
    async list(tenantId) {
      return (db.prepare('SELECT sku FROM dir_licences WHERE tenant_id = ? ORDER BY sku').all(tenantId) as Row[]).map(
        (r) => licenceOf(tenantId, str(r.sku)) as Licence,
      );
    },
    async assign(tenantId, sku, principal) {
      checkSku(sku);
      checkPrincipal(principal);
      return tx(db, () => {
        const licence = licenceOf(tenantId, sku);
        if (!licence) throw noLicence(sku);
        if (!principalExists(tenantId, principal)) throw notFound(principal.type, principal.id);
        const createdAt = now();
        db.prepare(
          'INSERT OR IGNORE INTO dir_licence_assignments (tenant_id, sku, principal_type, principal_id, created_at) VALUES (?, ?, ?, ?, ?)',
        ).run(tenantId, sku, principal.type, principal.id, createdAt);
        const used = holders(tenantId, sku).size;
        if (used > licence.seats) throw seatsExceeded(sku, licence.seats, used);
        return { tenantId, sku, principal, createdAt };
      });
    },
    async unassign(tenantId, sku, principal) {
      db.prepare(
        'DELETE FROM dir_licence_assignments WHERE tenant_id = ? AND sku = ? AND principal_type = ? AND principal_id = ?',
      ).run(tenantId, sku, principal.type, principal.id);
    },
    async assignments(tenantId, sku) {
      const rows = (
        sku
          ? db
              .prepare('SELECT * FROM dir_licence_assignments WHERE tenant_id = ? AND sku = ? ORDER BY created_at')
              .all(tenantId, sku)
          : db
              .prepare('SELECT * FROM dir_licence_assignments WHERE tenant_id = ? ORDER BY sku, created_at')
              .all(tenantId)
      ) as Row[];
      return rows.map((r) => licenceAssignmentFromRow(r, cells));
    },
  };

  const assignments: DirectoryStore['assignments'] = {
    async assign(tenantId, appId, principal) {
      checkPrincipal(principal);
      if (!db.prepare('SELECT 1 FROM apps WHERE tenant_id = ? AND id = ?').get(tenantId, appId))
        throw notFound('app', appId);
      if (!principalExists(tenantId, principal)) throw notFound(principal.type, principal.id);
      const createdAt = now();
      db.prepare(
        'INSERT OR IGNORE INTO dir_app_assignments (tenant_id, app_id, principal_type, principal_id, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(tenantId, appId, principal.type, principal.id, createdAt);
      return { tenantId, appId, principal, createdAt };
    },
    async unassign(tenantId, appId, principal) {
      db.prepare(
        'DELETE FROM dir_app_assignments WHERE tenant_id = ? AND app_id = ? AND principal_type = ? AND principal_id = ?',
      ).run(tenantId, appId, principal.type, principal.id);
    },
    async list(tenantId, appId) {
      return (
        db
          .prepare('SELECT * FROM dir_app_assignments WHERE tenant_id = ? AND app_id = ? ORDER BY created_at')
          .all(tenantId, appId) as Row[]
      ).map((r) => appAssignmentFromRow(r, cells));
    },
    async isAssigned(tenantId, appId, userId) {
      return (await assignments.appsForUser(tenantId, userId)).includes(appId);
    },
    async appsForUser(tenantId, userId) {
      const rows = db
        .prepare(
          `SELECT app_id FROM dir_app_assignments WHERE tenant_id = ? AND principal_type = 'user' AND principal_id = ?
           UNION
           SELECT a.app_id FROM dir_app_assignments a JOIN dir_memberships m ON m.tenant_id = a.tenant_id AND m.group_id = a.principal_id
           WHERE a.tenant_id = ? AND a.principal_type = 'group' AND m.user_id = ?`,
        )
        .all(tenantId, userId, tenantId, userId) as Row[];
      return rows.map((r) => str(r.app_id));
    },
  };

  const access: DirectoryStore['access'] = {
    async facts(tenantId, userId): Promise<AccessFacts | null> {
      const r = userRow(tenantId, userId);
      if (!r) return null;
      const user = toUser(r);
      const groupIds = userGroupIds(tenantId, userId);
      const skus: LicenceSku[] = [];
      for (const licence of await licences.list(tenantId)) {
        const direct = db
          .prepare(
            "SELECT 1 FROM dir_licence_assignments WHERE tenant_id = ? AND sku = ? AND principal_type = 'user' AND principal_id = ?",
          )
          .get(tenantId, licence.sku, userId);
        const viaGroup = (
          db
            .prepare(
              "SELECT principal_id FROM dir_licence_assignments WHERE tenant_id = ? AND sku = ? AND principal_type = 'group'",
            )
            .all(tenantId, licence.sku) as Row[]
        ).some((g) => groupIds.includes(str(g.principal_id)));
        if (holdsLicence(licence, direct !== undefined, viaGroup)) skus.push(licence.sku);
      }
      return { user, groups: await groups.forUser(tenantId, userId), skus };
    },
  };

  return {
    users,
    groups,
    licences,
    assignments,
    access,
    mfa: createMfaRepo(db, keys),
    settings: createSettingsRepo(db, keys),
    signinLog: createSigninLogRepo(db),
    reports: createReportsRepo(db),
  };
}
