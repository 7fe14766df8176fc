/**
 * Reaching into a running Node process (the edge, the connector) through its inspector, without restarting it:
 *
 * - a full garbage collection before reading its RSS, so that "memory per idle connection" counts what the
 *   connections keep, not the garbage their handshakes left (`HeapProfiler.collectGarbage`, twice: the second pass
 *   frees what finalisers released);
 * - a CPU profile of exactly one load run (`Profiler.start` / `Profiler.stop`), for `--profile`.
 *
 * SIGUSR1 makes a Node process open its inspector on 127.0.0.1:9229; the bench connects over the DevTools protocol,
 * checks it talks to the right pid, does its work and closes the inspector again. Processes are done one at a time
 * (the port is fixed). If anything fails (port taken, not a Node process) the caller goes on without and says so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

/** Node's default inspector port, where SIGUSR1 opens it unless the process was given `--inspect-port`. */
const PORT = 9229;

async function debuggerUrl(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
        webSocketDebuggerUrl: string;
      }>;
      if (list[0]?.webSocketDebuggerUrl) return list[0].webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no inspector on 127.0.0.1:${port}`);
    await sleep(100);
  }
}

function session(
  url: string,
): Promise<{ call: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let next = 1;
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (!p) return;
      pending.delete(msg.id as number);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        call: (method, params = {}) =>
          new Promise((res, rej) => {
            const id = next++;
            pending.set(id, { resolve: res, reject: rej });
            ws.send(JSON.stringify({ id, method, params }));
            setTimeout(() => {
              if (pending.delete(id)) rej(new Error(`${method}: no answer`));
            }, 30_000).unref();
          }),
        close: () => ws.terminate(),
      }),
    );
  });
}

export type Session = Awaited<ReturnType<typeof session>>;

/**
 * Opens the inspector of `pid` (on `port`: the default, or the process's own `--inspect-port`), runs `work` with a
 * DevTools session, closes the inspector again. The tests' memory readings use it too, on ports of their own.
 */
export async function withInspector<T>(pid: number, work: (s: Session) => Promise<T>, port = PORT): Promise<T> {
  const s = await connect(pid, port);
  try {
    return await work(s);
  } finally {
    await hangUp(s, port);
  }
}

/**
 * SIGUSR1, then a DevTools session with `pid`'s own inspector. Tried three times: the inspector another process just
 * closed may still hold the port for a moment, answering for the wrong pid or keeping this one's from opening.
 */
async function connect(pid: number, port: number, attempts = 3): Promise<Session> {
  for (let attempt = 1; ; attempt++) {
    process.kill(pid, 'SIGUSR1');
    let s: Session | undefined;
    try {
      s = await session(await debuggerUrl(port, 10_000));
      const who = (await s.call('Runtime.evaluate', { expression: 'process.pid', returnByValue: true })) as {
        result: { value: number };
      };
      if (who.result.value !== pid)
        throw new Error(`the inspector on ${port} belongs to pid ${who.result.value}, not ${pid}`);
      return s;
    } catch (err) {
      if (s) await hangUp(s, port);
      if (attempt >= attempts) throw err;
      await sleep(500);
    }
  }
}

/** Closes the inspector `s` talks to, and waits until its port is free for the next process. */
async function hangUp(s: Session, port: number): Promise<void> {
  // close() waits for this very session to end, so it never answers: send it, then hang up.
  void s
    .call('Runtime.evaluate', { expression: "process.getBuiltinModule('node:inspector').close()" })
    .catch(() => undefined);
  await sleep(100);
  s.close();
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/json/version`, { signal: AbortSignal.timeout(1000) });
      await sleep(100);
    } catch {
      break;
    }
  }
}

/** Full GC in process `pid`; resolves false (and leaves the process as it was) if that could not be done. */
export async function collectGarbage(pid: number): Promise<boolean> {
  try {
    await withInspector(pid, async (s) => {
      await s.call('HeapProfiler.collectGarbage');
      await s.call('HeapProfiler.collectGarbage');
    });
    return true;
  } catch {
    return false;
  }
}

/** Full GC in each pid in turn; true if all succeeded. */
export async function collectAll(pids: number[]): Promise<boolean> {
  let ok = true;
  for (const pid of pids) ok = (await collectGarbage(pid)) && ok;
  return ok;
}

