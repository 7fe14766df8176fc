/**
 * The connector's Kerberos identity, from `drawbridge connector run --kerberos-config FILE` (YAML or JSON):
 *
 *   realm: CORP.EXAMPLE
 *   kdcs: [dc1.corp.example, dc2.corp.example:88]
 *   principal: svc-drawbridge          # or svc-drawbridge@CORP.EXAMPLE, HTTP/connector.corp.example
 *   keytab: /etc/drawbridge/connector.keytab   # mode 0600, owned by the connector's user
 *
 * The keytab stays on the connector host: it is the service account's password, and the edge never needs it
 * (docs/sso.md, "Where the keytab lives").
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  Keytab,
  KerberosClient,
  SUPPORTED_ENCTYPES,
  isKerberosError,
  parsePrincipal,
  type Clock,
} from '../../kerberos/index.ts';
import { SsoError } from './sso-error.ts';

export interface KerberosConfig {
  realm: string;
  kdcs: string[];
  principal: string;
  keytab: string;
  /** Per KDC attempt (default 3000 ms). */
  timeoutMs?: number;
  /** Largest tolerated clock difference with the KDC (default 300000 ms = 5 min). */
  maxSkewMs?: number;
}

/** Test hook only: shifts the connector's Kerberos clock (how the tests show DB-KCD-CLOCK-SKEW without root on time). */
export const CLOCK_OFFSET_ENV = 'DRAWBRIDGE_KERBEROS_CLOCK_OFFSET_MS';

export async function loadKerberosConfig(file: string): Promise<KerberosConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SsoError('DB-KCD-NOT-CONFIGURED', `cannot read the Kerberos config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new SsoError('DB-KCD-NOT-CONFIGURED', `${file} is not YAML or JSON: ${(err as Error).message}`);
  }
  const c = (raw ?? {}) as Record<string, unknown>;
  const bad = (why: string): never => {
    throw new SsoError('DB-KCD-NOT-CONFIGURED', `${file}: ${why}`);
  };
  if (typeof c.realm !== 'string' || !/^[A-Za-z0-9.-]+$/.test(c.realm))
    bad('realm: the AD realm in capitals, e.g. CORP.EXAMPLE');
  const kdcs = typeof c.kdcs === 'string' ? [c.kdcs] : c.kdcs;
  if (!Array.isArray(kdcs) || kdcs.length === 0 || !kdcs.every((k) => typeof k === 'string' && k.length > 0))
    bad('kdcs: a list of domain controllers, host or host:port');
  if (typeof c.principal !== 'string' || c.principal === '')
    bad('principal: the connector service account, e.g. svc-drawbridge');
  if (typeof c.keytab !== 'string' || c.keytab === '') bad("keytab: path to the service account's keytab (mode 0600)");
  for (const key of ['timeoutMs', 'maxSkewMs'] as const) {
    if (c[key] !== undefined && (typeof c[key] !== 'number' || (c[key] as number) <= 0))
      bad(`${key}: a positive number of milliseconds`);
  }
  return {
    realm: (c.realm as string).toUpperCase(),
    kdcs: kdcs as string[],
    principal: c.principal as string,
    keytab: path.resolve(path.dirname(file), c.keytab as string),
    ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs as number }),
    ...(c.maxSkewMs === undefined ? {} : { maxSkewMs: c.maxSkewMs as number }),
  };
}

/** Reads and checks the keytab: a file only its owner can read, parseable, with a key for the principal (of any enctype). */
export async function loadKeytab(config: KerberosConfig): Promise<Keytab> {
  let mode: number;
  try {
    mode = (await stat(config.keytab)).mode;
  } catch (err) {
    throw new SsoError(
      'DB-KCD-KEYTAB',
      `keytab ${config.keytab} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new SsoError(
      'DB-KCD-KEYTAB',
      `keytab ${config.keytab} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  }
  let keytab: Keytab;
  try {
    keytab = await Keytab.read(config.keytab);
  } catch (err) {
    if (isKerberosError(err))
      throw new SsoError('DB-KCD-KEYTAB', `keytab ${config.keytab}: ${err.message}`, { cause: err });
    throw err;
  }
  const principal = parsePrincipal(config.principal, config.realm);
  if (keytab.enctypesFor(principal).length === 0) {
    const have =
      keytab
        .principals()
        .map((p) => `${p.name.components.join('/')}@${p.realm}`)
        .join(', ') || 'nothing';
    throw new SsoError(
      'DB-KCD-KEYTAB',
      `keytab ${config.keytab} has no key for ${config.principal}@${config.realm} (it holds ${have})`,
    );
  }
  return keytab;
}

/** The AES enctypes the keytab holds for the principal (empty: the KDC will share none with us). */
export function usableEnctypes(config: KerberosConfig, keytab: Keytab): number[] {
  return keytab
    .enctypesFor(parsePrincipal(config.principal, config.realm))
    .filter((t) => SUPPORTED_ENCTYPES.includes(t));
}

export async function createKerberosClient(config: KerberosConfig, keytab: Keytab): Promise<KerberosClient> {
  const offset = Number(process.env[CLOCK_OFFSET_ENV] ?? 0);
  const clock: Clock | undefined = offset ? () => Date.now() + offset : undefined;
  return new KerberosClient({
    realm: config.realm,
    principal: config.principal,
    keytab,
    kdcs: config.kdcs,
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
    ...(config.maxSkewMs === undefined ? {} : { maxSkewMs: config.maxSkewMs }),
    ...(clock ? { clock } : {}),
  });
}
