import { isSea } from 'node:sea';

/**
 * V8's young generation (the semi-spaces every new object starts in) for the long-running processes, the edge and the
 * connector. A scavenge stops the event loop for a time that grows with the semi-space (measured on the request path:
 * a few ms at 2 MiB, 20–50 ms at V8's own size on a large machine, which grows to 64 MiB), while the GC work per
 * request stays about the same; so a small, fixed semi-space turns rare long pauses, the p99 of every request that
 * meets one, into frequent short ones. The figures are in docs/operations.md ("Garbage collection").
 *
 * V8 sizes the heap once, when the process starts: `v8.setFlagsFromString('--max-semi-space-size=…')` later has no
 * effect (checked on Node 24). So the flag goes on the command line — `drawbridge dev` forks its children with it —
 * and a process started without it (bin/drawbridge.js, `node src/cli/main.ts`, the single executable, a systemd
 * unit) replaces itself at start-up with the same command plus the flag (`process.execve`: same pid, same file
 * descriptors, before any socket is opened). An operator's own `--max-semi-space-size`, on Node's command line or in
 * NODE_OPTIONS, wins and is left alone.
 */
export const SEMI_SPACE_MIB = 2;

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
  p: { execPath: string; execArgv: readonly string[]; argv: readonly string[]; env: NodeJS.ProcessEnv },
  sea: boolean,
): { file: string; args: string[]; env: NodeJS.ProcessEnv } | null {
  if (p.env[REEXEC_ENV] !== undefined || semiSpaceSetting(p.execArgv, p.env.NODE_OPTIONS) !== null) return null;
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
