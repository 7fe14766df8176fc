/**
 * 005 — connector certificate renewal: after the edge issues a connector a new certificate over its tunnel, the
 * serial it used until then stays accepted until it dials with the new one (then it is cleared).
 */
export const up = `
ALTER TABLE connectors ADD COLUMN previous_cert_serial TEXT;
`;
