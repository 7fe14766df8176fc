/**
 * Edge secrets on PostgreSQL (types.ts `edgeKeys`): one tunnel CA and the signing keys for every node. A node offers
 * what it would create; `INSERT … ON CONFLICT DO NOTHING` keeps the first and everyone reads back the winner, so nodes
 * starting together on an empty database agree without a lock. Private keys are sealed with the store's key ring
 * (edge-secrets.ts), as the directory's secrets are.
 */
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { KeyRing } from '../../identity/keys.ts';
import { openEdgeSecret, sealEdgeSecret } from '../edge-secrets.ts';
import { sealedFor } from '../rules.ts';
import type { Store, StoredSigningKey } from '../types.ts';
import { type Ctx, type Row, all, iso, notFound, one, str } from './db.ts';

/** Advisory lock class for signing key rotation ("Keys"). */
const ROTATE_LOCK_CLASS = 0x4b657973;

export function edgeKeysRepo(ctx: Ctx, keys: KeyRing): Store['edgeKeys'] {
  const { pool } = ctx;
  const toKey = (r: Row): StoredSigningKey => ({
    kid: str(r.kid),
    privateJwk: openEdgeSecret(keys, str(r.private_jwk_sealed), sealedFor.signingKey(str(r.kid))),
    active: r.active === true,
    createdAt: iso(r.created_at),
  });
  const list = async (): Promise<StoredSigningKey[]> =>
    (await all(pool, 'SELECT * FROM edge_signing_keys ORDER BY created_at, kid')).map(toKey);
  const getTunnelCa = async () => {
    const r = await one(pool, "SELECT * FROM edge_tunnel_ca WHERE id = 'ca'");
    return r
      ? {
          certPem: str(r.cert_pem),
          keyPem: openEdgeSecret(keys, str(r.key_sealed), sealedFor.tunnelCa()),
          createdAt: iso(r.created_at),
        }
      : null;
  };

  return {
    getTunnelCa,
    async initTunnelCa(ca) {
      await pool.query(
        "INSERT INTO edge_tunnel_ca (id, cert_pem, key_sealed, created_at) VALUES ('ca', $1, $2, now()) ON CONFLICT (id) DO NOTHING",
        [ca.certPem, sealEdgeSecret(keys, ca.keyPem, sealedFor.tunnelCa())],
      );
      const stored = await getTunnelCa();
      if (!stored) throw new Error('edge_tunnel_ca: the CA row vanished after it was written');
      return stored;
    },
    listSigningKeys: list,
    async ensureSigningKey(key) {
      // No conflict target: the key yields to an active key (the partial unique index) and to itself (the kid).
      await pool.query(
        'INSERT INTO edge_signing_keys (kid, private_jwk_sealed, active, created_at) VALUES ($1, $2, true, now()) ON CONFLICT DO NOTHING',
        [key.kid, sealEdgeSecret(keys, key.privateJwk, sealedFor.signingKey(key.kid))],
      );
      return list();
    },
    async rotateSigningKey(key) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        await client.query("SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))", [
          ROTATE_LOCK_CLASS,
        ]);
        await client.query('UPDATE edge_signing_keys SET active = false WHERE active');
        await client.query(
          `INSERT INTO edge_signing_keys (kid, private_jwk_sealed, active, created_at) VALUES ($1, $2, true, clock_timestamp())
           ON CONFLICT (kid) DO UPDATE SET active = true`,
          [key.kid, sealEdgeSecret(keys, key.privateJwk, sealedFor.signingKey(key.kid))],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => void (broken = e));
        throw err;
      } finally {
        client.release(broken);
      }
      return list();
    },
    async removeSigningKey(kid) {
      const r = await one(pool, 'SELECT active FROM edge_signing_keys WHERE kid = $1', [kid]);
      if (!r) throw notFound('signing key', kid);
      const { rowCount } = await pool.query('DELETE FROM edge_signing_keys WHERE kid = $1 AND NOT active', [kid]);
      if (rowCount === 0) throw conflict(kid);
    },
  };
}

function conflict(kid: string) {
  return new DrawbridgeError(
    'DB-ADMIN-CONFLICT',
    `signing key ${kid} is the active one: rotate to another key before removing it`,
  );
}
