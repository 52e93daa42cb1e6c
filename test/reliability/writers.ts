/**
 * Scripted users for fault and load runs: each one is a browser (one cookie jar) with one or
 * more tabs that add todos with their own operation ids, keep a history of what was sent and
 * what was acknowledged, and behave like the real client when the server goes away: wait,
 * reconnect with backoff, rejoin, and resubmit the change in flight with the same operation id
 * (the form recovery the page does).
 *
 * The oracle of "nothing lost" (design §2.6) is {@link checkHistory}.
 */
import { CookieJar, LiveClient, type PushReply } from '../support/live-client.js';
import { readTodos } from '../support/todo-tab.js';

/** One operation as the client saw it. */
export interface OpRecord {
  readonly opId: string;
  readonly title: string;
  /** The server answered and the page showed the todo as saved. */
  acked: boolean;
  /** Submissions of this op id (1, or more after reconnects). */
  attempts: number;
  /** It was in flight when the socket dropped, and the rejoined page already showed it. */
  committedUnacked: boolean;
  /** It was in flight when the socket dropped, and the rejoined page did not show it. */
  lostInFlight: boolean;
}

export interface WriterOptions {
  /** Tabs of this browser. Default 1. */
  tabs?: number;
  /** Pause between two operations of one tab (the per-socket rate limit is 20/s). Default 60 ms. */
  pauseMs?: number;
  /** How long to keep trying to reconnect before giving up. Default 30 s. */
  reconnectBudgetMs?: number;
  /** Also toggle and delete, keeping the list short (load runs). Default false: adds only. */
  churn?: boolean;
}

let writerSeq = 0;

/** One scripted browser. */
export class Writer {
  readonly name: string;
  readonly jar = new CookieJar();
  readonly history = new Map<string, OpRecord>();
  readonly tabs: LiveClient[] = [];
  /** Connection attempts that failed (refused, reset) while the server was away. */
  failedConnects = 0;
  reconnects = 0;
  /** Every push of this browser that was answered with `ok` (adds, toggles, deletes). */
  okReplies = 0;
  readonly #baseUrl: string;
  readonly #o: Required<WriterOptions>;
  #seq = 0;
  #stopped = false;

  constructor(baseUrl: string, options: WriterOptions = {}) {
    this.#baseUrl = baseUrl;
    this.name = `w${++writerSeq}`;
    this.#o = { tabs: 1, pauseMs: 60, reconnectBudgetMs: 30_000, churn: false, ...options };
  }

  get userId(): string {
    return this.jar.get('todo_live_session')?.split('.')[0] ?? '';
  }

