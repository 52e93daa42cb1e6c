/**
 * One app for a whole test file: started before the file's tests, and after them every tab or
 * client the tests opened is closed, then the app stops and its data dir is removed.
 */
import { after, before } from 'node:test';
import type { TodoApp } from '../../src/web/app.js';
import { type StartAppOptions, type StartedApp, startApp } from './start-app.js';
import { TodoTab } from './todo-tab.js';

interface Closable {
  close(): Promise<unknown>;
}

export interface SharedApp {
  readonly url: string;
  readonly app: TodoApp;
  readonly dataDir: string;
  /** Closes `c` after the file's tests; returns it. */
  track<T extends Closable>(c: T): T;
  /** A fresh browser (its own user) on `path`, closed after the file's tests. */
  open(path?: string): Promise<TodoTab>;
}

/** Registers the file's `before`/`after` hooks; call it at the top level of a test file. */
export function useSharedApp(options: StartAppOptions = {}): SharedApp {
  let started: StartedApp | undefined;
  const opened: Closable[] = [];
  const current = (): StartedApp => {
    if (started === undefined) throw new Error('the shared app is used before its before() hook started it');
    return started;
  };
  before(async () => {
    started = await startApp(options);
  });
  after(async () => {
    await Promise.all(opened.map((c) => c.close().catch(() => {})));
    if (started === undefined) return;
    await started.stop();
    started.remove();
  });
  const shared: SharedApp = {
    get url() {
      return current().url;
    },
    get app() {
      return current().app;
    },
    get dataDir() {
      return current().dataDir;
    },
    track(c) {
      opened.push(c);
      return c;
    },
    async open(path = '/') {
      return shared.track(await TodoTab.open(current().url, path));
    },
  };
  return shared;
}
