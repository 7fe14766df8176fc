/**
 * `drawbridge dev`'s children and what happens when one exits on its own: started again with jittered backoff and a
 * log line, per its policy, unless dev itself is stopping.
 *   - always:   any exit, kill -9 included (the sample apps: the demo's backends must not stay down);
 *   - on-crash: only a failure exit (non-zero code). A connector stopped by a signal stays down: `kill -9` or SIGTERM
 *               of a connector is how an operator (and the failover tests) watch the group carry on without it;
 *   - never:    logged only (the edge: its ports and admin token are what everything else was set up with).
 */
import { Backoff } from '../lib/backoff.ts';
import { startChild, stopChild, type Child } from './child.ts';

export type RestartPolicy = 'always' | 'on-crash' | 'never';

/** Up this long, a child's next restart starts from the shortest backoff again. */
const STABLE_MS = 30_000;

export interface Supervised<T extends Record<string, unknown>> {
  readonly name: string;
  readonly kind: string;
  /** The running child; replaced on each restart. */
  current: Child<T>;
}

interface Entry<T extends Record<string, unknown>> extends Supervised<T> {
  args: (previous: T) => string[];
  logFile: string;
  policy: RestartPolicy;
  onRestart: (child: Child<T>) => void;
  backoff: Backoff;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

export class DevSupervisor {
  readonly #log: (line: string) => void;
  readonly #entries: Entry<Record<string, unknown>>[] = [];
  #stopping = false;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /**
   * Starts `drawbridge <args>` and watches it. `args` builds a restart's arguments from the last child's ready message
   * (the sample app comes back on the same port, so the published internal URL stays right).
   */
  async start<T extends Record<string, unknown>>(spec: {
    name: string;
    kind: string;
    args: string[];
    restartArgs?: (previous: T) => string[];
    logFile: string;
    policy: RestartPolicy;
    onRestart?: (child: Child<T>) => void;
  }): Promise<Supervised<T>> {
    const child = await startChild<T>(spec.args, spec.logFile);
    const entry: Entry<T> = {
      name: spec.name,
      kind: spec.kind,
      current: child,
      args: spec.restartArgs ?? (() => spec.args),
      logFile: spec.logFile,
      policy: spec.policy,
      onRestart: spec.onRestart ?? (() => {}),
      backoff: new Backoff({ baseMs: 500, maxMs: 30_000 }),
      startedAt: Date.now(),
      timer: null,
    };
    this.#entries.push(entry as unknown as Entry<Record<string, unknown>>);
    this.#watch(entry);
    if (this.#stopping) await stopChild(child.process);
    return entry;
  }

  /** Stops restarting, then stops the children: those of `firstKind` together (connectors drain), then the rest newest first. */
  async stopAll(firstKind: string): Promise<void> {
    this.#stopping = true;
    for (const e of this.#entries) if (e.timer) clearTimeout(e.timer);
    await Promise.all(this.#entries.filter((e) => e.kind === firstKind).map((e) => stopChild(e.current.process)));
    for (const e of [...this.#entries].reverse()) await stopChild(e.current.process);
  }

  #watch<T extends Record<string, unknown>>(entry: Entry<T>): void {
    const child = entry.current;
    child.process.once('exit', (code, signal) => {
      if (this.#stopping) return;
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const restart = entry.policy === 'always' || (entry.policy === 'on-crash' && signal === null && code !== 0);
      if (!restart) {
        this.#log(`${entry.name} (pid ${child.process.pid}) ${how}; not restarted (see ${entry.logFile})`);
        return;
      }
      if (Date.now() - entry.startedAt >= STABLE_MS) entry.backoff.reset();
      this.#restartLater(entry, child.ready, `${entry.name} (pid ${child.process.pid}) ${how} unexpectedly`);
    });
  }

  #restartLater<T extends Record<string, unknown>>(entry: Entry<T>, previous: T, why: string): void {
    const delay = entry.backoff.next();
    this.#log(`${why}; restarting it in ${(delay / 1000).toFixed(1)} s (see ${entry.logFile})`);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.#stopping) return;
      startChild<T>(entry.args(previous), entry.logFile).then(
        async (child) => {
          if (this.#stopping) return void (await stopChild(child.process));
          entry.current = child;
          entry.startedAt = Date.now();
          this.#watch(entry);
          entry.onRestart(child);
          this.#log(`${entry.name} restarted (pid ${child.process.pid})`);
        },
        (err: Error) => {
          if (!this.#stopping) this.#restartLater(entry, previous, `${entry.name} did not start again: ${err.message}`);
        },
      );
    }, delay);
  }
}
