/**
 * Edge secrets in the SQLite file (types.ts `edgeKeys`): the tunnel CA and the assertion signing keys, private keys
 * sealed with the store's key ring (edge-secrets.ts; made on first use, like the directory's). First writer wins, as
 * on PostgreSQL, so processes sharing the file agree.
 */
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { KeyRing } from '../../identity/keys.ts';
import { openEdgeSecret, sealEdgeSecret } from '../edge-secrets.ts';
import { sealedFor } from '../rules.ts';
import type { Store, StoredSigningKey, StoredTunnelCa } from '../types.ts';
import { type Ctx, type Row, notFound, now, tx } from './db.ts';

export function edgeKeysRepo(ctx: Ctx, ring: () => KeyRing): Store['edgeKeys'] {
  const { db } = ctx;
  const toKey = (r: Row): StoredSigningKey => ({
    kid: r.kid as string,
    privateJwk: openEdgeSecret(ring(), r.private_jwk_sealed as string, sealedFor.signingKey(r.kid as string)),
    active: r.active === 1,
    createdAt: r.created_at as string,
  });
  const list = (): StoredSigningKey[] =>
    (db.prepare('SELECT * FROM edge_signing_keys ORDER BY created_at, rowid').all() as Row[]).map(toKey);
  const getTunnelCa = (): StoredTunnelCa | null => {
    const r = db.prepare("SELECT * FROM edge_tunnel_ca WHERE id = 'ca'").get() as Row | undefined;
    return r
      ? {
          certPem: r.cert_pem as string,
          keyPem: openEdgeSecret(ring(), r.key_sealed as string, sealedFor.tunnelCa()),
          createdAt: r.created_at as string,
        }
      : null;
  };
  const insertKey = (key: { kid: string; privateJwk: string }, conflict: string): void => {
    db.prepare(
      `INSERT INTO edge_signing_keys (kid, private_jwk_sealed, active, created_at) VALUES (?, ?, 1, ?) ${conflict}`,
    ).run(key.kid, sealEdgeSecret(ring(), key.privateJwk, sealedFor.signingKey(key.kid)), now());
  };

  return {
    async getTunnelCa() {
      return getTunnelCa();
    },
    async initTunnelCa(ca) {
      db.prepare(
        "INSERT INTO edge_tunnel_ca (id, cert_pem, key_sealed, created_at) VALUES ('ca', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      ).run(ca.certPem, sealEdgeSecret(ring(), ca.keyPem, sealedFor.tunnelCa()), now());
      const stored = getTunnelCa();
      if (!stored) throw new Error('edge_tunnel_ca: the CA row vanished after it was written');
      return stored;
    },
    async listSigningKeys() {
      return list();
    },
    async ensureSigningKey(key) {
      // No conflict target: the key yields to an active key (the partial unique index) and to itself (the kid).
      insertKey(key, 'ON CONFLICT DO NOTHING');
      return list();
    },
    async rotateSigningKey(key) {
      tx(db, () => {
        db.prepare('UPDATE edge_signing_keys SET active = 0 WHERE active = 1').run();
        insertKey(key, 'ON CONFLICT (kid) DO UPDATE SET active = 1');
      });
      return list();
    },
    async removeSigningKey(kid) {
      const r = db.prepare('SELECT active FROM edge_signing_keys WHERE kid = ?').get(kid) as Row | undefined;
      if (!r) throw notFound('signing key', kid);
      if (r.active === 1)
        throw new DrawbridgeError(
          'DB-ADMIN-CONFLICT',
          `signing key ${kid} is the active one: rotate to another key before removing it`,
        );
      db.prepare('DELETE FROM edge_signing_keys WHERE kid = ?').run(kid);
    },
  };
}
