/**
 * `npm run bench [-- --quick] [-- --only=direct,nginx,…]`: Drawbridge's data path against the direct path and
 * one-hop nginx and haproxy, in one run on one machine (issue 6).
 *
 * Starts an nginx backend (one worker; a 1 KiB and a 256 MiB file) and, one at a time, each path in front of it;
 * loads it with wrk (closed loop), a fixed-rate client (open loop), curl downloads and idle connections; then a WAN
 * run through a delay relay. Writes bench/results/<date>.json, bench/results/latest.md and bench/results/latest.svg.
 * Everything listens on 127.0.0.1; every process it starts is stopped at the end, on Ctrl-C and on errors.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { svgChart } from './chart.ts';
import { groupPids, isAlive, machineTicks, stealShare } from './cpu.ts';
import { download, type DownloadResult } from './download.ts';
import {
  activePolicies,
  deletePolicies,
  devAvailable,
  preauthApp,
  publishApp,
  startDev,
  wanConnector,
  type Dev,
} from './drawbridge.ts';
import { startHaproxy } from './haproxy.ts';
import { ensurePackages } from './install.ts';
import { measurePath, type PathUnderTest, type Settings } from './measure.ts';
import { startBackend, startProxy } from './nginx.ts';
import { freePort, installCleanup, onCleanup, run, start, stopAll, waitForPort } from './processes.ts';
import { hostsMode } from './names.ts';
import { startRelay } from './relay.ts';
import { evaluateTargets, markdown } from './report.ts';
import type { PathId, PathResult, Results, WanRow } from './results.ts';
import { port, target, type Target } from './target.ts';
import { selfSigned } from './tls.ts';
import { parseArgs, type BenchArgs } from './args.ts';
import { checkout, shortSha, treeSha } from './before.ts';
import { startCaddyChain } from './caddy.ts';
import { updateReadme } from './readme.ts';
import { pairedRuns, type PairSide } from './pairs.ts';
import { benchLinkTranslation, linkTranslationTable } from './link-translation.ts';
import { measurePageLoad, pageLoadTable, writePage, type PageLoadFigures } from './page-load.ts';
import { CHROMIUM } from '../test/helpers/chromium.ts';
import { benchPolicyEval, policyEvalTable, type PolicyEvalFigures } from './policy-eval.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');
const SMALL_BYTES = 1024;
const LARGE_BYTES = 256 * 1024 * 1024;
const WAN_DELAY_MS = 10;
/** Steps that need no servers: `--only` with nothing else runs them alone, without packages. */
const IN_PROCESS = ['link-translation', 'policy-eval'] as const;
/** Environment variables through which the tunnel code would take its flow-control windows (bytes). */
const WINDOW_ENV = 'DRAWBRIDGE_TUNNEL_STREAM_WINDOW';
const CONNECTION_WINDOW_ENV = 'DRAWBRIDGE_TUNNEL_CONNECTION_WINDOW';

function windowKnob(): boolean {
  try {
    return readFileSync(join(ROOT, 'src', 'tunnel', 'flow-control.ts'), 'utf8').includes(WINDOW_ENV);
  } catch {
    return false;
  }
}

let args: BenchArgs;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
const { quick, profile, keep, only } = args;
const wanted = (id: PathId | 'wan' | 'page-load' | 'pairs' | (typeof IN_PROCESS)[number]): boolean =>
  !only || only.includes(id);
/** Runs this bench 5 times over (median) per protocol in the page-load step; 3 in a quick run. */
const PAGE_LOAD_RUNS = quick ? 3 : 5;
/** Rounds of the paired before/after step (`--before`): 3 in a full run, 1 in a quick one. */
const PAIR_ROUNDS = quick ? 1 : 3;

type Extra = Pick<Results, 'pageLoad' | 'policyEval' | 'before' | 'sha' | 'pairs'>;

/** The Drawbridge rows of one build (the --before build has the first two). */
const DRAWBRIDGE_ROWS = ['drawbridge-passthrough', 'drawbridge-preauth', 'drawbridge-preauth-no-policies'] as const;

