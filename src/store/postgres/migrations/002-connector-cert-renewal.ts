/** 002 — connector certificate renewal (SQLite's 005): the serial accepted until the connector uses its new one. */
export const up = `
ALTER TABLE connectors ADD COLUMN previous_cert_serial text;
`;
