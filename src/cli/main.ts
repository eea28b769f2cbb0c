/**
 * `npm run cli -- <command>`: user management against the database the server uses (same
 * environment and `.env`). Wiring only: parse → configure → open and migrate → run → report.
 * See args.ts for the commands and exit codes.
 */
import { existsSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { checkPasswordPolicy } from '../auth/password-policy.ts';
import { createAuthService } from '../auth/service.ts';
import { type Config, ConfigError, loadConfig, parseBoolean } from '../config.ts';
import { connectDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrations/index.ts';
import { withDevSecretKey } from '../secret-key.ts';
import { announceSessionEnd, forgetMessages } from './announce.ts';
import { parseCliArgs, USAGE } from './args.ts';
import { type CommandResult, EXIT, runCommand } from './commands.ts';
import { PasswordInputError, readNewPassword } from './password-input.ts';

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok)
    return report({ code: EXIT.usage, stdout: [], stderr: [`Error: ${parsed.problem}`, '', USAGE] });
  const { command } = parsed;
  if (command.name === 'help') return report({ code: EXIT.ok, stdout: [USAGE], stderr: [] });

  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Config;
  try {
    // The server's development key (DEBUG without SECRET_KEY), so both use one Redis namespace.
    config = loadConfig(withDevSecretKey(process.env, parseBoolean(process.env.DEBUG ?? '') ?? true));
  } catch (error) {
    const message =
      error instanceof ConfigError ? error.message : `Cannot read the development key: ${error}`;
    return report({ code: EXIT.environment, stdout: [], stderr: [message] });
  }

  let handle: DatabaseHandle;
  try {
    handle = connectDatabase(config.databaseUrl);
    await migrateToLatest(handle.db as Kysely<unknown>, handle.dialect);
  } catch (error) {
    return report({
      code: EXIT.environment,
      stdout: [],
      stderr: [`Cannot open the database: ${describe(error)}`],
    });
  }
  try {
    const result = await runCommand(command, {
      auth: createAuthService(handle.db, config),
      checkPassword: (password, username) =>
        checkPasswordPolicy(password, { username, minLength: config.passwordMinLength }),
      readPassword: (prompt) => readNewPassword(prompt),
      announceSessionEnd: (username, reason) => announceSessionEnd(config, username, reason),
      forgetMessages: (username) => forgetMessages(config, handle, username),
    });
    return report(result);
  } catch (error) {
    if (error instanceof PasswordInputError)
      return report({ code: EXIT.usage, stdout: [], stderr: [error.message] });
    return report({ code: EXIT.environment, stdout: [], stderr: [`Failed: ${describe(error)}`] });
  } finally {
    await handle.db.destroy();
  }
}

function report(result: CommandResult): number {
  for (const line of result.stdout) process.stdout.write(`${line}\n`);
  for (const line of result.stderr) process.stderr.write(`${line}\n`);
  return result.code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; should a client library still hold a handle (a Redis reconnect
// timer), a one-shot command must end anyway. unref: this timer alone keeps nothing alive.
setTimeout(() => process.exit(code), 1000).unref();