const t0 = performance.now();
function log(line: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${s}s] ${line}\n`);
}

function makeFiles(root: string): void {
  writeFileSync(join(root, '1k'), randomBytes(SMALL_BYTES));
  // 256 MiB of incompressible data, written 1 MiB at a time.
  const block = randomBytes(1024 * 1024);
  const fd = openSync(join(root, '256m'), 'w');
  try {
    for (let i = 0; i < LARGE_BYTES / block.length; i++) writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
}

async function versions(): Promise<Results['machine']> {
  const first = async (cmd: string, args: string[]): Promise<string> => {
    const { stdout, stderr } = await run(cmd, args, { allowFail: true });
    return (stdout || stderr).trim().split('\n')[0].trim();
  };
  return {
    cpus: cpus().length,
    kernel: `Linux ${release()}`,
    node: process.version,
    nginx: (await first('nginx', ['-v'])).replace('nginx version: ', ''),
    haproxy: (await first('haproxy', ['-v'])).replace(/^HAProxy version (\S+).*/, 'haproxy/$1'),
    caddy: `caddy/${(await first('caddy', ['version'])).split(' ')[0].replace(/^v/, '')}`,
    wrk: (await first('wrk', ['--version'])).replace(/^wrk (\S+).*/, 'wrk $1'),
    curl: (await first('curl', ['--version'])).split(' ').slice(0, 2).join(' '),
  };
}

const LABELS: Record<PathId, string> = {
  direct: 'direct to nginx backend',
  nginx: 'nginx one-hop',
  'nginx-tls': 'nginx one-hop, TLS client side',
  haproxy: 'haproxy one-hop',
  caddy: 'Caddy chain (edge Caddy → HTTP/2 over TLS → connector Caddy)',
  'drawbridge-passthrough': 'Drawbridge passthrough',
  // Relabelled with the number of policies the edge really holds when the row starts.
  'drawbridge-preauth': 'Drawbridge pre-authenticated',
  'drawbridge-preauth-no-policies': 'Drawbridge pre-authenticated, no conditional access policy',
  'drawbridge-workers': 'Drawbridge passthrough, connector with 2 workers',
};

/** An empty row; `build` names the Drawbridge build when --before puts two side by side. */
function emptyRow(id: PathId, build?: { before: boolean; sha: string }): PathResult {
  const label = build ? `${LABELS[id]} — ${build.before ? 'before' : 'after'} (${build.sha})` : LABELS[id];
  return {
    id,
    label,
    ...(build?.before ? { before: build.sha } : {}),
    available: true,
    proxyRoles: [],
    load: [],
    rates: [],
    failures: {},
  };
}

/** Link translation's cost (bench/link-translation.ts): in-process, needs none of the servers. */
async function linkTranslationNote(): Promise<string> {
  log('link translation: MB/s through edge/proxy/link-translation.ts');
  const table = linkTranslationTable(await benchLinkTranslation(quick));
  process.stdout.write(`${table}\n`);
  return `Link translation (edge/proxy/link-translation.ts, in-process, 16 KiB chunks; "untouched" is the stream alone, for gzip decode + re-encode alone):\n\n${table}`;
}

function benchSettings(dir: string): Settings {
  return {
    dir,
    quick,
    wrkDurationS: quick ? 2 : 10,
    repetitions: quick ? 1 : 3,
    connections: [64, 256],
    threads: 2,
    rates: [1000, 3000],
    rateDurationS: quick ? 2 : 15,
    downloadMaxS: quick ? 4 : 60,
    wanMaxS: quick ? 6 : 60,
    idleConnections: quick ? 500 : 1000,
    smallPath: '/1k',
    smallBytes: SMALL_BYTES,
    largePath: '/256m',
    largeBytes: LARGE_BYTES,
    wsPath: '/ws',
    profile,
    resultsDir: RESULTS,
  };
}

/** The rows that need servers (packages, nginx backend, `drawbridge dev`), the page load and the WAN run. */
async function servers(paths: PathResult[], wan: WanRow[], notes: string[], extra: Extra): Promise<void> {
  log(`Drawbridge bench${quick ? ' (quick)' : ''}: checking Debian packages`);
  await ensurePackages(log);

  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-'));
  chmodSync(dir, 0o755); // nginx's workers run as nobody and read the files from here
  onCleanup(() => (keep ? log(`kept ${dir}`) : rmSync(dir, { recursive: true, force: true })));
  const www = join(dir, 'www');
  mkdirSync(www);
  makeFiles(www);
  chmodSync(join(www, '1k'), 0o644);
  chmodSync(join(www, '256m'), 0o644);
  const pagePath = writePage(www);
  chmodSync(join(www, 'page'), 0o755);
  const tls = await selfSigned(dir);
  chmodSync(tls.key, 0o644);
  log(`temp dir ${dir}`);

  const s = benchSettings(dir);
  const sha = extra.sha;
  // --before=<ref>: a worktree of that commit, removed at the end (before the temp dir, cleanups run in reverse).
  const before = args.before ? await checkout(ROOT, args.before, join(dir, 'before')) : null;
  if (before) {
    onCleanup(() => before.remove());
    extra.before = { ref: before.ref, sha: before.sha };
    log(`--before=${before.ref}: ${before.sha} checked out in ${before.root}`);
  }

  const backendPort = await freePort();
  const backend = await startBackend(dir, www, backendPort);
  const backendCpu = { role: 'backend', pids: () => groupPids(backend.pid) };
  const wsPort = await freePort();
  const wsBackend = start('ws backend', process.execPath, [join(ROOT, 'bench', 'ws-backend.ts'), String(wsPort)], {
    logFile: join(dir, 'ws-backend.log'),
  });
  await waitForPort(wsPort, wsBackend);
  log(`backend nginx on 127.0.0.1:${backendPort}, WebSocket backend on 127.0.0.1:${wsPort}`);

  /**
   * Measures one row: `setup` starts the path (it may relabel the row, e.g. with what it found running) and returns
   * what to measure; `build` marks Drawbridge rows when --before puts two builds side by side.
   */
  async function measure(
    id: PathId,
    setup: (row: PathResult) => Promise<{ p: PathUnderTest; stop?: () => Promise<void> }>,
    build?: { before: boolean; sha: string },
  ): Promise<PathResult> {
    const row = emptyRow(id, build);
    paths.push(row);
    if (!wanted(id)) {
      row.available = false;
      row.reason = 'skipped (--only)';
      return row;
    }
    row.loadAverage = loadavg()[0];
    log(`${row.label} (load average ${row.loadAverage.toFixed(1)})`);
    let stop: (() => Promise<void>) | undefined;
    const ticks = machineTicks();
    try {
      const started = await setup(row);
      stop = started.stop;
      await measurePath(row, started.p, s, log);
      row.stealShare = stealShare(ticks, machineTicks());
      if (row.stealShare >= STOLEN)
        log(`    the hypervisor took ${percent(row.stealShare)} of the CPU during this row`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      row.available = row.load.length > 0;
      row.reason = message.startsWith('not yet available') ? message : `failed: ${message}`;
      log(`  ${row.label}: ${row.reason.split('\n')[0]}`);
    } finally {
      await stop?.();
    }
    return row;
  }

  /** A row that cannot be measured at all (no `drawbridge dev`, a flag this build lacks). */
  function unavailable(id: PathId, reason: string, build?: { before: boolean; sha: string }): void {
    const row = emptyRow(id, build);
    row.available = false;
    row.reason = wanted(id) ? reason : 'skipped (--only)';
    paths.push(row);
  }

  // --- baselines ---
  await measure('direct', async () => ({
    p: {
      target: target(`http://127.0.0.1:${backendPort}`),
      cpu: [backendCpu],
      proxyRoles: [],
      rssPids: () => groupPids(backend.pid),
    },
  }));

  const proxyPorts = async (): Promise<{ http: number; https: number }> => ({
    http: await freePort(),
    https: await freePort(),
  });
  const nginxProxy = async (tlsSide: boolean): Promise<{ p: PathUnderTest; stop: () => Promise<void> }> => {
    const ports = await proxyPorts();
    const proc = await startProxy(dir, backendPort, wsPort, ports, tls);
    const pids = (): number[] => groupPids(proc.pid);
    const http = target(`http://127.0.0.1:${ports.http}`);
    const https = target(`https://localhost:${ports.https}`);
    return {
      p: tlsSide
        ? {
            target: https,
            cpu: [{ role: 'proxy', pids }, backendCpu],
            proxyRoles: ['proxy'],
            rssPids: pids,
            h2Target: https,
          }
        : {
            target: http,
            cpu: [{ role: 'proxy', pids }, backendCpu],
            proxyRoles: ['proxy'],
            rssPids: pids,
            idleTlsTarget: https,
            wsTarget: http,
          },
      stop: () => proc.stop(),
    };
  };
  await measure('nginx', () => nginxProxy(false));
  await measure('nginx-tls', () => nginxProxy(true));
  await measure('haproxy', async () => {
    const ports = await proxyPorts();
    const proc = await startHaproxy(dir, backendPort, ports, tls);
    const pids = (): number[] => groupPids(proc.pid);
    return {
      p: {
        target: target(`http://127.0.0.1:${ports.http}`),
        cpu: [{ role: 'proxy', pids }, backendCpu],
        proxyRoles: ['proxy'],
        rssPids: pids,
        // (--quick measures idle TLS on nginx only, to stay under 3 minutes)
        idleTlsTarget: quick ? undefined : target(`https://localhost:${ports.https}`),
      },
      stop: () => proc.stop(),
    };
  });

  // --- the Caddy chain: Drawbridge's shape (TLS edge → HTTP/2 over TLS → connector → backend) from a Go peer ---
  await measure('caddy', async () => {
    const chain = await startCaddyChain(
      dir,
      backendPort,
      wsPort,
      { edge: await freePort(), connector: await freePort() },
      tls,
    );
    const edge = (): number[] => groupPids(chain.edge.pid);
    const connector = (): number[] => groupPids(chain.connector.pid);
    const https = target(`https://localhost:${chain.port}`);
    const roles = [
      { role: 'edge', pids: edge },
      { role: 'connector', pids: connector },
    ];
    return {
      p: {
        target: https,
        cpu: [...roles, backendCpu],
        proxyRoles: ['edge', 'connector'],
        rssPids: edge,
        idleTlsTarget: https,
        wsTarget: https,
        wsRssPids: () => [...edge(), ...connector()],
        wsRssRoles: roles,
        h2Target: https,
        verify: async () => {
          const proto = await chain.hopProtocol();
          if (proto !== 'HTTP/2.0')
            throw new Error(`the connector Caddy got ${proto} from the edge Caddy, not HTTP/2.0`);
          log(`    the hop between the Caddies is ${proto}`);
          notes.push(
            `Caddy chain: two Debian Caddy processes (GOMAXPROCS=1 each), the edge Caddy terminating the client's TLS and proxying to the connector Caddy over TLS; a probe through the chain found the connector Caddy receiving ${proto}. Go's transport sends WebSocket upgrades over HTTP/1.1, so there each idle WebSocket has a TLS connection of its own on the middle hop (Drawbridge carries it as a stream of the tunnel).`,
          );
        },
        dead: () => [chain.edge, chain.connector].filter((c) => !isAlive(c.pid)).map((c) => `${c.name} (pid ${c.pid})`),
      },
      stop: () => chain.stop(),
    };
  });

  // --- Drawbridge: this tree's build, then (--before) the other build, then the 2-worker connector ---
  const backendUrl = `http://127.0.0.1:${backendPort}`;
  const available = await devAvailable(ROOT);
  const anyDrawbridge = DRAWBRIDGE_ROWS.some((id) => wanted(id)) || wanted('wan') || wanted('page-load');
  const after = before ? { before: false, sha: sha ?? 'this tree' } : undefined;

  /** Starts `drawbridge dev` from `root`; null (and the reason) when it does not start. */
  async function startDevFrom(
    root: string,
    name: string,
    extraArgs: string[] = [],
  ): Promise<{ dev: Dev | null; error: string }> {
    log(`starting drawbridge dev${extraArgs.map((a) => ` ${a}`).join('')} (${name})`);
    try {
      const d = await startDev(root, join(dir, `${name}-state`), join(dir, `${name}.log`), {}, extraArgs);
      log(`  edge ${d.info.edgeUrl} (pid ${d.info.edgePid}), connector pids ${d.connectorPids().join(', ')}`);
      return { dev: d, error: '' };
    } catch (err) {
      const error = `drawbridge dev did not start: ${err instanceof Error ? err.message : String(err)}`;
      log(`  ${error}`);
      return { dev: null, error };
    }
  }

  /** The passthrough and pre-authenticated rows (and, for this tree, pre-authenticated without policies) on `d`. */
  async function drawbridgeRows(d: Dev, build: { before: boolean; sha: string } | undefined): Promise<void> {
    const light = build?.before === true; // the before build: no 256 MiB downloads (run time)
    await measure(
      'drawbridge-passthrough',
      async () => {
        const app = await publishApp(d, 'bench', backendUrl, 'passthrough');
        const ws = await publishApp(d, 'bench-ws', `http://127.0.0.1:${wsPort}`, 'passthrough');
        return {
          p: {
            target: app,
            cpu: [...d.cpu, backendCpu],
            proxyRoles: ['edge', 'connector'],
            rssPids: d.edgePids,
            idleTlsTarget: app,
            wsTarget: ws,
            wsRssPids: () => [...d.edgePids(), ...d.connectorPids()],
            wsRssRoles: d.cpu,
            h2Target: app,
            gcBeforeRss: true,
            skipDownloads: light,
            profileTargets: [
              { role: 'edge', pid: () => d.edgePids()[0] },
              { role: 'connector', pid: () => d.connectorPids()[0] },
            ],
            dead: d.dead,
          },
        };
      },
      build,
    );
    let preauth: Target | undefined;
    const preauthRow = (skipDownloads: boolean) => (t: Target) => ({
      p: {
        target: t,
        cpu: [...d.cpu, backendCpu],
        proxyRoles: ['edge', 'connector'],
        rssPids: d.edgePids,
        skipDownloads,
        profileTargets: [{ role: 'edge', pid: () => d.edgePids()[0] }],
        dead: d.dead,
      },
    });
    await measure(
      'drawbridge-preauth',
      async (row) => {
        preauth = await preauthApp(d, backendUrl, s.smallPath);
        // Which conditional access policies the edge evaluates on each of this row's requests (app-host.ts).
        const on = await activePolicies(d).catch(() => null);
        if (on) {
          row.label = row.label.replace(
            LABELS['drawbridge-preauth'],
            `${LABELS['drawbridge-preauth']}, ${on.length} conditional access ${on.length === 1 ? 'policy' : 'policies'} on`,
          );
        }
        return preauthRow(light)(preauth);
      },
      build,
    );
    if (build?.before) return;
    // The same app and session with the tenant's policies deleted: what evaluating them costs per request.
    await measure(
      'drawbridge-preauth-no-policies',
      async () => {
        const t = preauth ?? (await preauthApp(d, backendUrl, s.smallPath));
        const deleted = await deletePolicies(d);
        log(`    deleted the tenant's ${deleted} conditional access policies`);
        return preauthRow(true)(t);
      },
      after,
    );
  }

  let dev: Dev | null = null;
  let devError = available.reason;
  if (available.ok && anyDrawbridge) ({ dev, error: devError } = await startDevFrom(ROOT, 'dev'));
  if (!dev) {
    for (const id of DRAWBRIDGE_ROWS) unavailable(id, `not yet available: ${devError}`, after);
    if (!available.ok) log(`Drawbridge rows not yet available: ${devError}`);
  } else {
    await drawbridgeRows(dev, after);
  }

  async function wanRun(): Promise<void> {
    log(`WAN run: delay relay, ${WAN_DELAY_MS} ms each way`);
    const wanDownload = (t: ReturnType<typeof target>): Promise<DownloadResult> =>
      download(t, s.largePath, { parallel: 1, maxSeconds: s.wanMaxS, expectedBytes: LARGE_BYTES });
    {
      const relay = await startRelay(backendPort, { delayMs: WAN_DELAY_MS });
      try {
        const d = await wanDownload(target(`http://127.0.0.1:${relay.port}`));
        wan.push({
          label: 'direct through the relay (client → relay → nginx backend)',
          available: true,
          rttMs: 2 * WAN_DELAY_MS,
          download: d,
          note: 'the link itself: what the relay carries (TCP ends at the relay, so no TCP window limits it)',
        });
        log(`  direct through the relay: ${d.mbPerSec.toFixed(1)} MB/s`);
      } finally {
        await relay.close();
      }
    }
    const overDrawbridge = async (d: Dev, label: string, note: string, env: NodeJS.ProcessEnv = {}): Promise<void> => {
      const row: WanRow = { label, available: false, rttMs: 2 * WAN_DELAY_MS, note };
      wan.push(row);
      const relay = await startRelay(Number(new URL(d.info.edgeUrl).port), { delayMs: WAN_DELAY_MS });
      let connector: Awaited<ReturnType<typeof wanConnector>> | null = null;
      try {
        connector = await wanConnector(
          ROOT,
          d,
          `127.0.0.1:${relay.port}`,
          backendUrl,
          join(dir, `connector-wan-${wan.length}.log`),
          env,
        );
        row.download = await wanDownload(connector.app);
        row.available = true;
        log(
          `  ${label}: ${row.download.mbPerSec.toFixed(1)} MB/s${row.download.error ? ` (${row.download.error})` : ''}`,
        );
      } catch (err) {
        row.reason = `failed: ${err instanceof Error ? err.message : String(err)}`;
        log(`  ${label} ${row.reason.split('\n')[0]}`);
      } finally {
        await connector?.proc.stop();
        await relay.close();
      }
    };
    const main = 'Drawbridge: client → edge → relay → connector → nginx backend';
    if (!dev) {
      wan.push({ label: main, available: false, rttMs: 2 * WAN_DELAY_MS, reason: devError });
      return;
    }
    await overDrawbridge(
      dev,
      main,
      'the tunnel crosses the relay, with the windows the code sets (src/tunnel/flow-control.ts)',
    );
    // Other flow-control windows, when the tunnel code takes them from the environment (edge and connector alike).
    if (!windowKnob()) {
      notes.push(`The WAN run shows one window setting: src/tunnel/flow-control.ts does not read ${WINDOW_ENV} yet.`);
      return;
    }
    for (const bytes of quick ? [65_535] : [65_535, 16 * 1024 * 1024]) {
      const env = { [WINDOW_ENV]: String(bytes), [CONNECTION_WINDOW_ENV]: String(Math.max(bytes, 4 * bytes)) };
      const label = `Drawbridge, stream window ${bytes < 1048576 ? `${Math.round(bytes / 1024)} KiB` : `${bytes / 1048576} MiB`}`;
      let other: Dev | null = null;
      try {
        other = await startDev(ROOT, join(dir, `dev-state-window-${bytes}`), join(dir, `dev-window-${bytes}.log`), env);
        await overDrawbridge(
          other,
          label,
          `${WINDOW_ENV}=${bytes}, ${CONNECTION_WINDOW_ENV}=${env[CONNECTION_WINDOW_ENV]} on edge and connector`,
          env,
        );
      } catch (err) {
        wan.push({
          label,
          available: false,
          rttMs: 2 * WAN_DELAY_MS,
          reason: `failed: ${err instanceof Error ? err.message : String(err)}`,
        });
      } finally {
        await other?.stop();
      }
    }
  }

  // --- page load in Chromium over the relay ---
  if (wanted('page-load'))
    extra.pageLoad = dev
      ? await pageLoadStep(dev, backendUrl, pagePath)
      : { error: `drawbridge dev is not running: ${devError}` };

  // --- WAN run ---
  if (wanted('wan')) await wanRun();

  await (dev as Dev | null)?.stop();

  // --- the --before build ---
  if (before) {
    const build = { before: true, sha: before.sha };
    const ids = ['drawbridge-passthrough', 'drawbridge-preauth'] as const;
    const theirs = await devAvailable(before.root);
    const other = theirs.ok && ids.some((id) => wanted(id)) ? await startDevFrom(before.root, 'dev-before') : null;
    if (other?.dev) {
      await drawbridgeRows(other.dev, build);
      await other.dev.stop();
    } else {
      for (const id of ids) unavailable(id, `not yet available: ${other?.error || theirs.reason}`, build);
    }
    notes.push(
      `Rows marked "before (${before.sha})" are \`drawbridge dev\` from a worktree of \`${before.ref}\` (node_modules linked to this tree's), measured in this run after this tree's rows; they skip the 256 MiB downloads to keep the run's time down.`,
    );
  }

  // --- the two builds' passthrough in alternation (bench/pairs.ts) ---
  if (before && wanted('pairs')) extra.pairs = await pairsStep(before.root);

  /** Both builds' `drawbridge dev` at once, each with the passthrough app, measured round by round. */
  async function pairsStep(beforeRoot: string): Promise<NonNullable<Extra['pairs']>> {
    log(`before and after, paired: ${PAIR_ROUNDS} round(s) in alternation`);
    const started: Dev[] = [];
    try {
      const side = async (root: string, name: string): Promise<PairSide> => {
        const { dev: d, error } = await startDevFrom(root, name);
        if (!d) throw new Error(error);
        started.push(d);
        const app = await publishApp(d, 'bench', backendUrl, 'passthrough');
        return { target: app, cpu: d.cpu, proxyRoles: ['edge', 'connector'] };
      };
      const after = await side(ROOT, 'dev-pair-after');
      const beforeSide = await side(beforeRoot, 'dev-pair-before');
      return await pairedRuns(
        { after, before: beforeSide },
        {
          rounds: PAIR_ROUNDS,
          wrkDurationS: s.wrkDurationS,
          rateDurationS: s.rateDurationS,
          threads: s.threads,
          path: s.smallPath,
          dir,
        },
        log,
      );
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log(`  paired runs failed: ${error.split('\n')[0]}`);
      return { error };
    } finally {
      for (const d of started) await d.stop();
    }
  }

  // --- a connector with 2 workers (drawbridge dev --connector-workers, from the connector-workers work) ---
  if (!available.ok) unavailable('drawbridge-workers', `not yet available: ${devError}`, after);
  else if (!available.help.includes('--connector-workers')) {
    unavailable(
      'drawbridge-workers',
      'not yet available: `drawbridge dev --help` has no --connector-workers (the connector-workers branch is not merged)',
      after,
    );
  } else if (wanted('drawbridge-workers')) {
    const started = await startDevFrom(ROOT, 'dev-workers', ['--connector-workers', '2']);
    const d = started.dev;
    if (!d) unavailable('drawbridge-workers', `failed: ${started.error}`, after);
    else {
      await measure(
        'drawbridge-workers',
        async () => {
          const app = await publishApp(d, 'bench', backendUrl, 'passthrough');
          return {
            p: {
              target: app,
              cpu: [...d.cpu, backendCpu],
              proxyRoles: ['edge', 'connector'],
              rssPids: d.edgePids,
              h2Target: app,
              // Throughput across processes is the point: no idle or download measures.
              skipIdle: true,
              skipDownloads: true,
              verify: async () => {
                const n = d.connectorPids().length;
                if (n < 3) throw new Error(`the connector has ${n} process(es), not a primary and 2 workers`);
              },
              dead: d.dead,
            },
          };
        },
        after,
      );
      await d.stop();
    }
  } else unavailable('drawbridge-workers', 'skipped (--only)', after);

  if (hostsMode()) {
    notes.push(
      `Drawbridge app hosts are in no resolver; to keep Host and SNI right, wrk got the address through ${hostsMode()}, curl through --resolve, the Node clients through a lookup function.`,
    );
  }
}

