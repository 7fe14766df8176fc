import type { EdgeExtensions } from '../edge/edge.ts';

/** The layers plugged into the core edge by the CLI (sign-in arrives with the identity layer). */
export const edgeExtensions: EdgeExtensions = {};
