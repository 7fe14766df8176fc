/**
 * Conditional access's cost per request (issue 12): µs per call of what the edge's request path calls for a request
 * with an app session (signin/conditional-access.ts `onRequest`: the tenant's policy set from the cache in
 * access/policy-cache.ts, the client's address, platform and client type from the request, access/policies.ts's
 * evaluator), in-process, one core. `npm run bench -- --only=policy-eval` (or `node bench/policy-eval.ts`).
 *
 * The store is the real embedded one (SQLite in a temp dir) with the demo's tenant, apps, users, named locations
 * ("Office", "Blocked range") and two policies, seeded as `drawbridge dev` seeds them. The requests are real
 * IncomingMessages, received over loopback from the demo's three client addresses (127.0.0.1 in Office, 127.0.0.100
 * outside it, 127.0.0.70 in Blocked range) with a Chromium User-Agent and client hints; alice, password only, to the
 * HR app. The baseline is the same call for a tenant with no policy. Figures, never assertions.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createPolicyCache } from '../src/edge/access/policy-cache.ts';
import { createConditionalAccess, type Who } from '../src/edge/signin/conditional-access.ts';
import { seedDemoDirectory, seedDemoPolicies } from '../src/edge/signin/seed.ts';
import { openSqliteStore } from '../src/store/sqlite/index.ts';
import { median } from './page-load.ts';

const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const CLIENT_HINTS = {
  'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Windows"',
};

export interface PolicyEvalRow {
  label: string;
  clientIp: string;
  /** The verdict the edge would act on (allow, block, mfa-required …). */
  verdict: string;
  policies: number;
  /** µs per evaluation, median over the rounds. */
  us: number;
}

export interface PolicyEvalFigures {
  evaluationsPerRound: number;
  rounds: number;
  rows: PolicyEvalRow[];
}

/** One real request from `localAddress` to a local server; resolves with the server's IncomingMessage. */
async function captureRequest(localAddress: string): Promise<IncomingMessage> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const received = once(server, 'request') as Promise<[IncomingMessage, import('node:http').ServerResponse]>;
  const client = request({
    host: '127.0.0.1',
    port,
    localAddress,
    path: '/pay',
    agent: false,
    headers: {
      host: 'hr-contoso.apps.localhost',
      'user-agent': USER_AGENT,
      accept: 'text/html,application/xhtml+xml',
      ...CLIENT_HINTS,
    },
  });
  client.on('error', () => {});
  client.end();
  const [req, res] = await received;
  // The socket stays open while the bench reads from req (the edge reads it during the request too).
  setImmediate(() => {
    res.end();
    server.close();
  });
  return req;
}

/** `count` sequential awaited calls; ms. */
async function timed(count: number, call: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await call();
  return performance.now() - start;
}

export async function benchPolicyEval(quick = false): Promise<PolicyEvalFigures> {
  const evaluationsPerRound = quick ? 20_000 : 100_000;
  const rounds = quick ? 5 : 11;
  const stateDir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-policy-'));
  const store = await openSqliteStore(stateDir);
  try {
    const demo = await store.tenants.create({ name: 'contoso', displayName: 'Contoso' });
    const bare = await store.tenants.create({ name: 'fabrikam', displayName: 'Fabrikam (no policy)' });
    const appsOf = async (tenantId: string, tenant: string): Promise<string> => {
      const group = await store.groups.create(tenantId, { name: 'default' });
      const hr = await store.apps.create(tenantId, {
        name: 'hr',
        internalUrl: 'http://127.0.0.1:1',
        groupId: group.id,
        preAuth: 'idp',
        externalUrl: `https://hr-${tenant}.apps.localhost`,
      });
      await store.apps.create(tenantId, {
        name: 'wiki',
        internalUrl: 'http://127.0.0.1:2',
        groupId: group.id,
        preAuth: 'idp',
        externalUrl: `https://wiki-${tenant}.apps.localhost`,
      });
      return hr.id;
    };
    const demoHr = await appsOf(demo.id, 'contoso');
    const bareHr = await appsOf(bare.id, 'fabrikam');
    await seedDemoDirectory(store.directory, demo.id, demoHr);
    const { policies } = await seedDemoPolicies(store, demo.id, demoHr);
    const alice = await store.directory.users.findByLogin(demo.id, 'alice');
    if (!alice) throw new Error('the demo directory has no alice');
    const hrGroup = await store.directory.groups.getByName(demo.id, 'HR');

    const access = createConditionalAccess({
      cache: createPolicyCache(store),
      directory: store.directory,
      logger: pino({ level: 'silent' }),
      now: Date.now,
    });
    const signedIn = Date.now();
    const who = (tenantId: string, appId: string): Who & { risk: 'none' } => ({
      tenantId,
      userId: alice.id,
      groupIds: hrGroup ? [hrGroup.id] : [],
      appId,
      authMethods: ['password'],
      authenticatedAt: signedIn,
      risk: 'none',
    });
    const cases = [
      { label: 'no policy (baseline)', ip: '127.0.0.1', who: who(bare.id, bareHr), policies: 0 },
      { label: 'demo policies, Office', ip: '127.0.0.1', who: who(demo.id, demoHr), policies: policies.length },
      {
        label: 'demo policies, outside Office',
        ip: '127.0.0.100',
        who: who(demo.id, demoHr),
        policies: policies.length,
      },
      { label: 'demo policies, Blocked range', ip: '127.0.0.70', who: who(demo.id, demoHr), policies: policies.length },
    ];
    const rows: PolicyEvalRow[] = [];
    for (const c of cases) {
      const req = await captureRequest(c.ip);
      const first = await access.onRequest(req, c.who); // loads the tenant's set into the cache
      const call = (): Promise<unknown> => access.onRequest(req, c.who);
      await timed(evaluationsPerRound, call); // warm-up: the JIT settles
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) times.push(await timed(evaluationsPerRound, call));
      const v = first.verdict;
      rows.push({
        label: c.label,
        clientIp: c.ip,
        verdict: v.allow ? 'allow' : v.outcome,
        policies: c.policies,
        us: (median(times) * 1000) / evaluationsPerRound,
      });
      req.socket.destroy();
    }
    access.close();
    return { evaluationsPerRound, rounds, rows };
  } finally {
    await store.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function policyEvalTable(f: PolicyEvalFigures): string {
  const base = f.rows.find((r) => r.policies === 0)?.us;
  const lines = [
    '| request (alice → HR app, Chromium User-Agent) | client address | policies | verdict | µs per evaluation | over baseline, µs |',
    '| --- | --- | ---: | --- | ---: | ---: |',
  ];
  for (const r of f.rows) {
    const over = base === undefined || r.policies === 0 ? '—' : (r.us - base).toFixed(2);
    lines.push(`| ${r.label} | ${r.clientIp} | ${r.policies} | ${r.verdict} | ${r.us.toFixed(2)} | ${over} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchPolicyEval(process.argv.includes('--quick'));
  process.stdout.write(`${policyEvalTable(figures)}\n`);
}
