import { isSea } from 'node:sea';

/**
 * V8's young generation (the semi-spaces every new object starts in) for the long-running processes, the edge and the
 * connector. A scavenge stops the event loop for a time that grows with the semi-space, and every request arriving
 * meanwhile waits, so the pause becomes the p99. V8's own sizing grows the semi-space to 64 MiB on a machine with a few
 * GiB; measured on the request path (1,000 req/s, a loaded 2-core machine), median scavenge pauses were 3 ms at 2 MiB,
 * 5 ms at 4 MiB, 8–15 ms at 8 MiB, 20–30 ms at 16 MiB and 25–50 ms at 64 MiB. Smaller is not free: each scavenge has a
 * fixed cost, and at 2 MiB the edge spent about 3–4 times V8's own GC time per request (its CPU per request rose by
 * 10–25%); 4 MiB about halves that for a pause still well under the latency target. Figures: docs/operations.md.
 *
 * V8 sizes the heap once, when the process starts: `v8.setFlagsFromString('--max-semi-space-size=…')` later has no
 * effect (checked on Node 24). So the flag goes on the command line — `drawbridge dev` forks its children with it —
 * and a process started without it (bin/drawbridge.js, `node src/cli/main.ts`, the single executable, a systemd
 * unit) replaces itself at start-up with the same command plus the flag (`process.execve`: same pid, same file
 * descriptors, before any socket is opened). An operator's own `--max-semi-space-size`, on Node's command line or in
 * NODE_OPTIONS, wins and is left alone.
 */
export const SEMI_SPACE_MIB = 4;

const FLAG = '--max-semi-space-size';
/** Set on the replaced process: it never replaces itself twice, whatever its flags say. */
const REEXEC_ENV = 'DRAWBRIDGE_YOUNG_GENERATION';

/** The Node flag the edge and connector run with. */
export function semiSpaceArg(): string {
  return `${FLAG}=${SEMI_SPACE_MIB}`;
}

/** The `--max-semi-space-size` in effect for this process (NODE_OPTIONS, then the command line, which wins), or null. */
export function semiSpaceSetting(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string | null {
  return lastFlag(execArgv) ?? lastFlag((nodeOptions ?? '').split(/\s+/));
}

function lastFlag(args: readonly string[]): string | null {
  let found: string | null = null;
  // V8 reads its flags with `_` and `-` alike.
  for (const a of args) if (a.replaceAll('_', '-').startsWith(FLAG)) found = a;
  return found;
}

/**
 * The Node flags for an edge or connector this process forks (`drawbridge dev`): none when the setting comes from
 * NODE_OPTIONS (inherited, and a command-line flag would override it), this process's own when given on its command
 * line, else Drawbridge's.
 */
export function childExecArgv(): string[] {
  if (lastFlag((process.env.NODE_OPTIONS ?? '').split(/\s+/)) !== null) return [];
  return [lastFlag(process.execArgv) ?? semiSpaceArg()];
}

/**
 * The command that starts this process again with the flag, or null when it already runs with a semi-space size
 * (ours or the operator's) or was already replaced once. A single executable takes Node flags only from NODE_OPTIONS.
 */
export function withSemiSpace(
  p: {
    execPath: string;
    execArgv: readonly string[];
    argv: readonly string[];
    env: NodeJS.ProcessEnv;
    channel?: unknown;
  },
  sea: boolean,
): { file: string; args: string[]; env: NodeJS.ProcessEnv } | null {
  if (p.env[REEXEC_ENV] !== undefined || semiSpaceSetting(p.execArgv, p.env.NODE_OPTIONS) !== null) return null;
  // Forked with an IPC channel (a supervisor, a test): its descriptor is close-on-exec, so the replaced process would
  // lose it (and libuv would take its number: writes to the parent then fail with EINVAL). Such a parent passes the
  // flag itself (childExecArgv); without it, V8's own sizing.
  if (p.channel) return null;
  const env: NodeJS.ProcessEnv = { ...p.env, [REEXEC_ENV]: '1' };
  if (sea) {
    env.NODE_OPTIONS = p.env.NODE_OPTIONS ? `${p.env.NODE_OPTIONS} ${semiSpaceArg()}` : semiSpaceArg();
    return { file: p.execPath, args: [p.argv[1] ?? p.execPath, ...p.argv.slice(2)], env };
  }
  return { file: p.execPath, args: [p.execPath, semiSpaceArg(), ...p.execArgv, ...p.argv.slice(1)], env };
}

/** Called first by `edge` and `connector run`: returns only when the young generation is already sized. */
export function ensureYoungGeneration(): void {
  if (typeof process.execve !== 'function') return; // not on this platform (Windows): V8's own sizing
  const next = withSemiSpace(process, isSea());
  if (next) process.execve(next.file, next.args, next.env);
}