/** A V8 CPU profile (the .cpuprofile JSON) of process `pid` while `during` runs; sampling every 100 µs. */
export async function cpuProfile<T>(pid: number, during: () => Promise<T>): Promise<{ profile: unknown; result: T }> {
  return withInspector(pid, async (s) => {
    await s.call('Profiler.enable');
    await s.call('Profiler.setSamplingInterval', { interval: 100 });
    await s.call('Profiler.start');
    const result = await during();
    const { profile } = (await s.call('Profiler.stop')) as { profile: unknown };
    await s.call('Profiler.disable').catch(() => undefined);
    return { profile, result };
  });
}

/** One process's garbage collections during a measure (from its own `gc` performance entries), pauses in ms. */
export interface GcPauses {
  /** Young-generation collections (scavenges). */
  minor: { count: number; totalMs: number; maxMs: number };
  /** Full collections (mark-compact): their final, stop-the-world pause. */
  major: { count: number; totalMs: number; maxMs: number };
  /** Incremental-marking steps and weak callbacks, the full collections' smaller pauses. */
  steps: { count: number; totalMs: number; maxMs: number };
}

// The recorder lives in the process between two inspector sessions: a `gc` PerformanceObserver filling an array.
const GC_RECORDER = '__drawbridgeBenchGc';
const START_GC_RECORDER = `(() => {
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  globalThis.${GC_RECORDER}?.observer.disconnect();
  const entries = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) entries.push([e.detail?.kind ?? 0, e.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  globalThis.${GC_RECORDER} = { observer, entries };
  return true;
})()`;
// Read after a turn of the loop, so that the observer has been handed the last entries.
const STOP_GC_RECORDER = `new Promise((resolve) => setTimeout(() => {
  const r = globalThis.${GC_RECORDER};
  if (!r) return resolve('[]');
  r.observer.disconnect();
  delete globalThis.${GC_RECORDER};
  resolve(JSON.stringify(r.entries));
}, 50))`;
/** perf_hooks.constants: NODE_PERFORMANCE_GC_MINOR, _MINOR_MARK_SWEEP and _MAJOR (the rest are steps). */
const GC_MINOR = new Set([1, 2]);
const GC_MAJOR = 4;

/** Starts recording the GC pauses of `pid` (left running in it until `stopGcPauses`); false if it could not. */
export async function startGcPauses(pid: number): Promise<boolean> {
  try {
    await withInspector(pid, async (s) => {
      await s.call('Runtime.evaluate', { expression: START_GC_RECORDER, returnByValue: true });
    });
    return true;
  } catch {
    return false;
  }
}

/** What `pid` paused for since `startGcPauses`; null if it could not be read. */
export async function stopGcPauses(pid: number): Promise<GcPauses | null> {
  try {
    const json = await withInspector(pid, async (s) => {
      const r = (await s.call('Runtime.evaluate', {
        expression: STOP_GC_RECORDER,
        awaitPromise: true,
        returnByValue: true,
      })) as { result: { value: string } };
      return r.result.value;
    });
    return summariseGc(JSON.parse(json) as Array<[number, number]>);
  } catch {
    return null;
  }
}

export function summariseGc(entries: ReadonlyArray<readonly [number, number]>): GcPauses {
  const none = () => ({ count: 0, totalMs: 0, maxMs: 0 });
  const out: GcPauses = { minor: none(), major: none(), steps: none() };
  for (const [kind, ms] of entries) {
    const k = kind === GC_MAJOR ? out.major : GC_MINOR.has(kind) ? out.minor : out.steps;
    k.count++;
    k.totalMs += ms;
    k.maxMs = Math.max(k.maxMs, ms);
  }
  return out;
}

/** A run's GC pauses in a log line or a report cell: "212 scavenges (longest 4.2 ms), 1 full (longest 41.3 ms, …)". */
export function gcText(gc: GcPauses): string {
  const ms = (v: number): string => v.toFixed(1);
  const full = gc.major.count
    ? `${gc.major.count} full (longest ${ms(gc.major.maxMs)} ms, ${ms(gc.major.totalMs)} ms in all)`
    : 'no full collection';
  return `${gc.minor.count} scavenges (longest ${ms(gc.minor.maxMs)} ms), ${full}`;
}