/** A row during which the hypervisor stole this share of the CPU time or more is flagged as unreliable. */
const STOLEN = 0.05;
const percent = (share: number): string => `${Math.round(share * 100)}%`;
/** Notes for steps that started while other work kept the machine's CPUs busy (their figures are unreliable). */
const busySteps: string[] = [];
function noteLoad(step: string): void {
  const load = loadavg()[0];
  if (load > cpus().length) busySteps.push(`${step} ${load.toFixed(1)}`);
}

/** Conditional access per request (bench/policy-eval.ts): in-process, needs none of the servers. */
async function policyEvalStep(): Promise<PolicyEvalFigures | { error: string }> {
  noteLoad('policy evaluation');
  log('policy evaluation: µs per request through edge/signin/conditional-access.ts onRequest');
  try {
    const figures = await benchPolicyEval(quick);
    process.stdout.write(`${policyEvalTable(figures)}\n`);
    return figures;
  } catch (err) {
    log(`  policy evaluation failed: ${err instanceof Error ? err.message : String(err)}`);
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Chromium loads a page of 60 assets from the nginx backend through an app published on the edge, the browser's
 * connections crossing the delay relay (WAN_DELAY_MS each way), HTTP/2 off then on (bench/page-load.ts).
 */
async function pageLoadStep(
  d: Dev,
  backendUrl: string,
  pagePath: string,
): Promise<PageLoadFigures | { error: string }> {
  noteLoad('page load');
  log(
    `page load: Chromium, 60 assets, through the delay relay (${WAN_DELAY_MS} ms each way), HTTP/1.1 and HTTP/2, ${PAGE_LOAD_RUNS} runs each`,
  );
  if (!existsSync(CHROMIUM)) return { error: `no Chromium at ${CHROMIUM} (apt-get install chromium)` };
  let relay: Awaited<ReturnType<typeof startRelay>> | null = null;
  try {
    const app = await publishApp(d, 'bench-page', backendUrl, 'passthrough');
    relay = await startRelay(port(app), { delayMs: WAN_DELAY_MS });
    const figures = await measurePageLoad(
      `${app.base}${pagePath}`,
      `127.0.0.1:${relay.port}`,
      `127.0.0.1:${port(app)}`,
      2 * WAN_DELAY_MS,
      PAGE_LOAD_RUNS,
    );
    process.stdout.write(`${pageLoadTable(figures)}\n`);
    return figures;
  } catch (err) {
    log(`  page load failed: ${err instanceof Error ? err.message : String(err)}`);
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await relay?.close();
  }
}

async function main(): Promise<void> {
  installCleanup();
  const paths: PathResult[] = [];
  const notes: string[] = [];
  const wan: WanRow[] = [];
  const extra: Extra = {};
  // `--only` naming in-process steps alone (link-translation, policy-eval) runs just those, without packages or servers.
  const inProcessOnly = only !== undefined && only.every((id) => (IN_PROCESS as readonly string[]).includes(id));
  extra.sha = await treeSha(ROOT);
  // A ref git does not know fails the run before anything is installed or started.
  if (args.before && !inProcessOnly) await shortSha(ROOT, args.before);
  if (!inProcessOnly) await servers(paths, wan, notes, extra);
  if (wanted('link-translation')) notes.push(await linkTranslationNote());
  if (wanted('policy-eval')) extra.policyEval = await policyEvalStep();
  const s = benchSettings('');
  if (profile)
    notes.push(
      'Profiled run: each Drawbridge row has one extra wrk run per process under the V8 profiler (see the profile tables).',
    );
  if (quick) notes.push('Quick run: one repetition of short runs; figures are noisy.');
  const busy = [
    ...paths.filter((p) => (p.loadAverage ?? 0) > cpus().length).map((p) => `${p.label} ${p.loadAverage?.toFixed(1)}`),
    ...busySteps,
  ];
  if (busy.length) {
    notes.push(
      `The machine was busy with other work (1-minute load average above ${cpus().length} before: ${busy.join(', ')}): those figures are unreliable.`,
    );
  }
  const stolen = paths.filter((p) => (p.stealShare ?? 0) >= STOLEN);
  if (stolen.length) {
    notes.push(
      `The hypervisor gave ${percent(STOLEN)} or more of this virtual machine's CPU time to other guests during: ${stolen.map((p) => `${p.label} ${percent(p.stealShare ?? 0)}`).join(', ')}. Those rows ran on a slower machine than the others: their figures, and ratios against rows measured at another time, are unreliable (the paired before-and-after rounds share the drift).`,
    );
  }

  const results: Results = {
    date: new Date().toISOString(),
    quick,
    durationS: (performance.now() - t0) / 1000,
    machine: await versions(),
    settings: {
      wrkDurationS: s.wrkDurationS,
      repetitions: s.repetitions,
      connections: s.connections,
      threads: s.threads,
      rates: s.rates,
      rateDurationS: s.rateDurationS,
      idleConnections: s.idleConnections,
      smallFileBytes: SMALL_BYTES,
      largeFileBytes: LARGE_BYTES,
      wanDelayMsEachWay: WAN_DELAY_MS,
      hostResolution: `${hostsMode() ?? 'wrk needed no name mapping'}; curl --resolve; Node clients: lookup()`,
    },
    paths,
    wan,
    targets: [],
    ...extra,
    notes,
  };
  results.targets = evaluateTargets(results);

  mkdirSync(RESULTS, { recursive: true });
  const stamp = results.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  // Only a full run of every row is kept as history and becomes "latest" (what the README shows); smoke and partial
  // runs write quick.* (not committed).
  const name = quick || only ? 'quick' : 'latest';
  const jsonPath = join(RESULTS, name === 'quick' ? 'quick.json' : `${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  const md = markdown(results);
  writeFileSync(join(RESULTS, `${name}.md`), md);
  writeFileSync(join(RESULTS, `${name}.svg`), svgChart(results));
  process.stdout.write(`\n${md}\n`);
  log(`wrote ${jsonPath}, bench/results/${name}.md, bench/results/${name}.svg`);
  if (!quick && !only) {
    if (updateReadme(join(RESULTS, '..', '..', 'README.md'), md)) log('updated the performance tables in README.md');
  }
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  await stopAll();
}
process.exit(failed ? 1 : 0);
