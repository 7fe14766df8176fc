/**
 * The WebSocket backend for the idle-WebSocket measure: echoes every message. Run as its own process:
 * `node bench/ws-backend.ts <port>`.
 */
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
server.on('connection', (ws) => {
  // A malformed frame is an 'error' after ws has sent its close frame (1002…); unhandled, it would end the backend.
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
process.on('SIGTERM', () => process.exit(0));
