/**
 * Runs `stop` once on the first SIGINT/SIGTERM (or the `signals` given); a second signal exits at once, unless
 * `patient` (a worker of `--workers`, which its primary and a service manager may both signal: it keeps draining).
 * A child of `drawbridge dev` (or of a test, or a primary) also stops when its parent's IPC channel closes: a parent
 * killed with SIGKILL leaves no edge or connector behind holding its ports.
 */
export function onShutdown(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  options: { signals?: NodeJS.Signals[]; patient?: boolean } = {},
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      if (!options.patient) process.exit(130);
      return;
    }
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  for (const signal of options.signals ?? ['SIGINT', 'SIGTERM']) process.on(signal, handler);
  if (process.channel)
    process.once('disconnect', () => {
      if (!stopping) handler('SIGTERM');
    });
}

/** Tells a parent process (drawbridge dev, tests) that this child is ready, over the IPC channel when there is one. */
export function notifyParent(message: Record<string, unknown>): void {
  if (typeof process.send === 'function') process.send(message);
}
