// The raw baseline: a bare `ws` server on 127.0.0.1:$PORT with no framework. Each text frame
// is parsed as JSON (as any server must) and answered with a frame of $REPLY_BYTES that
// carries the request's ref, so round trips compare like for like with the live server's
// event → reply. Idle sockets cost only what `ws` itself keeps per connection.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const replyBytes = Number(process.env.REPLY_BYTES ?? 150);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let frame;
    try {
      frame = JSON.parse(String(data));
    } catch {
      ws.close(1007);
      return;
    }
    const ref = Array.isArray(frame) ? frame[1] : null;
    const head = JSON.stringify([frame[0] ?? null, ref, frame[2] ?? 'echo', 'phx_reply', { status: 'ok', response: { pad: '' } }]);
    const pad = 'x'.repeat(Math.max(0, replyBytes - head.length));
    ws.send(JSON.stringify([frame[0] ?? null, ref, frame[2] ?? 'echo', 'phx_reply', { status: 'ok', response: { pad } }]));
  });
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
});
