/**
 * A dedicated connection that `LISTEN`s for commit notifications and survives losing it.
 *
 * Notifications are signals, not a log: PostgreSQL may coalesce them and does not replay
 * what was sent while nobody listened. So after every reconnect the listener emits
 * `resync`, and the caller re-reads the versions it cares about.
 */
import pg from 'pg';
import type { StoreEvent } from './types.js';

export interface PostgresListenerOptions {
  readonly url: string;
  readonly channel: string;
  readonly connectTimeoutMs: number;
  readonly reconnectDelayMs: { readonly min: number; readonly max: number };
  readonly onEvent: (event: StoreEvent) => void;
  readonly onError: (err: unknown) => void;
}

export class PostgresListener {
  readonly #options: PostgresListenerOptions;
  #client: pg.Client | undefined;
  #listening = false;
  #stopped = false;
  #delay: number;
  #timer: NodeJS.Timeout | undefined;
  #connecting: Promise<void> | undefined;
  resyncs = 0;
  notifications = 0;

  constructor(options: PostgresListenerOptions) {
    this.#options = options;
    this.#delay = options.reconnectDelayMs.min;
  }

  get listening(): boolean {
    return this.#listening;
  }

  get pid(): number | undefined {
    return this.#listening ? (this.#client as (pg.Client & { processID?: number }) | undefined)?.processID : undefined;
  }

  /** Connects and listens; rejects if the first attempt fails (the store then fails to open). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = undefined;
    this.#listening = false;
    await client?.end().catch(() => {});
  }

  #connect(): Promise<void> {
    const attempt = (async () => {
      const client = new pg.Client({ connectionString: this.#options.url, connectionTimeoutMillis: this.#options.connectTimeoutMs });
      let lost = false;
      const onLost = (err?: unknown) => {
        if (lost) return;
        lost = true;
        if (err !== undefined) this.#options.onError(err);
        if (this.#client === client) {
          this.#client = undefined;
          this.#listening = false;
        }
        client.end().catch(() => {});
        this.#scheduleReconnect();
      };
      client.on('error', onLost);
      client.on('end', () => onLost());
      client.on('notification', (msg) => {
        if (msg.channel !== this.#options.channel || msg.payload === undefined) return;
        const colon = msg.payload.indexOf(':');
        const version = Number(msg.payload.slice(0, colon));
        if (colon < 1 || !Number.isSafeInteger(version)) return;
        this.notifications++;
        this.#options.onEvent({ type: 'change', userId: msg.payload.slice(colon + 1), version });
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${this.#options.channel}`);
      } catch (err) {
        lost = true; // this attempt is over either way; the caller decides about retrying
        client.end().catch(() => {});
        throw err;
      }
      if (this.#stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.#client = client;
      this.#listening = true;
      this.#delay = this.#options.reconnectDelayMs.min;
    })();
    this.#connecting = attempt;
    return attempt;
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#options.reconnectDelayMs.max);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      this.#connect().then(
        () => {
          if (this.#stopped) return;
          this.resyncs++;
          this.#options.onEvent({ type: 'resync' });
        },
        (err) => {
          this.#options.onError(err);
          this.#scheduleReconnect();
        },
      );
    }, delay);
    // A listener waiting to reconnect must not keep the process alive on its own.
    this.#timer.unref();
  }
}
