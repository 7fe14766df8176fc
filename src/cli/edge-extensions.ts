import type { EdgeExtensions } from '../edge/edge.ts';
import { signinExtension } from '../edge/signin/extension.ts';

/** The layers plugged into the core edge by the CLI: pre-authentication (sign-in host + authenticate hook). */
export const edgeExtensions: EdgeExtensions = signinExtension();
