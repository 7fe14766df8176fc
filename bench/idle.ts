/**
 * Memory per idle connection: open N keep-alive connections (each sends one request and reads the response, then
 * stays open and idle), or N WebSockets, and read the server processes' RSS before and after.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { sumRss, type ProcessSet } from './cpu.ts';
import { collectAll } from './inspector.ts';
import { lookupTo } from './lookup.ts';
import { hostname, isTls, port, type Target } from './target.ts';

export interface IdleResult {
  kind: 'tls' | 'plain' | 'websocket';
  opened: number;
  /** Still open when the RSS was read (servers that close idle connections early show here). */
  stillOpen: number;
  failed: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** A full GC ran in the server processes before each RSS reading (Node servers; see gc.ts). */
  gcForced: boolean;
  /** (after − before) per 1,000 connections, MiB. */
  mibPer1000: number;
  /** (after − before) per connection, KiB. */
  kibEach: number;
  /** The same, per process role (edge, connector), when the caller named the roles. */
  kibEachByRole?: Record<string, number>;
}

/** Opens one keep-alive connection and completes one request on it. */
function openOne(t: Target, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const host = hostname(t);
    const options = { host: t.address, port: port(t) };
    const socket: Socket = isTls(t)
      ? tlsConnect({ ...options, servername: host === t.address ? undefined : host, rejectUnauthorized: false })
      : netConnect(options);
    const headers = Object.entries(t.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const request = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port(t)}\r\n${headers}\r\n`;
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout'));
    }, 15_000);
    socket.once(isTls(t) ? 'secureConnect' : 'connect', () => socket.write(request));
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (!/^HTTP\/1\.1 [23]/.test(head)) {
        socket.destroy();
        reject(new Error(head.split('\r\n')[0]));
        return;
      }
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function openWebSocket(t: Target, path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const url = t.base.replace(/^http/, 'ws') + path;
    const ws = new WebSocket(url, {
      headers: t.headers,
      rejectUnauthorized: false,
      lookup: lookupTo(t.address),
      handshakeTimeout: 15_000,
      perMessageDeflate: false,
    });
    ws.once('open', () => {
      // One round trip so the whole path (edge, tunnel stream, connector, backend) is established.
      ws.once('message', () => resolve(ws));
      ws.send('ping');
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

async function openMany<T>(
  n: number,
  concurrency: number,
  open: () => Promise<T>,
): Promise<{ items: T[]; failed: number; firstError?: string }> {
  const items: T[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        try {
          items.push(await open());
        } catch (err) {
          failed++;
          firstError ??= String(err);
        }
      }
    }),
  );
  return { items, failed, firstError };
}

/** Closes politely (FIN, TLS close_notify) so the server sees a normal close, not a reset; destroys stragglers. */
async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            s.destroy();
            resolve();
          }, 3000);
          s.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          s.on('error', () => {});
          s.end();
        }),
    ),
  );
}

function closeWebSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 3000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', () => {});
    ws.close(1000);
  });
}

async function settle(): Promise<void> {
  await sleep(2000);
}

/** Settles, runs a full GC in Node servers if asked, and reads the RSS (in all, and of each role if given). */
async function readRss(
  pids: number[],
  gc: boolean,
  roles: ProcessSet[] = [],
): Promise<{ rss: number; gcDone: boolean; byRole: Record<string, number> }> {
  await settle();
  const gcDone = gc ? await collectAll(pids) : false;
  return { rss: sumRss(pids), gcDone, byRole: Object.fromEntries(roles.map((r) => [r.role, sumRss(r.pids())])) };
}

/** (after − before) / n per role, KiB; undefined when no roles were named. */
function byRole(
  before: Record<string, number>,
  after: Record<string, number>,
  n: number,
): Record<string, number> | undefined {
  const roles = Object.keys(after);
  if (roles.length === 0) return undefined;
  return Object.fromEntries(roles.map((r) => [r, (after[r] - (before[r] ?? 0)) / n / 1024]));
}

/**
 * Idle HTTP/1.1 keep-alive connections against `t` (TLS if the URL is https). `serverPids` gives the processes
 * whose RSS counts (e.g. the edge; nginx master + worker).
 */
export async function idleConnections(
  t: Target,
  path: string,
  n: number,
  serverPids: () => number[],
  gc = false,
): Promise<IdleResult> {
  // Warm the server first (a batch opened and closed), so lazy start-up allocations (TLS contexts, JIT code, pools)
  // do not count as per-connection cost.
  const warm = await openMany(Math.min(100, n), 32, () => openOne(t, path));
  await closeAll(warm.items);
  const before = await readRss(serverPids(), gc);
  const { items, failed, firstError } = await openMany(n, 32, () => openOne(t, path));
  const after = await readRss(serverPids(), gc);
  const stillOpen = items.filter((s) => !s.destroyed && s.readyState === 'open').length;
  await closeAll(items);
  if (items.length === 0) throw new Error(`no connection opened: ${firstError}`);
  return result(
    isTls(t) ? 'tls' : 'plain',
    items.length,
    stillOpen,
    failed,
    before.rss,
    after.rss,
    before.gcDone && after.gcDone,
  );
}

/**
 * Idle WebSockets (one echo round trip each) against `t` + `path`; `roles` (e.g. edge and connector) also get their
 * own share of the figure.
 */
export async function idleWebSockets(
  t: Target,
  path: string,
  n: number,
  serverPids: () => number[],
  gc = false,
  roles: ProcessSet[] = [],
): Promise<IdleResult> {
  const warm = await openMany(Math.min(100, n), 32, () => openWebSocket(t, path));
  await Promise.all(warm.items.map((ws) => closeWebSocket(ws)));
  if (warm.items.length === 0) throw new Error(`no WebSocket opened: ${warm.firstError}`);
  const before = await readRss(serverPids(), gc, roles);
  const { items, failed, firstError } = await openMany(n, 32, () => openWebSocket(t, path));
  const after = await readRss(serverPids(), gc, roles);
  const stillOpen = items.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  await Promise.all(items.map((ws) => closeWebSocket(ws)));
  if (items.length === 0) throw new Error(`no WebSocket opened: ${firstError}`);
  return {
    ...result('websocket', items.length, stillOpen, failed, before.rss, after.rss, before.gcDone && after.gcDone),
    kibEachByRole: byRole(before.byRole, after.byRole, items.length),
  };
}

function result(
  kind: IdleResult['kind'],
  opened: number,
  stillOpen: number,
  failed: number,
  before: number,
  after: number,
  gcForced: boolean,
): IdleResult {
  const delta = after - before;
  return {
    kind,
    opened,
    stillOpen,
    failed,
    gcForced,
    rssBeforeBytes: before,
    rssAfterBytes: after,
    mibPer1000: ((delta / opened) * 1000) / 1048576,
    kibEach: delta / opened / 1024,
  };
}
