// Smoke test: the BUNDLED extension (dist/extension.js) with a stub `vscode` module and the real
// vscode-languageclient inside it starts the REAL `ksql lsp` (KSQL_COMMAND, else `ksql` on PATH)
// with the test data as sources, and answers through the client. It fails if the server cannot start.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const extensionRoot = path.resolve(here, '..');
const data = path.resolve(extensionRoot, '../../tests/data');
const ksql = process.env.KSQL_COMMAND || 'ksql';
const TIMEOUT = 60_000;

const { vscode, stub, textDocument, loadExtension } = require('./support/load.cjs');

let extension;
let api;
const pids = []; // every server the tests started

async function until(what, predicate, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; missing from the vscode stub: ${[...stub.missing].join(', ') || 'nothing'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function output() {
  return stub.outputChannels.map((c) => c.text()).join('');
}

before(() => {
  stub.config['ksql.server.command'] = [ksql, 'lsp'];
  stub.config['ksql.sources'] = [
    path.join(data, 'System.map-6.1-excerpt'),
    path.join(data, 'Module.symvers-6.1-excerpt'),
  ];
  stub.config['ksql.trace.server'] = 'off';
  extension = loadExtension();
});

after(async () => {
  if (extension) await extension.deactivate();
});

test('activate starts ksql lsp and the status bar goes from loading to the catalog size', { timeout: TIMEOUT }, async () => {
  const context = { subscriptions: [], extensionPath: extensionRoot, extensionUri: vscode.Uri.file(extensionRoot) };
  api = extension.activate(context);
  assert.deepEqual([...stub.commands.keys()].sort(), ['ksql.restart', 'ksql.runQuery']);
  const [item] = stub.statusItems;
  assert.match(item.text, /ksql: loading…/);
  assert.ok(item.visible);

  const client = await until('the client to run', () => {
    if (item.text.startsWith('$(error)')) {
      throw new Error(`ksql lsp did not start (KSQL_COMMAND=${ksql}): ${item.tooltip}\n${output()}`);
    }
    const c = api.client();
    return c && c.isRunning() ? c : undefined;
  });
  const size = await until('the catalog size in the status bar', () => /^ksql: [\d,]+ symbols$/.test(item.text) && item.text);
  assert.ok(Number(size.match(/([\d,]+)/)[1].replace(/,/g, '')) > 0, size);
  assert.deepEqual(stub.progress, ['ksql: loading kernel symbols'], 'the work-done progress of the load');
  await until('the server log line', () => /ksql: [\d,]+ symbols from 2 sources/.test(output()));
  assert.ok(context.subscriptions.length > 0);

  // Exactly the options the extension gives: the configured command, no --stdio appended.
  const spawned = client._serverProcess;
  assert.ok(spawned && spawned.pid, 'a server process');
  pids.push(spawned.pid);
  assert.deepEqual(spawned.spawnargs, [ksql, 'lsp']);
  assert.equal(client.initializeResult.serverInfo.name, 'ksql');
  assert.deepEqual(client.initializeResult.capabilities.executeCommandProvider?.commands ?? [], []);
});

/** The running client, or fail at once (when the first test could not start it). */
function running() {
  const client = api?.client();
  assert.ok(client?.isRunning(), 'the language client is not running');
  return client;
}

test('workspace/symbol through the client', { timeout: TIMEOUT }, async () => {
  const client = running();
  const result = await client.sendRequest('workspace/symbol', { query: 'jiffies' });
  assert.ok(result.some((s) => s.name === 'jiffies'), JSON.stringify(result));
});

test('ksql: Run query shows the matching symbols and copies the one picked', { timeout: TIMEOUT }, async () => {
  running();
  let shown;
  stub.inputBox = () => 'gpl and name=dma_buf*';
  stub.quickPick = (items, options) => {
    shown = { items, options };
    return items[0];
  };
  await vscode.commands.executeCommand('ksql.runQuery');
  assert.deepEqual(shown.items.map((i) => i.label), ['dma_buf_export']);
  assert.match(shown.items[0].description, /EXPORT_SYMBOL_GPL/);
  assert.match(shown.options.title, /1 symbol for gpl and name=dma_buf\*/);
  assert.equal(stub.clipboard, 'dma_buf_export');
});

test('an opened C file gets diagnostics and hovers through the client', { timeout: TIMEOUT }, async () => {
  running();
  const file = path.join(data, 'lsp', 'unexported.c');
  const text = readFileSync(file, 'utf8');
  const doc = textDocument(vscode.Uri.file(file), 'c', text);
  stub.textDocuments.push(doc);
  stub.onDidOpenTextDocument.fire(doc);

  const diagnostics = await until('diagnostics', () => stub.diagnostics.get(doc.uri.toString())?.length && stub.diagnostics.get(doc.uri.toString()));
  const notExported = diagnostics.find((d) => d.code === 'not-exported' || d.code?.value === 'not-exported');
  assert.ok(notExported, JSON.stringify(diagnostics));
  assert.match(notExported.message, /kallsyms_lookup_name/);

  const hovers = stub.providers.filter(([kind]) => kind === 'HoverProvider');
  assert.equal(hovers.length, 1);
  const line = text.split('\n').findIndex((l) => l.includes('kallsyms_lookup_name'));
  const character = text.split('\n')[line].indexOf('kallsyms_lookup_name') + 3;
  const token = new vscode.CancellationTokenSource().token;
  const hover = await hovers[0][2].provideHover(doc, new vscode.Position(line, character), token);
  const contents = hover.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
  assert.match(contents, /kallsyms_lookup_name/);
});

test('ksql.restart starts a new server', { timeout: TIMEOUT }, async () => {
  const before = running();
  const oldPid = before._serverProcess.pid;
  await vscode.commands.executeCommand('ksql.restart');
  const client = api.client();
  assert.notEqual(client, before);
  assert.ok(client.isRunning());
  assert.notEqual(client._serverProcess.pid, oldPid);
  pids.push(client._serverProcess.pid);
  await until('the catalog size after the restart', () => /^ksql: [\d,]+ symbols$/.test(stub.statusItems[0].text));
});

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('deactivate stops every server the tests started', { timeout: TIMEOUT }, async () => {
  assert.equal(pids.length, 2);
  await extension.deactivate();
  extension = undefined;
  assert.equal(api.client(), undefined);
  assert.equal(stub.statusItems[0].text, 'ksql: stopped');
  await until('the servers to exit', () => pids.every((pid) => !alive(pid)), 10_000);
});

test('the vscode stub had all the client asked for', () => {
  assert.deepEqual([...stub.missing], []);
});
