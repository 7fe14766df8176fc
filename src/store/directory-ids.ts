import { randomBytes } from 'node:crypto';

export type DirectoryIdPrefix = 'usr' | 'ugr' | 'sil' | 'wac';

/** Same shape as the core ids (`store/ids.ts`): prefix + 16 hex characters. */
export function newDirectoryId(prefix: DirectoryIdPrefix): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}
