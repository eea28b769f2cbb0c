import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { buildApp } from './app.ts';
import { runPrimary } from './cluster.ts';
import { ConfigError, loadConfig, parseBoolean } from './config.ts';
import { createProcessLogger } from './logging.ts';
import { serveClusterMetrics } from './metrics/cluster-metrics.ts';
import { DEV_SECRET_KEY_FILE, startupWarnings, withDevSecretKey } from './secret-key.ts';
import { ServiceUnavailableError } from './service-unavailable.ts';

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
  if (config.metricsApiKey !== null) serveClusterMetrics(log);
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
