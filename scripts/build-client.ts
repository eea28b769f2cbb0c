/**
 * Bundles the browser code (src/client) into public/: SSEXI.js as `ssexi.js` (readable IIFE) and
 * `ssexi.min.js`, the optional morph extension `ssexi-morph.js` / `.min.js`, and the app's page
 * script `app.js` / `.min.js`, each with a source map. Runs on `npm install` and `npm start`;
 * `node scripts/build-client.ts` by hand; `npm run dev` rebuilds on change (scripts/dev.ts).
 * Tests import `buildClient` to bundle in memory.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type OutputFile } from 'esbuild';

const ROOT = new URL('../', import.meta.url);

/** Entry points under src/client → output base names. */
export const BUNDLES = {
  ssexi: 'src/client/ssexi.ts',
  'ssexi-morph': 'src/client/morph.ts',
  // The app's own page behaviour (theme, connection indicator, toasts, form feedback).
  app: 'src/client/ui/main.ts',
} as const;

const COMMON: BuildOptions = {
  absWorkingDir: fileURLToPath(ROOT),
  bundle: true,
  format: 'iife',
  // Browsers with fetch streams, Web Locks, TextDecoderStream and FormData(form, submitter).
  target: ['chrome112', 'firefox111', 'safari16.4'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

/** The esbuild options of every output file: each bundle, plain and minified. */
export function bundleOptions(write = true): BuildOptions[] {
  return Object.entries(BUNDLES).flatMap(([name, entry]) =>
    [false, true].map((minify) => ({
      ...COMMON,
      entryPoints: [entry],
      outfile: `public/${name}${minify ? '.min' : ''}.js`,
      minify,
      write,
    })),
  );
}

/**
 * Builds every bundle, plain and minified. With `write: false` nothing touches the disk and the
 * files come back in memory (their `path` still points into public/).
 */
export async function buildClient(write = true): Promise<OutputFile[]> {
  const results = await Promise.all(bundleOptions(write).map((options) => build(options)));
  return results.flatMap((result) => result.outputFiles ?? []);
}

/** Minified + gzipped size of a built file, as the size budget counts it. */
export function gzipSize(contents: Uint8Array): number {
  return gzipSync(contents, { level: 9 }).length;
}

if (import.meta.main) {
  const files = await buildClient(false);
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(new URL('public/', ROOT), { recursive: true });
  await Promise.all(files.map((file) => writeFile(file.path, file.contents)));
  const core = files.find((file) => file.path.endsWith('/ssexi.min.js'));
  if (core)
    console.log(`SSEXI.js built: ssexi.min.js ${core.contents.length} B, ${gzipSize(core.contents)} B gzip`);
}
