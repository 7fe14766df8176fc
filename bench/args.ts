/** `npm run bench` flags (see bench/README.md); unknown ones are an error, so a typo does not run 30 minutes for nothing. */

export interface BenchArgs {
  /** Smoke run: one repetition of short runs. */
  quick: boolean;
  /** Profile Drawbridge's processes under load (V8 profiler through the inspector). */
  profile: boolean;
  /** Keep the temp dir (configs, logs). */
  keep: boolean;
  /** `--only=a,b`: the row and step ids to run; undefined runs everything. */
  only?: string[];
  /** `--before=<git ref>`: also measure the Drawbridge rows built from that ref. */
  before?: string;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, profile: false, keep: false };
  for (const a of argv) {
    if (a === '--quick') args.quick = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--keep') args.keep = true;
    else if (a.startsWith('--only=')) {
      args.only = a
        .slice('--only='.length)
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean);
      if (args.only.length === 0) throw new Error('--only= names no row');
    } else if (a.startsWith('--before=')) {
      const ref = a.slice('--before='.length).trim();
      // A ref is handed to git as one argument; refuse what git would take for an option.
      if (!ref || ref.startsWith('-')) throw new Error(`--before= needs a git ref (got '${ref}')`);
      args.before = ref;
    } else throw new Error(`unknown argument ${a} (flags: --quick --profile --keep --only=… --before=<git ref>)`);
  }
  return args;
}
