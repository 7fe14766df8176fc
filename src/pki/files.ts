import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/** Owner read/write only: private keys, connector state. */
export const SECRET_FILE_MODE = 0o600;
/** Owner only: directories that hold secrets. */
export const SECRET_DIR_MODE = 0o700;
/** Certificates are public but written by the same code; keep them owner-writable, world-readable. */
export const PUBLIC_FILE_MODE = 0o644;

/**
 * Writes a file atomically (temporary file in the same directory, then rename) with `mode` set at creation and
 * again by chmod, so a umask or an existing file never leaves a key readable by others.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    await chmod(tmp, mode);
    await rename(tmp, path);
    await chmod(path, mode);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A private key or other secret: mode 0600. */
export function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  return writeFileAtomic(path, data, SECRET_FILE_MODE);
}

/** Creates `dir` (and parents) and forces mode 0700 on it. */
export async function ensureSecretDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: SECRET_DIR_MODE });
  await chmod(dir, SECRET_DIR_MODE);
}

export async function ensureParentDir(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
}

/** The file's text, or null when it does not exist (other errors propagate). */
export async function readTextIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
