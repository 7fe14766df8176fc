import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent } from 'undici';
import { stringify as toYaml } from 'yaml';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { loopbackLookup } from './dev-stack.ts';
import { dropRedisKeys, REDIS_URL, requireRedis } from './redis.ts';

export const PG_URL = process.env.DRAWBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const DOMAIN = 'apps.localhost';

/**
 * What several edge processes of one test cluster share: a fresh PostgreSQL schema, a Redis key prefix, a work
 * directory with the dev certificates, and one admin token; `cleanup()` drops the schema and the keys. Tests that
 * start nodes write each node's configuration with `writeConfig`.
 */
export interface ClusterEnv {
  work: string;
  adminToken: string;
  storeUrl: string;
  redisPrefix: string;
  caCertPath: string;
  /** An HTTP client that trusts the dev CA and dials 127.0.0.1 for every host. */
  agent: Agent;
  writeConfig(name: string, extra?: Record<string, unknown>): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createClusterEnv(label: string): Promise<ClusterEnv> {
  const schema = `drawbridge_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const redisPrefix = `drawbridge-test-${randomBytes(6).toString('hex')}:`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1, connectionTimeoutMillis: 5000 });
  await admin.query(`CREATE SCHEMA ${schema}`).catch((err: Error) => {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${err.message}); start it or set DRAWBRIDGE_TEST_POSTGRES_URL`,
      { cause: err },
    );
  });
  await requireRedis();
  const work = await mkdtemp(path.join(os.tmpdir(), `drawbridge-${label}-`));
  const certs = await createDevCertificates(path.join(work, 'certs'), DOMAIN);
  const agent = new Agent({
    connect: { ca: await readFile(certs.caCertPath, 'utf8'), lookup: loopbackLookup } as never,
  });
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const adminToken = randomBytes(24).toString('base64url');
  return {
    work,
    adminToken,
    storeUrl: url.href,
    redisPrefix,
    caCertPath: certs.caCertPath,
    agent,
    async writeConfig(name, extra = {}) {
      const file = path.join(work, `${name}.yaml`);
      await writeFile(
        file,
        toYaml({
          stateDir: path.join(work, name),
          domain: DOMAIN,
          listen: { host: '127.0.0.1', port: 0 },
          tls: [{ certFile: certs.certPath, keyFile: certs.keyPath }],
          admin: { host: '127.0.0.1', port: 0, token: adminToken },
          store: { kind: 'postgres', url: url.href },
          sessions: { kind: 'redis', url: REDIS_URL, keyPrefix: redisPrefix },
          cluster: { nodeId: name },
          ...extra,
        }),
      );
      return file;
    },
    async cleanup() {
      await agent.close().catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
      await dropRedisKeys(redisPrefix);
      await rm(work, { recursive: true, force: true });
    },
  };
}
