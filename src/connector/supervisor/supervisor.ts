import tls from 'node:tls';
import http2, { type Http2Server, type Http2Session, type ServerHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import os from 'node:os';
import { Backoff } from '../../lib/backoff.ts';
import type { Logger } from '../../lib/log.ts';
import { TUNNEL_ALPN, CONTROL_PREFIX, CONTROL_CONFIG_PATH, CONTROL_EVENTS_PATH, CONTROL_HELLO_PATH, CONTROL_RENEW_CSR_PATH, CONTROL_RENEW_INSTALL_PATH, CONTROL_STATUS_PATH, APP_HEADER, type ConnectorConfig, type ConnectorEvent, type ConnectorHello, type ConnectorStatusReport, type RenewalInstall } from '../../tunnel/protocol.ts';
import { TUNNEL_SESSION_OPTIONS, widenConnectionWindow } from '../../tunnel/flow-control.ts';
import { openEvents, readControlBody, respondJson } from '../../tunnel/control.ts';
import type { AppConfigTable } from '../forward/app-config.ts';
import { parseConnectAddress } from '../enroll/enroll-client.ts';
import { BackendProbe } from './backend-probe.ts';
import type { CertificateRenewal } from '../enroll/renewal.ts';

/** What the supervisor needs to dial: the enrolled identity and where the edge is. */
export interface TunnelCredentials {
  connectorId: string;
  edgeUrl: string;
  tunnelHost: string;
  /** Address to dial instead of resolving the edge host (SNI stays the tunnel host). */
  connectAddress?: string;
  keyPem: string;
  certPem: string;
  /** The edge's tunnel CA: the only CA trusted for the tunnel. */
  caPem: string;
}

export interface SupervisorOptions {
  credentials: TunnelCredentials;
  tunnels: number;
  version: string;
  apps: AppConfigTable;
  forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
  logger: Logger;
  /** A tunnel that stayed up this long resets the backoff. */
  stableAfterMs?: number;
  /** Certificate renewal driven by the edge; without it the connector answers 404 and keeps its certificate. */
  renewal?: CertificateRenewal;
}

interface Slot {
  index: number;
  socket: tls.TLSSocket | null;
  session: ServerHttp2Session | null;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
}

/**
 * Keeps N outbound tunnels to the edge: one loop per slot that dials, serves, and on loss redials with jittered
 * exponential backoff. Over each TLS socket this process is the HTTP/2 *server*: the edge opens a stream per user
 * request. Drain asks the edge to stop sending, lets in-flight streams finish, then closes.
 */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #server: Http2Server;
  readonly #slots: Slot[] = [];
  #draining = false;
  #refusal: string | null = null;
  #inFlight = 0;
  /** Each tunnel's event stream to the edge (see CONTROL_EVENTS_PATH), while it is open. */
  readonly #events = new Map<Http2Session, (event: ConnectorEvent) => boolean>();
  readonly #probe: BackendProbe;
  readonly #connectTarget: { host: string; port: number };

  constructor(options: SupervisorOptions) {
    this.#options = options;
    const url = new URL(options.credentials.edgeUrl);
    const port = Number(url.port || 443);
    this.#connectTarget = options.credentials.connectAddress
      ? parseConnectAddress(options.credentials.connectAddress, port)
      : { host: url.hostname, port };
    this.#probe = new BackendProbe(options.apps);
    this.#server = http2.createServer({ ...TUNNEL_SESSION_OPTIONS });
    this.#server.on('session', (session) => widenConnectionWindow(session));
    this.#server.on('stream', (stream, headers) => this.#onStream(stream, headers));
    for (let i = 0; i < options.tunnels; i++) {
      this.#slots.push({ index: i, socket: null, session: null, backoff: new Backoff({ baseMs: 500, maxMs: 30_000 }), timer: null });
    }
  }

  start(): void {
    for (const slot of this.#slots) this.#dial(slot);
    this.#probe.start();
  }

  /** Streams open across every tunnel (requests, WebSockets, control messages). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Connected tunnels right now. */
  get connected(): number {
    return this.#slots.filter((s) => s.session !== null && !s.session.closed).length;
  }

  /**
   * Stops taking new work, waits for in-flight streams up to `deadlineMs`, then closes every tunnel. The edge is told
   * over each tunnel's event stream and closes the tunnel itself once its streams are done; until then this side keeps
   * serving, so a request the edge sent before it read the event is still answered (nothing is refused in the race).
   * A tunnel without an event stream (an older edge) gets a GOAWAY instead.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.#draining = true;
    this.#probe.stop();
    for (const slot of this.#slots) if (slot.timer) clearTimeout(slot.timer);
    const sessions = this.#slots.map((s) => s.session).filter((s): s is ServerHttp2Session => s !== null && !s.closed);
    const started = Date.now();
    this.#options.logger.info({ tunnels: sessions.length, deadlineMs }, 'draining: the edge is told to stop sending; finishing in-flight streams');
    await Promise.all(sessions.map((session) => new Promise<void>((resolve) => {
      if (session.closed || session.destroyed) return resolve();
      const timer = setTimeout(() => {
        this.#options.logger.warn({ streams: this.#inFlight }, 'drain deadline reached: closing the tunnel with streams still open');
        session.destroy();
        resolve();
      }, deadlineMs);
      session.once('close', () => { clearTimeout(timer); resolve(); });
      if (!this.#events.get(session)?.({ type: 'draining', deadlineMs })) {
        try { session.close(); } catch { /* already closing */ }
      }
    })));
    // A closed session may still be flushing its last bytes (the end of a response) through the socket: let the socket
    // finish rather than destroy it, which would cut that response short at the edge.
    await Promise.all(this.#slots.map((slot) => new Promise<void>((resolve) => {
      const socket = slot.socket;
      if (!socket || socket.destroyed) return resolve();
      const timer = setTimeout(() => { socket.destroy(); resolve(); }, 2_000);
      socket.once('close', () => { clearTimeout(timer); resolve(); });
      socket.end();
    })));
    this.#server.close();
    this.#options.logger.info({ ms: Date.now() - started }, 'drained');
  }

  #dial(slot: Slot): void {
    if (this.#draining) return;
    const { credentials, logger } = this.#options;
    const started = Date.now();
    const socket = tls.connect({
      host: this.#connectTarget.host,
      port: this.#connectTarget.port,
      servername: credentials.tunnelHost,
      ALPNProtocols: [TUNNEL_ALPN],
      key: credentials.keyPem,
      cert: credentials.certPem,
      ca: credentials.caPem,
      minVersion: 'TLSv1.3',
    });
    socket.setNoDelay(true);
    slot.socket = socket;
    socket.setKeepAlive(true, 15_000);
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== TUNNEL_ALPN) {
        logger.error({ tunnel: slot.index, alpn: socket.alpnProtocol }, 'the edge did not accept the tunnel protocol: is edgeUrl the Drawbridge edge?');
        socket.destroy();
        return;
      }
      this.#server.once('session', (session) => {
        slot.session = session;
        session.on('goaway', (_code, _last, data?: Buffer) => {
          const reason = data && data.length > 0 ? data.toString('utf8') : null;
          if (reason?.startsWith('DB-')) {
            this.#refusal = reason;
            logger.error({ tunnel: slot.index, reason }, 'the edge refused this connector');
          }
        });
        session.on('error', () => {});
      });
      this.#server.emit('connection', socket);
      logger.info({ tunnel: slot.index, edge: `${this.#connectTarget.host}:${this.#connectTarget.port}` }, 'tunnel connected');
    });
    socket.on('error', (err) => {
      logger.warn({ tunnel: slot.index, err: err.message }, 'tunnel connection failed');
    });
    socket.once('close', () => {
      slot.session = null;
      slot.socket = null;
      if (this.#draining) return;
      if (Date.now() - started > (this.#options.stableAfterMs ?? 10_000)) slot.backoff.reset();
      // Refused by the edge (disabled, re-registered): retry slowly; an admin may re-enable it.
      const delay = this.#refusal ? Math.max(15_000, slot.backoff.next()) : slot.backoff.next();
      this.#refusal = null;
      logger.info({ tunnel: slot.index, retryInMs: delay }, 'tunnel lost, redialling');
      slot.timer = setTimeout(() => this.#dial(slot), delay);
    });
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = String(headers[':path'] ?? '');
    const control = headers[APP_HEADER] === undefined && path.startsWith(CONTROL_PREFIX);
    if (control && path === CONTROL_EVENTS_PATH) return this.#onEvents(stream);
    this.#inFlight++;
    stream.once('close', () => { this.#inFlight--; });
    if (control) {
      this.#onControl(stream, path).catch((err: Error) => {
        this.#options.logger.warn({ err: err.message, path }, 'control request failed');
        respondJson(stream, 400, { error: err.message });
      });
      return;
    }
    this.#options.forward(stream, headers);
  }

  /**
   * Retires the tunnels one at a time (each over its event stream, so the edge closes it after its streams finish)
   * and waits for each slot to come back before the next: the others carry the traffic meanwhile.
   */
  async #redialAll(reason: string): Promise<void> {
    for (const slot of this.#slots) {
      const session = slot.session;
      if (this.#draining || !session || session.closed) continue;
      if (!this.#events.get(session)?.({ type: 'draining', deadlineMs: 0, reason })) continue;
      const deadline = Date.now() + 30_000;
      while (!this.#draining && Date.now() < deadline && (slot.session === session || slot.session === null)) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The edge's event stream for this tunnel: kept open (not counted as work in flight) until drain or tunnel loss. */
  #onEvents(stream: ServerHttp2Stream): void {
    const session = stream.session;
    if (!session) return;
    const send = openEvents(stream);
    this.#events.set(session, send);
    stream.once('close', () => { if (this.#events.get(session) === send) this.#events.delete(session); });
    stream.on('error', () => {});
    if (this.#draining) send({ type: 'draining', deadlineMs: 0 });
  }

  async #onControl(stream: ServerHttp2Stream, path: string): Promise<void> {
    const { apps, credentials, version, logger } = this.#options;
    const body = await readControlBody(stream);
    if (path === CONTROL_HELLO_PATH) {
      const hello: ConnectorHello = { connectorId: credentials.connectorId, version, hostname: os.hostname(), configVersion: apps.version };
      respondJson(stream, 200, hello);
    } else if (path === CONTROL_CONFIG_PATH) {
      const config = body as ConnectorConfig;
      if (typeof config.version !== 'number' || !Array.isArray(config.apps)) throw new Error('malformed config');
      const before = apps.version;
      const held = apps.apply(config);
      if (held !== before) {
        logger.info({ configVersion: held, apps: config.apps.map((a) => a.name) }, 'configuration applied');
        void this.#probe.probeAll();
      }
      respondJson(stream, 200, { configVersion: held });
    } else if (path === CONTROL_RENEW_CSR_PATH && this.#options.renewal) {
      respondJson(stream, 200, { csr: await this.#options.renewal.csr() });
    } else if (path === CONTROL_RENEW_INSTALL_PATH && this.#options.renewal) {
      const installed = await this.#options.renewal.install(String((body as RenewalInstall).certificate ?? ''));
      // New dials present the new certificate; the tunnels up now are redialled one by one to move onto it.
      credentials.keyPem = installed.keyPem;
      credentials.certPem = installed.certPem;
      logger.info({ serial: installed.serial, notAfter: installed.notAfter }, 'certificate renewed');
      respondJson(stream, 200, { serial: installed.serial, notAfter: installed.notAfter });
      void this.#redialAll('certificate renewed');
    } else if (path === CONTROL_STATUS_PATH) {
      const report: ConnectorStatusReport = { connectorId: credentials.connectorId, draining: this.#draining, backends: this.#probe.report() };
      respondJson(stream, 200, report);
    } else {
      respondJson(stream, 404, { error: 'unknown control path' });
    }
  }
}


