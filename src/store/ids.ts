import { randomBytes } from 'node:crypto';

export type IdPrefix = 'tnt' | 'grp' | 'con' | 'app' | 'enr' | 'aud' | 'pol' | 'loc' | 'atk';

/** A prefixed random id: `con_` + 16 lower-case hex characters (64 random bits). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

export const ID_PATTERN = /^(tnt|grp|con|app|enr|aud|pol|loc|atk)_[0-9a-f]{16}$/;
