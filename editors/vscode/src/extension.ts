import * as vscode from 'vscode';
import {
  LanguageClient,
  LogMessageNotification,
  MessageType,
  WorkspaceSymbolRequest,
  type LogMessageParams,
} from 'vscode-languageclient/node';
import { clientOptions, parseSettings, serveConfiguration, serverOptions, type Settings } from './config';
import { queryItems } from './query';
import { Status } from './status';

/** What `activate` returns (the extension's API; the smoke test uses it). */
export interface KsqlApi {
  client(): LanguageClient | undefined;
  status: Status;
}

let client: LanguageClient | undefined;
let starting: Promise<void> | undefined;
let output: vscode.OutputChannel | undefined;
let status: Status | undefined;

export function activate(context: vscode.ExtensionContext): KsqlApi {
  output = vscode.window.createOutputChannel('ksql');
  status = new Status();
  context.subscriptions.push(
    output,
    status,
    // Only the extension's own commands: the server advertises none (registering one twice throws).
    vscode.commands.registerCommand('ksql.runQuery', runQuery),
    vscode.commands.registerCommand('ksql.restart', restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('ksql.server') || e.affectsConfiguration('ksql.sources')) {
        void restart();
      }
    }),
  );
  starting = start();
  return { client: () => client, status };
}

export async function deactivate(): Promise<void> {
  await stop();
}

function readSettings(): Settings {
  const config = vscode.workspace.getConfiguration('ksql');
  return parseSettings({ command: config.get('server.command'), sources: config.get('sources') });
}

function createClient(settings: Settings, out: vscode.OutputChannel, bar: Status): LanguageClient {
  const created = new LanguageClient('ksql', 'ksql', serverOptions(settings), {
    ...clientOptions(settings),
    outputChannel: out,
    middleware: {
      handleWorkDoneProgress: (token, params, next) => {
        bar.progress(params);
        next(token, params);
      },
      workspace: {
        configuration: async (params, token, next) => {
          const results = await next(params, token);
          return Array.isArray(results) ? serveConfiguration(params.items, results, settings) : results;
        },
      },
    },
  });
  // Replaces the client's own window/logMessage handler, so log the message as it would.
  created.onNotification(LogMessageNotification.type, (params: LogMessageParams) => {
    bar.log(params.message);
    logMessage(created, params);
  });
  return created;
}

function logMessage(to: LanguageClient, { type, message }: LogMessageParams): void {
  switch (type) {
    case MessageType.Error:
      to.error(message, undefined, false);
      break;
    case MessageType.Warning:
      to.warn(message, undefined, false);
      break;
    case MessageType.Info:
      to.info(message, undefined, false);
      break;
    default:
      to.outputChannel.appendLine(message);
  }
}

async function start(): Promise<void> {
  if (output === undefined || status === undefined) {
    return;
  }
  const settings = readSettings();
  for (const problem of settings.problems) {
    void vscode.window.showWarningMessage(problem);
  }
  const bar = status;
  client = createClient(settings, output, bar);
  bar.loading();
  try {
    await client.start();
  } catch (error) {
    // The client has already said why in the output channel and a message.
    bar.failed(`could not start "${settings.command.join(' ')}": ${String(error)}`);
  }
}

async function stop(): Promise<void> {
  await starting?.catch(() => undefined);
  const old = client;
  client = undefined;
  try {
    await old?.dispose(); // stops the server (shutdown, exit, then a kill if it lingers)
  } catch (error) {
    output?.appendLine(`ksql: stopping the server failed: ${String(error)}`);
  }
  status?.stopped();
}

async function restart(): Promise<void> {
  await stop();
  starting = start();
  await starting;
}

async function runQuery(): Promise<void> {
  const query = await vscode.window.showInputBox({
    title: 'ksql: Run query',
    prompt: 'A ksql query, or a name prefix',
    placeHolder: 'gpl and name=dma_buf*',
  });
  if (query === undefined || query.trim() === '') {
    return;
  }
  await starting;
  if (client === undefined || !client.isRunning()) {
    void vscode.window.showWarningMessage('ksql: the language server is not running');
    return;
  }
  const items = queryItems(await client.sendRequest(WorkspaceSymbolRequest.type, { query }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`ksql: no symbol matches ${query}`);
    return;
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: `ksql: ${items.length} symbol${items.length === 1 ? '' : 's'} for ${query}`,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (picked !== undefined) {
    await vscode.env.clipboard.writeText(picked.label);
    vscode.window.setStatusBarMessage(`ksql: copied ${picked.label}`, 3000);
  }
}
