/**
 * Apps' certificates and ACME state in the SQLite file (types.ts `certificates`). Keys sealed with the store's key
 * ring. One edge process owns a SQLite file, so the ACME lock is a flag in this process.
 */
import type { KeyRing } from '../../identity/keys.ts';
import { openEdgeSecret, sealEdgeSecret } from '../edge-secrets.ts';
import { sealedFor } from '../rules.ts';
import type { Store, StoredAppCertificate } from '../types.ts';
import { type Ctx, type Row, emit, notFound, now } from './db.ts';

export function certificatesRepo(ctx: Ctx, ring: () => KeyRing): Store['certificates'] {
  const { db } = ctx;
  let locked = false;
  const toCert = (r: Row): StoredAppCertificate => ({
    tenantId: r.tenant_id as string,
    appId: r.app_id as string,
    host: r.host as string,
    source: r.source as StoredAppCertificate['source'],
    certPem: r.cert_pem as string,
    keyPem: openEdgeSecret(
      ring(),
      r.key_sealed as string,
      sealedFor.appCertificate(r.tenant_id as string, r.app_id as string),
    ),
    notAfter: r.not_after as string,
    updatedAt: r.updated_at as string,
  });
  const get = (tenantId: string, appId: string): StoredAppCertificate | null => {
    const r = db.prepare('SELECT * FROM app_certificates WHERE tenant_id = ? AND app_id = ?').get(tenantId, appId) as
      | Row
      | undefined;
    return r ? toCert(r) : null;
  };
  return {
    async listAll() {
      return (db.prepare('SELECT * FROM app_certificates ORDER BY app_id').all() as Row[]).map(toCert);
    },
    async get(tenantId, appId) {
      return get(tenantId, appId);
    },
    async put(tenantId, appId, cert) {
      if (!db.prepare('SELECT 1 FROM apps WHERE tenant_id = ? AND id = ?').get(tenantId, appId))
        throw notFound('app', appId);
      db.prepare(`INSERT INTO app_certificates (app_id, tenant_id, host, source, cert_pem, key_sealed, not_after, updated_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                  ON CONFLICT (app_id) DO UPDATE SET host = excluded.host, source = excluded.source, cert_pem = excluded.cert_pem,
                    key_sealed = excluded.key_sealed, not_after = excluded.not_after, updated_at = excluded.updated_at`).run(
        appId,
        tenantId,
        cert.host,
        cert.source,
        cert.certPem,
        sealEdgeSecret(ring(), cert.keyPem, sealedFor.appCertificate(tenantId, appId)),
        new Date(cert.notAfter).toISOString(),
        now(),
      );
      emit(ctx, { kind: 'certificate', tenantId, id: appId, op: 'updated' });
      return get(tenantId, appId) as StoredAppCertificate;
    },
    async delete(tenantId, appId) {
      const { changes } = db
        .prepare('DELETE FROM app_certificates WHERE tenant_id = ? AND app_id = ?')
        .run(tenantId, appId);
      if (changes === 0) return false;
      emit(ctx, { kind: 'certificate', tenantId, id: appId, op: 'deleted' });
      return true;
    },
    async initAcmeAccount(directoryUrl, keyPem) {
      db.prepare(
        'INSERT INTO acme_accounts (directory_url, key_sealed, created_at) VALUES (?, ?, ?) ON CONFLICT (directory_url) DO NOTHING',
      ).run(directoryUrl, sealEdgeSecret(ring(), keyPem, sealedFor.acmeAccount(directoryUrl)), now());
      const r = db.prepare('SELECT key_sealed FROM acme_accounts WHERE directory_url = ?').get(directoryUrl) as Row;
      return openEdgeSecret(ring(), r.key_sealed as string, sealedFor.acmeAccount(directoryUrl));
    },
    async putAcmeChallenge(c) {
      db.prepare(`INSERT INTO acme_challenges (host, cert_pem, key_pem, created_at) VALUES (?, ?, ?, ?)
                  ON CONFLICT (host) DO UPDATE SET cert_pem = excluded.cert_pem, key_pem = excluded.key_pem, created_at = excluded.created_at`).run(
        c.host,
        c.certPem,
        c.keyPem,
        now(),
      );
    },
    async getAcmeChallenge(host) {
      const r = db.prepare('SELECT * FROM acme_challenges WHERE host = ?').get(host) as Row | undefined;
      return r ? { host: r.host as string, certPem: r.cert_pem as string, keyPem: r.key_pem as string } : null;
    },
    async deleteAcmeChallenge(host) {
      db.prepare('DELETE FROM acme_challenges WHERE host = ?').run(host);
    },
    async withAcmeLock(fn) {
      if (locked) return { ran: false };
      locked = true;
      try {
        return { ran: true, value: await fn() };
      } finally {
        locked = false;
      }
    },
  };
}
