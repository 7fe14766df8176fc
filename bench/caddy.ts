/**
 * The Caddy chain: Drawbridge's shape built from a Go peer. An "edge" Caddy terminates the client's TLS and
 * reverse-proxies over HTTP/2 with TLS to a "connector" Caddy, which proxies to the bench's nginx backend (and `/ws`
 * to the WebSocket backend). Debian's `caddy`, `GOMAXPROCS=1` each (Drawbridge's edge and connector are one event
 * loop each), loopback only.
 *
 * Each Caddy runs from a JSON config in the bench's temp dir: admin endpoint off, no automatic HTTPS (the bench's
 * self-signed certificate from tls.ts, loaded from files), HTTP/3 off, data and config dirs (HOME, XDG_*) inside the
 * temp dir so nothing of the system's Caddy is touched. The connector Caddy answers `HOP_PATH` with the protocol its
 * request arrived in, so the bench can check that the middle hop really is HTTP/2 before measuring.
 *
 * Go's transport sends upgrade requests over HTTP/1.1 (it has no RFC 8441 extended CONNECT), so a WebSocket crosses
 * the middle hop on a TLS connection of its own, where Drawbridge carries it as a stream of the tunnel.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'undici';
import type { TlsFiles } from './nginx.ts';
import { start, waitForPort, type Started } from './processes.ts';

/** Answered by the connector Caddy itself with the request's protocol (e.g. `HTTP/2.0`). */
export const HOP_PATH = '/.bench/hop-proto';

export interface CaddyChain {
  edge: Started;
  connector: Started;
  /** The edge Caddy's TLS port (clients use https://localhost:<port>). */
  port: number;
  /** The protocol the connector Caddy saw for a request through the edge Caddy. */
  hopProtocol(): Promise<string>;
  stop(): Promise<void>;
}

interface Ports {
  edge: number;
  connector: number;
}

/** One upstream, proxied with a keep-alive pool as large as nginx one-hop's (512). */
function proxyTo(dial: string, tls?: { ca: string; serverName: string }): object {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial }],
    transport: {
      protocol: 'http',
      keep_alive: { max_idle_conns_per_host: 512 },
      ...(tls
        ? { tls: { root_ca_pem_files: [tls.ca], server_name: tls.serverName }, versions: ['1.1', '2'] }
        : { versions: ['1.1'] }),
    },
  };
}

/** A Caddy JSON config: one TLS server on 127.0.0.1:`port` with the bench's certificate and the given routes. */
export function caddyConfig(dir: string, name: string, port: number, tls: TlsFiles, routes: object[]): object {
  return {
    admin: { disabled: true, config: { persist: false } },
    logging: { logs: { default: { level: 'ERROR' } } },
    storage: { module: 'file_system', root: join(dir, name, 'data') },
    apps: {
      tls: { certificates: { load_files: [{ certificate: tls.cert, key: tls.key }] } },
      http: {
        servers: {
          [name]: {
            listen: [`127.0.0.1:${port}`],
            protocols: ['h1', 'h2'],
            automatic_https: { disable: true },
            tls_connection_policies: [{ default_sni: 'localhost' }],
            routes,
          },
        },
      },
    },
  };
}

async function launch(dir: string, name: string, config: object, port: number): Promise<Started> {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const path = join(home, 'caddy.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  const proc = start(name, 'caddy', ['run', '--config', path], {
    logFile: join(dir, `${name}.log`),
    env: {
      ...process.env,
      GOMAXPROCS: '1',
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
    },
  });
  await waitForPort(port, proc);
  return proc;
}

export async function startCaddyChain(
  dir: string,
  backendPort: number,
  wsPort: number,
  ports: Ports,
  tls: TlsFiles,
): Promise<CaddyChain> {
  const connector = await launch(
    dir,
    'caddy-connector',
    caddyConfig(dir, 'caddy-connector', ports.connector, tls, [
      { match: [{ path: [HOP_PATH] }], handle: [{ handler: 'static_response', body: '{http.request.proto}' }] },
      { match: [{ path: ['/ws', '/ws/*'] }], handle: [proxyTo(`127.0.0.1:${wsPort}`)] },
      { handle: [proxyTo(`127.0.0.1:${backendPort}`)] },
    ]),
    ports.connector,
  );
  let edge: Started;
  try {
    edge = await launch(
      dir,
      'caddy-edge',
      caddyConfig(dir, 'caddy-edge', ports.edge, tls, [
        { handle: [proxyTo(`127.0.0.1:${ports.connector}`, { ca: tls.cert, serverName: 'localhost' })] },
      ]),
      ports.edge,
    );
  } catch (err) {
    await connector.stop();
    throw err;
  }
  return {
    edge,
    connector,
    port: ports.edge,
    async hopProtocol() {
      const client = new Client(`https://localhost:${ports.edge}`, { connect: { rejectUnauthorized: false } });
      try {
        const res = await client.request({ method: 'GET', path: HOP_PATH });
        const body = (await res.body.text()).trim();
        if (res.statusCode !== 200) throw new Error(`GET ${HOP_PATH} through the edge Caddy: status ${res.statusCode}`);
        return body;
      } finally {
        await client.close().catch(() => {});
      }
    },
    async stop() {
      await edge.stop();
      await connector.stop();
    },
  };
}
