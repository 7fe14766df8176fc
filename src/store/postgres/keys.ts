/**
 * The identity key ring of a PostgreSQL store: its 32-byte master key lives in the database (`identity_keys`), made
 * by whichever node opens the store first (an insert that yields to a concurrent one), and every node derives the
 * same purpose keys from it (identity/keys.ts `keyRingFrom`, as SQLite does from `<stateDir>/identity.key`).
 *
 * Why in the database rather than a configured key: TOTP secrets and the OIDC client secret sealed by one node must
 * open on every other, and so must (later) the cookie and sign-in state keys. The database is the one thing all nodes
 * already share and trust; a configured key would be one more secret to copy to every node and keep identical, with
 * a node that got it wrong unable to read what the others wrote. The protection is the same as the embedded default,
 * where the key file sits beside the SQLite file in the state directory: sealing keeps secrets out of row dumps,
 * exports and logs of the directory tables; it does not defend against someone who can read the whole database.
 * That would need a key held outside it (a KMS), which is not built.
 */
import { randomBytes } from 'node:crypto';
import { keyRingFrom, type KeyRing } from '../../identity/keys.ts';
import { type Queryable, now, one } from './db.ts';

const MASTER_BYTES = 32;

export async function loadIdentityKeys(q: Queryable): Promise<KeyRing> {
  await q.query(
    "INSERT INTO identity_keys (id, master, created_at) VALUES ('master', $1, $2) ON CONFLICT (id) DO NOTHING",
    [randomBytes(MASTER_BYTES), now()],
  );
  const row = await one(q, "SELECT master FROM identity_keys WHERE id = 'master'");
  const master = row?.master;
  if (!Buffer.isBuffer(master) || master.length !== MASTER_BYTES)
    throw new Error('identity_keys holds no 32-byte master key');
  return keyRingFrom(master);
}
