/**
 * Apps' certificates and ACME state on PostgreSQL (types.ts `certificates`), shared by every node: keys sealed with
 * the store's key ring; a change reaches every node's SNI table through the change bus. One node at a time places
 * ACME orders: it holds a session advisory lock on its own connection for the whole run, so a node that dies
 * mid-order frees the lock with its connection.
 */
import type { KeyRing } from '../../identity/keys.ts';
import { openEdgeSecret, sealEdgeSecret } from '../edge-secrets.ts';
import { sealedFor } from '../rules.ts';
import type { Store, StoredAppCertificate } from '../types.ts';
import { type Ctx, type Row, all, iso, notFound, one, str, tx } from './db.ts';

/** Advisory lock class for ACME orders ("Acme"). */
const ACME_LOCK_CLASS = 0x41636d65;
const LOCK_KEY = "hashtext(coalesce(current_schema(), ''))";

export function certificatesRepo(ctx: Ctx, keys: KeyRing): Store['certificates'] {
  const { pool } = ctx;
  const toCert = (r: Row): StoredAppCertificate => ({
    tenantId: str(r.tenant_id),
    appId: str(r.app_id),
    host: str(r.host),
    source: str(r.source) as StoredAppCertificate['source'],
    certPem: str(r.cert_pem),
    keyPem: openEdgeSecret(keys, str(r.key_sealed), sealedFor.appCertificate(str(r.tenant_id), str(r.app_id))),
    notAfter: iso(r.not_after),
    updatedAt: iso(r.updated_at),
  });
  return {
    async listAll() {
      return (await all(pool, 'SELECT * FROM app_certificates ORDER BY app_id')).map(toCert);
    },
    async get(tenantId, appId) {
      const r = await one(pool, 'SELECT * FROM app_certificates WHERE tenant_id = $1 AND app_id = $2', [
        tenantId,
        appId,
      ]);
      return r ? toCert(r) : null;
    },
    async put(tenantId, appId, cert) {
      const row = await tx(ctx, async (c, changed) => {
        if (!(await one(c, 'SELECT 1 FROM apps WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, appId])))
          throw notFound('app', appId);
        const r = await one(
          c,
          `INSERT INTO app_certificates (app_id, tenant_id, host, source, cert_pem, key_sealed, not_after, updated_at)
                                VALUES ($1, $2, $3, $4, $5, $6, $7, now())
                                ON CONFLICT (app_id) DO UPDATE SET host = excluded.host, source = excluded.source, cert_pem = excluded.cert_pem,
                                  key_sealed = excluded.key_sealed, not_after = excluded.not_after, updated_at = excluded.updated_at
                                RETURNING *`,
          [
            appId,
            tenantId,
            cert.host,
            cert.source,
            cert.certPem,
            sealEdgeSecret(keys, cert.keyPem, sealedFor.appCertificate(tenantId, appId)),
            cert.notAfter,
          ],
        );
        changed({ kind: 'certificate', tenantId, id: appId, op: 'updated' });
        return r as Row;
      });
      return toCert(row);
    },
    async delete(tenantId, appId) {
      return tx(ctx, async (c, changed) => {
        const { rowCount } = await c.query('DELETE FROM app_certificates WHERE tenant_id = $1 AND app_id = $2', [
          tenantId,
          appId,
        ]);
        if (rowCount === 0) return false;
        changed({ kind: 'certificate', tenantId, id: appId, op: 'deleted' });
        return true;
      });
    },
    async initAcmeAccount(directoryUrl, keyPem) {
      await pool.query(
        'INSERT INTO acme_accounts (directory_url, key_sealed, created_at) VALUES ($1, $2, now()) ON CONFLICT (directory_url) DO NOTHING',
        [directoryUrl, sealEdgeSecret(keys, keyPem, sealedFor.acmeAccount(directoryUrl))],
      );
      const r = (await one(pool, 'SELECT key_sealed FROM acme_accounts WHERE directory_url = $1', [
        directoryUrl,
      ])) as Row;
      return openEdgeSecret(keys, str(r.key_sealed), sealedFor.acmeAccount(directoryUrl));
    },
    async putAcmeChallenge(c) {
      await pool.query(
        `INSERT INTO acme_challenges (host, cert_pem, key_pem, created_at) VALUES ($1, $2, $3, now())
                        ON CONFLICT (host) DO UPDATE SET cert_pem = excluded.cert_pem, key_pem = excluded.key_pem, created_at = excluded.created_at`,
        [c.host, c.certPem, c.keyPem],
      );
    },
    async getAcmeChallenge(host) {
      const r = await one(pool, 'SELECT * FROM acme_challenges WHERE host = $1', [host]);
      return r ? { host: str(r.host), certPem: str(r.cert_pem), keyPem: str(r.key_pem) } : null;
    },
    async deleteAcmeChallenge(host) {
      await pool.query('DELETE FROM acme_challenges WHERE host = $1', [host]);
    },
    async withAcmeLock(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        const got = await one(client, `SELECT pg_try_advisory_lock($1, ${LOCK_KEY}) AS ok`, [ACME_LOCK_CLASS]);
        if (got?.ok !== true) return { ran: false };
        try {
          return { ran: true, value: await fn() };
        } finally {
          await client
            .query(`SELECT pg_advisory_unlock($1, ${LOCK_KEY})`, [ACME_LOCK_CLASS])
            .catch((e: Error) => void (broken = e));
        }
      } finally {
        client.release(broken);
      }
    },
  };
}
