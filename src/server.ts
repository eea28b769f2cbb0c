import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Node's compile cache: the JavaScript that type stripping makes of each .ts file, and V8's
 * compiled code of every module, kept on disk so that a restart neither strips nor compiles
 * again. Enabled before any of the app's modules load (they are imported below, not at the top,
 * for that reason). The folder is the project's own `node_modules/.cache` (git-ignored, owned
 * like node_modules — never a shared temporary folder, whose entries another user could plant);
 * NODE_COMPILE_CACHE, when set, has already enabled it and wins, and NODE_DISABLE_COMPILE_CACHE=1
 * turns it off. A folder that cannot be written just means no cache. `npm start` and the
 * Dockerfile set NODE_COMPILE_CACHE too, so that this file itself comes from the cache and the
 * type stripper (a WebAssembly module: ~17 MB) is never loaded on a restart.
 */
enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/node-compile-cache', import.meta.url)));

const { buildApp } = await import('./app.ts');
const { runPrimary } = await import('./cluster.ts');
const { ConfigError, loadConfig, parseBoolean } = await import('./config.ts');
const { createProcessLogger } = await import('./logging.ts');
const { DEV_SECRET_KEY_FILE, startupWarnings, withDevSecretKey } = await import('./secret-key.ts');
const { ServiceUnavailableError } = await import('./service-unavailable.ts');

/** Shutdown never takes longer than this: the process exits anyway (code 1). */
const SHUTDOWN_LIMIT_MS = 10_000;

if (existsSync('.env')) process.loadEnvFile('.env');

let config: ReturnType<typeof loadConfig>;
try {
  // DEBUG without SECRET_KEY: the key generated into .dev-secret-key on first start.
  const env = withDevSecretKey(process.env, parseBoolean(process.env.DEBUG ?? '') ?? true);
  config = loadConfig(env);
} catch (error) {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Cannot read or create ${DEV_SECRET_KEY_FILE}: ${error}. Set SECRET_KEY instead.`);
  process.exit(1);
}

if (config.workers > 1 && cluster.isPrimary) {
  const log = createProcessLogger(config);
  if (config.metricsApiKey !== null) (await import('./metrics/cluster-metrics.ts')).serveClusterMetrics(log);
  runPrimary(config.workers, log);
} else {
  await serve();
}

async function serve() {
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(config);
  } catch (err) {
    // Most often the database or Redis is not there yet. One line that says which, for the
    // operator; the process manager (or the cluster primary, with back-off) starts it again.
    const log = createProcessLogger(config);
    log.fatal({ err }, 'could not start');
    log.flush();
    console.error(`Cannot start: ${startFailure(err)}`);
    process.exit(1);
  }

  /**
   * SIGTERM/SIGINT: stop accepting connections, end every event stream (clients reconnect — to
   * another instance — and resume from their last id), close the remaining sockets, wait for
   * publishes in flight, close the bus, log and database, and exit 0. `server.close()` alone would
   * wait for open streams forever, so the events plugin ends them in `preClose`. The process exits
   * after SHUTDOWN_LIMIT_MS whatever happens (code 1); a second signal exits at once — except in a
   * cluster worker, which gets Ctrl-C from the terminal *and* SIGTERM from its primary, and whose
   * primary enforces its own limit.
   */
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      if (cluster.isWorker) return;
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const limit = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    limit.unref();
    app.close().then(
      () => {
        app.log.info('shut down cleanly');
        process.exitCode = 0;
        // Let stdout flush; every handle is closed, so the process ends on its own — or here.
        setTimeout(() => process.exit(0), 100).unref();
      },
      (err: unknown) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
    // Every module the app needs has loaded: store what the cache lacks now, not only at exit
    // (a process that is killed never gets there).
    flushCompileCache();
    for (const warning of startupWarnings(config)) {
      app.log.warn(warning);
      console.error(`\n  WARNING: ${warning}\n`);
    }
  } catch (err) {
    app.log.error({ err }, 'could not start');
    process.exit(1);
  }
}

/** What stopped start-up, in one line naming the variable to check. */
function startFailure(err: unknown): string {
  if (err instanceof ServiceUnavailableError) {
    const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
    return err.dependency === 'database'
      ? `the database (DATABASE_URL) does not answer: ${cause}`
      : `Redis (REDIS_URL) does not answer: ${cause}`;
  }
  return err instanceof Error ? err.message : String(err);
}
