// The raw baseline: a bare `ws` server on 127.0.0.1:$PORT with no framework. Each text frame
// is parsed as JSON (as any server must) and answered with a frame of $REPLY_BYTES that
// carries the request's ref, so round trips compare like for like with the live server's
// event → reply. Idle sockets cost only what `ws` itself keeps per connection.
//
// With $DURABLE_DB the echo is durable: each frame becomes one row INSERTed into that SQLite
// file (WAL, synchronous=FULL), and its reply is sent only after the COMMIT that holds it
// returned. The frames of one event-loop turn share one transaction (one fsync), committed
// on the event loop at the end of the turn: no thread hop, no framework, nothing else on the
// path, so it is the floor for an acknowledgement that waits for the disk.
import Database from 'better-sqlite3';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const replyBytes = Number(process.env.REPLY_BYTES ?? 150);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 64 * 1024 });

const reply = (frame) => {
  const ref = Array.isArray(frame) ? frame[1] : null;
  const head = JSON.stringify([frame[0] ?? null, ref, frame[2] ?? 'echo', 'phx_reply', { status: 'ok', response: { pad: '' } }]);
  const pad = 'x'.repeat(Math.max(0, replyBytes - head.length));
  return JSON.stringify([frame[0] ?? null, ref, frame[2] ?? 'echo', 'phx_reply', { status: 'ok', response: { pad } }]);
};

let durable = null;
if (process.env.DURABLE_DB) {
  const db = new Database(process.env.DURABLE_DB);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, ref TEXT, at INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO events (ref, at) VALUES (?, ?)');
  const commitAll = db.transaction((items) => {
    for (const [, frame] of items) insert.run(String(frame[1]), Date.now());
  });
  let pending = [];
  const flush = () => {
    const items = pending;
    pending = [];
    commitAll(items);
    for (const [ws, frame] of items) ws.send(reply(frame));
  };
  // Takes frames that are arrays (the caller checked).
  durable = (ws, frame) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push([ws, frame]);
  };
}

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let frame;
    try {
      frame = JSON.parse(String(data));
    } catch {
      ws.close(1007);
      return;
    }
    // Heartbeats are answered at once, as a live server does.
    if (durable !== null && Array.isArray(frame) && frame[2] !== 'phoenix') durable(ws, frame);
    else ws.send(reply(frame));
  });
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
});
