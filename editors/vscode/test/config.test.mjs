// Unit tests of the pure settings → client options logic (src/config.ts, src/query.ts, built to out/).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const config = require('../out/config.js');
const { queryItems } = require('../out/query.js');

test('the default command is ksql lsp', () => {
  assert.deepEqual(config.parseCommand(undefined), { command: ['ksql', 'lsp'] });
  assert.deepEqual(config.parseCommand(null), { command: ['ksql', 'lsp'] });
  assert.deepEqual(config.parseCommand([]), { command: ['ksql', 'lsp'] });
  assert.deepEqual(config.parseCommand('   '), { command: ['ksql', 'lsp'] });
});

test('a command is an array or a string split on spaces', () => {
  assert.deepEqual(config.parseCommand(['python3', '-m', 'ksql', 'lsp']).command, ['python3', '-m', 'ksql', 'lsp']);
  assert.deepEqual(config.parseCommand(['/opt/my venv/bin/ksql', 'lsp']).command, ['/opt/my venv/bin/ksql', 'lsp']);
  assert.deepEqual(config.parseCommand('  /venv/bin/ksql   lsp ').command, ['/venv/bin/ksql', 'lsp']);
});

test('a command of the wrong type falls back to the default, with a problem', () => {
  for (const bad of [42, { command: 'ksql' }, ['ksql', 3]]) {
    const parsed = config.parseCommand(bad);
    assert.deepEqual(parsed.command, ['ksql', 'lsp']);
    assert.match(parsed.problem, /ksql\.server\.command must be/);
  }
});

test('sources are a list of strings', () => {
  assert.deepEqual(config.parseSources(undefined), { sources: [] });
  assert.deepEqual(config.parseSources(['a', 'b']), { sources: ['a', 'b'], problem: undefined });
  assert.deepEqual(config.parseSources('/boot/System.map'), { sources: ['/boot/System.map'] });
  const mixed = config.parseSources(['a', 7, '', 'b']);
  assert.deepEqual(mixed.sources, ['a', 'b']);
  assert.match(mixed.problem, /ignored/);
  assert.match(config.parseSources({ a: 1 }).problem, /must be an array/);
});

test('parseSettings gathers the problems', () => {
  const s = config.parseSettings({ command: 1, sources: 2 });
  assert.deepEqual(s.command, ['ksql', 'lsp']);
  assert.deepEqual(s.sources, []);
  assert.equal(s.problems.length, 2);
  assert.deepEqual(config.parseSettings({}).problems, []);
});

test('server options run the command as given, without a transport (no --stdio appended)', () => {
  const s = config.parseSettings({ command: ['/venv/bin/ksql', 'lsp', '--log-file', '/tmp/l'] });
  const server = config.serverOptions(s);
  assert.deepEqual(server, { command: '/venv/bin/ksql', args: ['lsp', '--log-file', '/tmp/l'] });
  assert.equal('transport' in server, false);
  assert.deepEqual(config.serverOptions(config.parseSettings({})), { command: 'ksql', args: ['lsp'] });
});

test('client options select C and C++ and pass sources as initializationOptions', () => {
  const s = config.parseSettings({ sources: ['/x/Module.symvers', '/x/System.map'] });
  const options = config.clientOptions(s);
  assert.deepEqual(options.initializationOptions, { sources: ['/x/Module.symvers', '/x/System.map'] });
  const languages = new Set(options.documentSelector.map((f) => f.language));
  assert.deepEqual([...languages].sort(), ['c', 'cpp']);
  assert.ok(options.documentSelector.some((f) => f.scheme === 'file' && f.language === 'c'));
  assert.equal(options.diagnosticCollectionName, 'ksql');
  // The options hold a copy: editing them does not edit the settings.
  options.initializationOptions.sources.push('y');
  assert.deepEqual(s.sources, ['/x/Module.symvers', '/x/System.map']);
});

test('workspace/configuration section ksql carries the sources; other sections pass through', () => {
  const s = config.parseSettings({ sources: ['a'] });
  const items = [{ section: 'ksql' }, { section: 'C_Cpp' }, { section: 'ksql' }];
  const results = [{ sources: 'not-a-list', trace: { server: 'off' } }, { x: 1 }, null];
  assert.deepEqual(config.serveConfiguration(items, results, s), [
    { sources: ['a'], trace: { server: 'off' } },
    { x: 1 },
    { sources: ['a'] },
  ]);
});

test('catalogSize reads the log line and the progress end message', () => {
  assert.equal(config.catalogSize('ksql: 1,234 symbols from 3 sources'), '1,234 symbols');
  assert.equal(config.catalogSize('23 symbols'), '23 symbols');
  assert.equal(config.catalogSize('ksql: loading kernel symbols'), undefined);
  assert.equal(config.catalogSize(undefined), undefined);
});

test('query results become QuickPick items', () => {
  const items = queryItems([
    { name: 'jiffies', kind: 13, containerName: 'vmlinux · EXPORT_SYMBOL', location: { uri: 'file:///x/Module.symvers' } },
    { name: 'f', kind: 12, location: { uri: 'file:///a%20b/System.map' } },
  ]);
  assert.deepEqual(items, [
    { label: 'jiffies', description: 'variable · vmlinux · EXPORT_SYMBOL', detail: '/x/Module.symvers' },
    { label: 'f', description: 'function', detail: '/a b/System.map' },
  ]);
  assert.deepEqual(queryItems(null), []);
});
