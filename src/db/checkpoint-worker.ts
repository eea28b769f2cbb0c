/**
 * The WAL checkpointer of one SQLite file, on its own thread (see `openSqlite`): copies committed
 * pages from the write-ahead log into the database and fsyncs it whenever asked, so the thread
 * that serves requests never does. PASSIVE: it takes no lock a reader or writer waits for.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const database = new DatabaseSync((workerData as { filename: string }).filename);
database.exec('PRAGMA busy_timeout = 5000');

parentPort?.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    database.close();
    parentPort?.close();
    return;
  }
  try {
    database.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the next request tries again, and the WAL stays correct meanwhile.
  }
});
