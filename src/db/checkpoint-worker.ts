/**
 * The WAL checkpointer of one SQLite file, on its own thread (see `openSqlite`): copies committed
 * pages from the write-ahead log into the database and fsyncs it whenever asked, so the thread
 * that serves requests never does. PASSIVE: it takes no lock a reader or writer waits for.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

let database: DatabaseSync | null = null;
try {
  database = new DatabaseSync((workerData as { filename: string }).filename);
  database.exec('PRAGMA busy_timeout = 5000');
} catch {
  // The file went away (the app closed, its folder was removed) before this thread started.
  database = null;
}

parentPort?.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close' || database === null) {
    database?.close();
    database = null;
    parentPort?.close();
    return;
  }
  try {
    database.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the next request tries again, and the WAL stays correct meanwhile.
  }
});
