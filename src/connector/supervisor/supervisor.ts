import tls from 'node:tls';
import http2, {
  type Http2Server,
  type Http2Session,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import os from 'node:os';
import { Backoff } from '../../lib/backoff.ts';
import type { Logger } from '../../lib/log.ts';
import {
  TUNNEL_ALPN,
  CONTROL_PREFIX,
  CONTROL_CONFIG_PATH,
  CONTROL_EDGE_EVENT_PATH,
  CONTROL_EVENTS_PATH,
  CONTROL_HELLO_PATH,
  CONTROL_RENEW_CSR_PATH,
  CONTROL_RENEW_INSTALL_PATH,
  CONTROL_STATUS_PATH,
  APP_HEADER,
  type ConnectorConfig,
  type ConnectorEvent,
  type ConnectorHello,
  type ConnectorStatusReport,
  type EdgeEvent,
  type EdgeEventAck,
  type RenewalInstall,
} from '../../tunnel/protocol.ts';
import { TUNNEL_SESSION_OPTIONS, widenConnectionWindow } from '../../tunnel/flow-control.ts';
import { openEvents, readControlBody, respondJson } from '../../tunnel/control.ts';
import type { AppConfigTable } from '../forward/app-config.ts';
import { parseConnectAddress } from '../enroll/enroll-client.ts';
import { BackendProbe } from './backend-probe.ts';
import { testConnection } from './test-connection.ts';
import type { Renewal } from '../enroll/renewal.ts';
import {
  AvoidList,
  countByNode,
  dialableNodes,
  moveTarget,
  pickNode,
  planRebalance,
  type EdgeNodeAddress,
} from './spread.ts';
import { releaseWhenClosed } from '../../lib/release-closed-stream.ts';

/** A node whose tunnel dropped or could not be dialled is passed over this long (it leaves the node list sooner if dead). */
export const FAILED_NODE_AVOID_MS = 10_000;
/** A draining node is passed over at least this long (it leaves the node list as it starts draining). */
const DRAINING_NODE_AVOID_MS = 60_000;
/** A replacement tunnel that is not up (its first configuration push) by then is given up and the move retried. */
const MOVE_TIMEOUT_MS = 15_000;
/** How often the spread is checked besides on every change (avoidances expire, a failed move is retried). */
const RECONCILE_MS = 5_000;

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
  renewal?: Renewal;
  /** This process's index among `connector run --workers N` (told to the edge in the hello); absent: the only one. */
  worker?: number;
  /**
   * Dial only the configured edge address, never the announced nodes (a network that reaches one node, or only a load
   * balancer in front of them: every node still serves every app through the relay).
   */
  pinned?: boolean;
  /** An edge asked for a restart (rolling upgrade); absent: the connector refuses, nothing would start it again. */
  onRestartRequested?(reason: string): void;
}

/** One TLS connection to an edge node and the HTTP/2 session served over it. */
interface Conn {
  socket: tls.TLSSocket;
  session: ServerHttp2Session | null;
  /** The node dialled; null: the configured edge address. */
  target: EdgeNodeAddress | null;
  /** The node serving it, as that node announced itself (else the node dialled). */
  nodeId: string | null;
  /** The edge pushed its first configuration: the tunnel is registered there and takes streams. */
  up: boolean;
  /** Replaced by another tunnel (or asked to close): its close needs no redial and blames no node. */
  leaving: boolean;
  onUp: (() => void) | null;
}

interface Slot {
  index: number;
  /** The tunnel this slot counts on. */
  conn: Conn | null;
  /** A replacement being dialled on another node; it takes over as `conn` once up. */
  next: Conn | null;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
}

