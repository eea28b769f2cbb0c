/**
 * DATABASE_URL → connection target. Accepts the SQLAlchemy forms the Python template documents,
 * so an existing `.env` keeps working: `sqlite:///relative.db`, `sqlite:////abs/path.db`,
 * `sqlite:///:memory:`, `postgres://…`, `postgresql://…` and `postgresql+psycopg2://…`.
 */

export type DatabaseTarget =
  | { dialect: 'sqlite'; filename: string }
  | { dialect: 'postgres'; connectionString: string };

/** Parses a database URL; throws a TypeError naming the accepted forms on anything else. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const sqlite = /^sqlite(?:\+\w+)?:\/\/(.*)$/i.exec(url);
  if (sqlite) {
    const rest = sqlite[1] ?? '';
    // SQLAlchemy: the path starts after the third slash, so `sqlite:////abs` is absolute.
    if (rest === '' || rest === '/:memory:' || rest === ':memory:')
      return { dialect: 'sqlite', filename: ':memory:' };
    if (!rest.startsWith('/')) throw new TypeError(`DATABASE_URL: expected sqlite:///path, got "${url}"`);
    const filename = decodeURIComponent(rest.slice(1).split('?')[0] ?? '');
    if (filename === '') throw new TypeError(`DATABASE_URL: missing SQLite file name in "${url}"`);
    return { dialect: 'sqlite', filename };
  }
  const pg = /^postgres(?:ql)?(?:\+\w+)?:\/\/(.*)$/i.exec(url);
  if (pg) return { dialect: 'postgres', connectionString: `postgresql://${pg[1]}` };
  throw new TypeError(`DATABASE_URL: unsupported URL "${url}" (use sqlite:///file.db or postgres://…)`);
}
