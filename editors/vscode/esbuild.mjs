// The extension as one file, dist/extension.js (vscode-languageclient bundled, `vscode` left to
// the host), and the pure modules as out/*.js for the unit tests.
import * as esbuild from 'esbuild';

const common = { platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' };

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ['src/extension.ts'],
    bundle: true,
    external: ['vscode'],
    outfile: 'dist/extension.js',
    sourcemap: true,
    minify: process.argv.includes('--minify'),
  }),
  esbuild.build({ ...common, entryPoints: ['src/config.ts', 'src/query.ts'], outdir: 'out' }),
]);
