/**
 * `--before=<ref>`: the Drawbridge of another commit, measured in the same run as this tree's. A detached git
 * worktree of the ref in the bench's temp dir, its node_modules a symlink to this tree's (the dependencies rarely
 * differ between the commits compared; when they do, `dev` fails and the before rows say so), removed at the end.
 */
import { existsSync, lstatSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes.ts';

export interface Checkout {
  ref: string;
  /** Short sha of the commit checked out. */
  sha: string;
  root: string;
  remove(): Promise<void>;
}

/** Short sha of `ref` in the repository at `root`; rejects when git does not know the ref. */
export async function shortSha(root: string, ref: string): Promise<string> {
  const { stdout } = await run('git', ['-C', root, 'rev-parse', '--short', '--verify', `${ref}^{commit}`]);
  return stdout.trim();
}

/** The short sha of the tree at `root`, `+changes` when it has uncommitted changes to tracked files. */
export async function treeSha(root: string): Promise<string | undefined> {
  const head = await run('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { allowFail: true });
  if (head.code !== 0) return undefined;
  const dirty = await run('git', ['-C', root, 'diff', '--quiet', 'HEAD', '--'], { allowFail: true });
  return `${head.stdout.trim()}${dirty.code === 0 ? '' : '+changes'}`;
}

export async function checkout(root: string, ref: string, into: string): Promise<Checkout> {
  const sha = await shortSha(root, ref);
  await run('git', ['-C', root, 'worktree', 'add', '--detach', into, sha], { timeoutMs: 120_000 });
  const modules = join(into, 'node_modules');
  const remove = async (): Promise<void> => {
    // The link first, by itself: nothing that removes the worktree may reach into this tree's node_modules.
    try {
      if (lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
    } catch {
      // not there
    }
    await run('git', ['-C', root, 'worktree', 'remove', '--force', into], { allowFail: true, timeoutMs: 60_000 });
    await run('git', ['-C', root, 'worktree', 'prune'], { allowFail: true });
  };
  try {
    if (!existsSync(modules)) symlinkSync(join(root, 'node_modules'), modules);
  } catch (err) {
    await remove();
    throw err;
  }
  return { ref, sha, root: into, remove };
}