  /** Opens every tab (retrying while the server is not there). */
  async connect(): Promise<void> {
    for (let i = 0; i < this.#o.tabs; i++) this.tabs.push(await this.#openTab());
  }

  /** Runs every tab's loop until `stop()`. Settles when all loops ended; rejects if one gave up. */
  async run(): Promise<void> {
    const loops = await Promise.allSettled(this.tabs.map((_, i) => this.#loop(i)));
    const failed = loops.find((l) => l.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Closes every tab. */
  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.tabs.map((t) => t.close().catch(() => {})));
  }

  /** The titles tab `i` shows now. */
  shown(i = 0): string[] {
    return readTodos(this.tabs[i]!.html()).map((t) => t.title);
  }

  async #loop(index: number): Promise<void> {
    let pending: OpRecord | null = null;
    while (!this.#stopped) {
      let tab = this.tabs[index]!;
      if (tab.socket.readyState !== tab.socket.OPEN) {
        tab = await this.#reopen(index);
        if (pending !== null) this.#classify(pending, tab);
      }
      if (this.#stopped) break;
      const op: OpRecord = pending ?? this.#nextOp();
      pending = op;
      try {
        if (this.#o.churn && this.#seq % 3 === 0 && readTodos(tab.html()).length > 0) {
          if ((await this.#churn(tab)).status === 'ok') this.okReplies++;
        } else {
          op.attempts++;
          const reply = await tab.submit('add', { op: op.opId, title: op.title });
          if (reply.status === 'ok') this.okReplies++;
          if (reply.status === 'ok' && readTodos(tab.html()).some((t) => t.title === op.title)) {
            op.acked = true;
            pending = null;
          } else if (reply.status === 'ok' && this.#o.churn) {
            // Under churn the todo may already be gone again (another tab deleted it).
            op.acked = true;
            pending = null;
          }
        }
      } catch {
        // The socket went away mid-flight; the loop reconnects and resubmits the same op.
      }
      await sleep(this.#o.pauseMs);
    }
  }

  #churn(tab: LiveClient): Promise<PushReply> {
    const todos = readTodos(tab.html());
    const victim = todos[Math.floor(Math.random() * todos.length)]!;
    if (todos.length > 20 || Math.random() < 0.3) return tab.click('destroy', { id: String(victim.id), value: '' });
    return tab.click('toggle', { id: String(victim.id), ...(victim.completed ? {} : { value: 'on' }) });
  }

  #nextOp(): OpRecord {
    const n = ++this.#seq;
    const opId = `${this.name}-op-${n}-${Math.random().toString(36).slice(2, 10)}`;
    const op: OpRecord = { opId, title: `${this.name} #${n}`, acked: false, attempts: 0, committedUnacked: false, lostInFlight: false };
    this.history.set(opId, op);
    return op;
  }

  #classify(op: OpRecord, tab: LiveClient): void {
    if (op.attempts === 0 || op.acked) return;
    const shown = readTodos(tab.html()).some((t) => t.title === op.title);
    if (shown) op.committedUnacked = true;
    else op.lostInFlight = true;
  }

  async #openTab(): Promise<LiveClient> {
    const deadline = Date.now() + this.#o.reconnectBudgetMs;
    let delay = 20;
    for (;;) {
      try {
        const client = await LiveClient.open(this.#baseUrl, '/', { jar: this.jar, timeoutMs: 10_000 });
        const reply = await client.join();
        if (reply.status === 'ok') return client;
        await client.close().catch(() => {});
      } catch {
        // Refused or reset while the server is away.
      }
      this.failedConnects++;
      if (Date.now() > deadline) throw new Error(`${this.name} could not connect within ${this.#o.reconnectBudgetMs} ms`);
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  /** What the browser does after a drop: reconnect with backoff; a fresh page if the old one is refused. */
  async #reopen(index: number): Promise<LiveClient> {
    const old = this.tabs[index]!;
    const deadline = Date.now() + this.#o.reconnectBudgetMs;
    let delay = 20;
    for (;;) {
      if (this.#stopped) return old;
      try {
        const reply = await old.reconnect();
        if (reply.status === 'ok') {
          this.reconnects++;
          return old;
        }
        // A refused rejoin (stale page): the browser reloads the page.
        const fresh = await this.#openTab();
        this.tabs[index] = fresh;
        this.reconnects++;
        return fresh;
      } catch {
        this.failedConnects++;
      }
      if (Date.now() > deadline) throw new Error(`${this.name} could not reconnect within ${this.#o.reconnectBudgetMs} ms`);
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 500);
    }
  }
}

/** What a history check found; `problems` must be empty. */
export interface HistoryReport {
  sent: number;
  acked: number;
  /** Sent, never acknowledged, absent: an allowed loss. */
  unackedAbsent: number;
  /** Sent, never acknowledged, present once: allowed (the client sees it after a reload). */
  unackedPresent: number;
  /** Were in flight at a drop and already committed (the ack was lost), then resubmitted. */
  committedUnacked: number;
  /** Were in flight at a drop and not committed. */
  lostInFlight: number;
  /** Submissions of an op id after the first (all must have been applied at most once). */
  retries: number;
  problems: string[];
}

/** The counts of several history reports added up (their problems are asserted one by one). */
export function sumReports(reports: readonly HistoryReport[]): Omit<HistoryReport, 'problems'> {
  const total = { sent: 0, acked: 0, unackedAbsent: 0, unackedPresent: 0, committedUnacked: 0, lostInFlight: 0, retries: 0 };
  for (const r of reports) {
    total.sent += r.sent;
    total.acked += r.acked;
    total.unackedAbsent += r.unackedAbsent;
    total.unackedPresent += r.unackedPresent;
    total.committedUnacked += r.committedUnacked;
    total.lostInFlight += r.lostInFlight;
    total.retries += r.retries;
  }
  return total;
}

/**
 * The oracle of design §2.6 over one user's stored titles: every acknowledged op present
 * exactly once, no op present twice, nothing present that was never sent.
 */
export function checkHistory(writer: Writer, storedTitles: readonly string[]): HistoryReport {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const t of storedTitles) counts.set(t, (counts.get(t) ?? 0) + 1);
  const byTitle = new Map([...writer.history.values()].map((op) => [op.title, op]));
  const report: HistoryReport = { sent: 0, acked: 0, unackedAbsent: 0, unackedPresent: 0, committedUnacked: 0, lostInFlight: 0, retries: 0, problems };
  for (const op of writer.history.values()) {
    if (op.attempts === 0) continue;
    report.sent++;
    report.retries += op.attempts - 1;
    if (op.committedUnacked) report.committedUnacked++;
    if (op.lostInFlight) report.lostInFlight++;
    const n = counts.get(op.title) ?? 0;
    if (n > 1) problems.push(`${op.opId} (${op.title}) is stored ${n} times`);
    if (op.acked) {
      report.acked++;
      if (n !== 1) problems.push(`acknowledged ${op.opId} (${op.title}) is stored ${n} times`);
    } else if (n === 0) report.unackedAbsent++;
    else report.unackedPresent++;
  }
  for (const title of counts.keys()) {
    const op = byTitle.get(title);
    if (op === undefined || op.attempts === 0) problems.push(`${JSON.stringify(title)} is stored but was never sent`);
  }
  return report;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