/**
 * Keeps N outbound tunnels to the edge: one loop per slot that dials, serves, and on loss redials with jittered
 * exponential backoff. Over each TLS socket this process is the HTTP/2 *server*: the edge opens a stream per user
 * request. Drain asks the edge to stop sending, lets in-flight streams finish, then closes.
 *
 * A clustered edge announces its nodes on every tunnel (EdgeEvent `nodes`): the slots are then spread over them
 * (spread.ts), a dropped tunnel is redialled on another node, and a node that drains (`edge-draining`) has each of
 * its tunnels replaced on another node before the tunnel is drained (make before break). Without a list of two or
 * more nodes every slot dials the configured edge address, as before.
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
  /** Every connection open now: the slots' own, their replacements, and retired ones finishing their streams. */
  readonly #conns = new Set<Conn>();
  readonly #connOf = new Map<Http2Session, Conn>();
  /** The edge nodes last announced (empty: dial the configured address). */
  #nodes: readonly EdgeNodeAddress[] = [];
  readonly #avoid = new AvoidList();
  /** Draining nodes (their tunnels are moved away), by id, until when; kept even once they leave the node list. */
  readonly #drainingNodes = new Map<string, number>();
  #turn = Math.floor(Math.random() * 1_000);
  #reconcileTimer: NodeJS.Timeout | null = null;

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
      this.#slots.push({
        index: i,
        conn: null,
        next: null,
        backoff: new Backoff({ baseMs: 500, maxMs: 30_000 }),
        timer: null,
      });
    }
  }

  start(): void {
    for (const slot of this.#slots) this.#dial(slot);
    this.#probe.start();
    this.#reconcileTimer = setInterval(() => this.#reconcile(), RECONCILE_MS);
    this.#reconcileTimer.unref();
  }

  /** Which node each slot's tunnel is on (null: not connected, or the node is not known): for tests and status. */
  get placement(): (string | null)[] {
    return this.#slots.map((s) => (s.conn?.session && !s.conn.session.closed ? s.conn.nodeId : null));
  }

  /** Streams open across every tunnel (requests, WebSockets, control messages). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Connected tunnels right now. */
  get connected(): number {
    return this.#slots.filter((s) => s.conn?.session != null && !s.conn.session.closed).length;
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
    if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
    const conns = [...this.#conns];
    // A replacement not up yet carries nothing: let it go.
    for (const conn of conns) if (!conn.up && conn.session === null) conn.socket.destroy();
    const sessions = conns.map((c) => c.session).filter((s): s is ServerHttp2Session => s !== null && !s.closed);
    const started = Date.now();
    this.#options.logger.info(
      { tunnels: sessions.length, deadlineMs },
      'draining: the edge is told to stop sending; finishing in-flight streams',
    );
    await Promise.all(
      sessions.map(
        (session) =>
          new Promise<void>((resolve) => {
            if (session.closed || session.destroyed) return resolve();
            const timer = setTimeout(() => {
              this.#options.logger.warn(
                { streams: this.#inFlight },
                'drain deadline reached: closing the tunnel with streams still open',
              );
              session.destroy();
              resolve();
            }, deadlineMs);
            session.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            if (!this.#events.get(session)?.({ type: 'draining', deadlineMs })) {
              try {
                session.close();
              } catch {
                /* already closing */
              }
            }
          }),
      ),
    );
    // A closed session may still be flushing its last bytes (the end of a response) through the socket: let the socket
    // finish rather than destroy it, which would cut that response short at the edge.
    await Promise.all(
      conns.map(
        (conn) =>
          new Promise<void>((resolve) => {
            const socket = conn.socket;
            if (socket.destroyed) return resolve();
            const timer = setTimeout(() => {
              socket.destroy();
              resolve();
            }, 2_000);
            socket.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            socket.end();
          }),
      ),
    );
    this.#server.close();
    this.#options.logger.info({ ms: Date.now() - started }, 'drained');
  }

  /**
   * A renewed key and certificate (installed by this process, or by another worker's renewal): new dials present
   * them, and the tunnels up now are redialled one by one to move onto them.
   */
  useCertificate(keyPem: string, certPem: string): void {
    const { credentials } = this.#options;
    if (credentials.certPem === certPem) return;
    credentials.keyPem = keyPem;
    credentials.certPem = certPem;
    void this.#redialAll('certificate renewed');
  }

  /** Dials the slot's tunnel: to the node the spread picks, or the configured address when none is known. */
  #dial(slot: Slot): void {
    slot.timer = null;
    if (this.#draining) return;
    const target = pickNode(this.#nodes, this.#load(), this.#avoid.current(), this.#turn++);
    this.#adopt(slot, this.#connect(slot, target));
  }

  /** Opens one TLS connection and serves HTTP/2 over it; `target` null dials the configured edge address. */
  #connect(slot: Slot, target: EdgeNodeAddress | null): Conn {
    const { credentials, logger } = this.#options;
    const to = target ? parseConnectAddress(target.address, this.#connectTarget.port) : this.#connectTarget;
    const socket = tls.connect({
      host: to.host,
      port: to.port,
      servername: credentials.tunnelHost,
      ALPNProtocols: [TUNNEL_ALPN],
      key: credentials.keyPem,
      cert: credentials.certPem,
      ca: credentials.caPem,
      minVersion: 'TLSv1.3',
    });
    const conn: Conn = {
      socket,
      session: null,
      target,
      nodeId: target?.id ?? null,
      up: false,
      leaving: false,
      onUp: null,
    };
    this.#conns.add(conn);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== TUNNEL_ALPN) {
        logger.error(
          { tunnel: slot.index, alpn: socket.alpnProtocol },
          'the edge did not accept the tunnel protocol: is edgeUrl the Drawbridge edge?',
        );
        socket.destroy();
        return;
      }
      this.#server.once('session', (session) => {
        conn.session = session;
        this.#connOf.set(session, conn);
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
      logger.info({ tunnel: slot.index, edge: `${to.host}:${to.port}`, node: target?.id }, 'tunnel connected');
    });
    socket.on('error', (err) => {
      logger.warn({ tunnel: slot.index, edge: `${to.host}:${to.port}`, err: err.message }, 'tunnel connection failed');
    });
    socket.once('close', () => {
      this.#conns.delete(conn);
      if (conn.session) this.#connOf.delete(conn.session);
      conn.session = null;
      conn.onUp = null;
    });
    return conn;
  }

  /** Our tunnels per node, the ones being dialled included and the retiring ones not. */
  #load(except?: Conn): Map<string, number> {
    const ids: (string | null)[] = [];
    for (const slot of this.#slots) {
      for (const conn of [slot.conn, slot.next]) if (conn && conn !== except && !conn.leaving) ids.push(conn.nodeId);
    }
    return countByNode(ids);
  }

  /**
   * Replaces the slot's tunnel with one on another node, then drains the old one (the edge closes it once its streams
   * are done). False when there is no other node to go to, or a move is already under way.
   */
  #move(slot: Slot, why: string): boolean {
    const old = slot.conn;
    if (this.#draining || !old || !old.up || old.leaving) return false;
    if (slot.next) return true;
    const target = moveTarget(
      this.#nodes,
      this.#load(old),
      this.#avoid.current(),
      this.#drainingNodes.keys(),
      old.nodeId,
      this.#turn++,
    );
    if (!target) return false;
    const { logger } = this.#options;
    logger.info({ tunnel: slot.index, from: old.nodeId, to: target.id, why }, 'moving tunnel to another edge node');
    const next = this.#connect(slot, target);
    slot.next = next;
    const timer = setTimeout(() => next.socket.destroy(), MOVE_TIMEOUT_MS);
    next.onUp = () => {
      clearTimeout(timer);
      slot.next = null;
      if (slot.conn !== old || old.leaving || !old.session || old.session.closed) {
        // The old tunnel went meanwhile (its close dialled anew): keep this one only if the slot has none.
        if (slot.conn === null) {
          if (slot.timer) clearTimeout(slot.timer);
          slot.timer = null;
          this.#adopt(slot, next);
        } else this.#retire(next, 'not needed any more');
        return;
      }
      this.#adopt(slot, next);
      this.#retire(old, `moved to ${target.id}`);
      logger.info({ tunnel: slot.index, from: old.nodeId, to: target.id }, 'tunnel moved');
      this.#reconcile();
    };
    next.socket.once('close', () => {
      clearTimeout(timer);
      if (slot.next !== next) return;
      slot.next = null;
      this.#avoid.avoid(target.id, FAILED_NODE_AVOID_MS);
      logger.warn({ tunnel: slot.index, to: target.id }, 'the replacement tunnel did not come up; the move is retried');
      setTimeout(() => this.#reconcile(), 500).unref();
    });
    return true;
  }

  /** Makes `conn` the slot's tunnel: when it is lost, the slot redials (with backoff, on another node if it can). */
  #adopt(slot: Slot, conn: Conn): void {
    slot.conn = conn;
    const started = Date.now();
    conn.socket.once('close', () => {
      if (slot.conn !== conn) return; // replaced: a retired tunnel needs no redial
      slot.conn = null;
      if (this.#draining) return;
      // The node went (killed, partitioned) or refused the dial: the redial goes to another one if there is one.
      if (!conn.leaving && conn.nodeId !== null) this.#avoid.avoid(conn.nodeId, FAILED_NODE_AVOID_MS);
      if (Date.now() - started > (this.#options.stableAfterMs ?? 10_000)) slot.backoff.reset();
      // Refused by the edge (disabled, re-registered): retry slowly; an admin may re-enable it.
      const delay = this.#refusal ? Math.max(15_000, slot.backoff.next()) : conn.leaving ? 0 : slot.backoff.next();
      this.#refusal = null;
      this.#options.logger.info(
        { tunnel: slot.index, node: conn.nodeId ?? undefined, retryInMs: delay },
        'tunnel lost, redialling',
      );
      slot.timer = setTimeout(() => this.#dial(slot), delay);
    });
  }

  /** Asks the edge to drain this tunnel (it closes it once its streams are done); an older edge gets a GOAWAY. */
  #retire(conn: Conn, reason: string): void {
    conn.leaving = true;
    const session = conn.session;
    if (!session || session.closed) return;
    if (!this.#events.get(session)?.({ type: 'draining', deadlineMs: 0, reason })) {
      try {
        session.close();
      } catch {
        /* already closing */
      }
    }
  }

  /** Moves tunnels off draining nodes, then evens the spread one move at a time. */
  #reconcile(): void {
    if (this.#draining) return;
    const avoid = this.#avoid.current();
    for (const [id, until] of this.#drainingNodes) if (until <= Date.now()) this.#drainingNodes.delete(id);
    for (const slot of this.#slots) {
      if (slot.conn?.nodeId != null && this.#drainingNodes.has(slot.conn.nodeId))
        this.#move(slot, 'edge node draining');
    }
    // One move at a time, and only once every slot is up (a slot being dialled already goes to the idlest node).
    if (this.#slots.some((s) => s.next !== null || !s.conn?.up)) return;
    const placed = this.#slots
      .filter((s) => s.conn?.up && !s.conn.leaving)
      .map((s) => ({ key: s.index, nodeId: s.conn!.nodeId }));
    const plan = planRebalance(this.#nodes, placed, avoid);
    if (plan) this.#move(this.#slots[plan.key], `spreading over edge nodes (to ${plan.to.id})`);
  }

  /** An event from the edge node at the other end of `conn`. */
  #onEdgeEvent(conn: Conn | undefined, event: EdgeEvent): EdgeEventAck {
    const { logger } = this.#options;
    if (event.type === 'nodes') {
      if (!Array.isArray(event.nodes) || typeof event.self !== 'string') throw new Error('malformed node list');
      const nodes = event.nodes
        .filter((n) => typeof n?.id === 'string' && typeof n.address === 'string')
        .map((n) => ({ id: n.id, address: n.address }));
      if (conn) conn.nodeId = event.self;
      if (this.#options.pinned) return {};
      const before = this.#nodes.map((n) => `${n.id}@${n.address}`).join(',');
      this.#nodes = nodes;
      this.#avoid.keepOnly(nodes);
      if (nodes.map((n) => `${n.id}@${n.address}`).join(',') !== before)
        logger.info({ nodes: nodes.map((n) => n.id), from: event.self }, 'edge nodes');
      setImmediate(() => this.#reconcile());
      return {};
    }
    if (event.type === 'edge-draining') {
      if (typeof event.self !== 'string') throw new Error('malformed edge-draining event');
      if (conn) conn.nodeId = event.self;
      this.#avoid.avoid(event.self, Math.max(DRAINING_NODE_AVOID_MS, Number(event.deadlineMs) || 0));
      this.#drainingNodes.set(event.self, Date.now() + DRAINING_NODE_AVOID_MS);
      const slot = conn ? this.#slots.find((s) => s.conn === conn) : undefined;
      const moving = slot ? this.#move(slot, 'edge node draining') : false;
      logger.info(
        { node: event.self, tunnel: slot?.index, moving },
        moving ? 'edge node draining: moving its tunnel' : 'edge node draining: no other node to move to',
      );
      return { moving };
    }
    if (event.type === 'restart') {
      const restart = this.#options.onRestartRequested;
      if (!restart || this.#draining) return { restarting: false };
      const reason = typeof event.reason === 'string' ? event.reason.slice(0, 200) : 'requested by the edge';
      logger.info(
        { reason },
        'restart requested: draining, then exiting for the service manager to start this connector again',
      );
      setImmediate(() => restart(reason));
      return { restarting: true };
    }
    return {};
  }

  /** "Test connection": an app of this connector's group only (the config the edge pushed), never any address. */
  async #testConnection(appId: unknown): Promise<EdgeEventAck> {
    const connectorId = this.#options.credentials.connectorId;
    const app = typeof appId === 'string' ? this.#options.apps.get(appId) : undefined;
    if (!app) {
      return {
        connectionTest: {
          appId: String(appId),
          connectorId,
          url: '',
          status: null,
          ms: 0,
          error: "not published on this connector's group",
          checkedAt: new Date().toISOString(),
        },
      };
    }
    const result = await testConnection(app, connectorId);
    this.#options.logger.info(
      { appId: app.id, status: result.status, ms: result.ms, err: result.error },
      'test connection',
    );
    return { connectionTest: result };
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = String(headers[':path'] ?? '');
    const control = headers[APP_HEADER] === undefined && path.startsWith(CONTROL_PREFIX);
    if (control && path === CONTROL_EVENTS_PATH) return this.#onEvents(stream);
    this.#inFlight++;
    stream.once('close', () => {
      this.#inFlight--;
    });
    releaseWhenClosed(stream);
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
      const conn = slot.conn;
      const session = conn?.session;
      if (this.#draining || !conn || !session || session.closed) continue;
      if (!this.#events.get(session)?.({ type: 'draining', deadlineMs: 0, reason })) continue;
      conn.leaving = true;
      const deadline = Date.now() + 30_000;
      while (
        !this.#draining &&
        Date.now() < deadline &&
        (slot.conn === conn || slot.conn === null || slot.conn.session === null)
      ) {
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
    stream.once('close', () => {
      if (this.#events.get(session) === send) this.#events.delete(session);
    });
    stream.on('error', () => {});
    if (this.#draining) send({ type: 'draining', deadlineMs: 0 });
  }

  async #onControl(stream: ServerHttp2Stream, path: string): Promise<void> {
    const { apps, credentials, version, logger } = this.#options;
    const body = await readControlBody(stream);
    if (path === CONTROL_HELLO_PATH) {
      const hello: ConnectorHello = {
        connectorId: credentials.connectorId,
        version,
        hostname: os.hostname(),
        configVersion: apps.version,
        pid: process.pid,
        ...(this.#options.worker !== undefined ? { worker: this.#options.worker } : {}),
      };
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
      // The first push means the edge has registered the tunnel: a replacement may now take over.
      const conn = stream.session ? this.#connOf.get(stream.session as ServerHttp2Session) : undefined;
      if (conn && !conn.up)
        stream.once('close', () => {
          if (conn.up) return;
          conn.up = true;
          // It took a new tunnel, so it is not draining (a restarted node keeps its id): moves may land on it again.
          if (conn.nodeId !== null) this.#drainingNodes.delete(conn.nodeId);
          conn.onUp?.();
          conn.onUp = null;
        });
    } else if (path === CONTROL_RENEW_CSR_PATH && this.#options.renewal) {
      respondJson(stream, 200, { csr: await this.#options.renewal.csr() });
    } else if (path === CONTROL_RENEW_INSTALL_PATH && this.#options.renewal) {
      const installed = await this.#options.renewal.install(String((body as RenewalInstall).certificate ?? ''));
      logger.info({ serial: installed.serial, notAfter: installed.notAfter }, 'certificate renewed');
      respondJson(stream, 200, { serial: installed.serial, notAfter: installed.notAfter });
      this.useCertificate(installed.keyPem, installed.certPem);
    } else if (path === CONTROL_EDGE_EVENT_PATH) {
      const conn = stream.session ? this.#connOf.get(stream.session as ServerHttp2Session) : undefined;
      const event = body as EdgeEvent;
      respondJson(
        stream,
        200,
        event?.type === 'test-connection' ? await this.#testConnection(event.appId) : this.#onEdgeEvent(conn, event),
      );
    } else if (path === CONTROL_STATUS_PATH) {
      const report: ConnectorStatusReport = {
        connectorId: credentials.connectorId,
        draining: this.#draining,
        backends: this.#probe.report(),
      };
      respondJson(stream, 200, report);
    } else {
      respondJson(stream, 404, { error: 'unknown control path' });
    }
  }
}
