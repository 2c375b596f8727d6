/**
 * Settings → language client options, with no `vscode` import so that node's test runner can
 * load it: everything here is pure and unit-tested (test/config.test.mjs).
 */
import type { ConfigurationItem, Executable, LanguageClientOptions } from 'vscode-languageclient/node';

export const DEFAULT_COMMAND: readonly string[] = ['ksql', 'lsp'];

/** What `ksql.*` settings the extension reads (as `workspace.getConfiguration('ksql')` gives them). */
export interface RawSettings {
  command?: unknown;
  sources?: unknown;
}

export interface Settings {
  command: string[];
  sources: string[];
  /** Settings that were ignored, as messages to show once. */
  problems: string[];
}

/** `ksql.server.command`: an array (`["/path/to/.venv/bin/ksql", "lsp"]`) or one string split on spaces. */
export function parseCommand(value: unknown): { command: string[]; problem?: string } {
  if (value === undefined || value === null) {
    return { command: [...DEFAULT_COMMAND] };
  }
  let words: string[] | undefined;
  if (typeof value === 'string') {
    words = value.trim().split(/\s+/).filter((w) => w.length > 0);
  } else if (Array.isArray(value) && value.every((w) => typeof w === 'string')) {
    words = value;
  }
  if (words === undefined) {
    return {
      command: [...DEFAULT_COMMAND],
      problem: `ksql.server.command must be an array of strings or a string, not ${describe(value)}`,
    };
  }
  if (words.length === 0 || words[0].trim() === '') {
    return { command: [...DEFAULT_COMMAND] };
  }
  return { command: [...words] };
}

/** `ksql.sources`: a list of source specs (one string is taken as a list of one). */
export function parseSources(value: unknown): { sources: string[]; problem?: string } {
  if (value === undefined || value === null) {
    return { sources: [] };
  }
  if (typeof value === 'string') {
    return { sources: value.trim() === '' ? [] : [value] };
  }
  if (Array.isArray(value)) {
    const sources = value.filter((s): s is string => typeof s === 'string' && s.trim() !== '');
    const problem =
      sources.length === value.length ? undefined : 'ksql.sources: entries that are not paths were ignored';
    return { sources, problem };
  }
  return { sources: [], problem: `ksql.sources must be an array of paths, not ${describe(value)}` };
}

export function parseSettings(raw: RawSettings): Settings {
  const command = parseCommand(raw.command);
  const sources = parseSources(raw.sources);
  const problems = [command.problem, sources.problem].filter((p): p is string => p !== undefined);
  return { command: command.command, sources: sources.sources, problems };
}

/**
 * How to start the server. No `transport`: with `TransportKind.stdio` the client would append
 * `--stdio` to the arguments; ksql talks stdio by default, and a wrapper command need not know
 * that flag. The client spawns `command` with `args` exactly as configured.
 */
export function serverOptions(settings: Settings): Executable {
  const [command, ...args] = settings.command;
  return { command, args };
}

/** The languages ksql serves: C, and C++ because editors often type `.h` files as C++. */
export const LANGUAGES: readonly string[] = ['c', 'cpp'];

export function clientOptions(settings: Settings): LanguageClientOptions {
  return {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
    initializationOptions: { sources: [...settings.sources] },
    diagnosticCollectionName: 'ksql',
  };
}

/**
 * The answer to `workspace/configuration`: section `ksql` carries the validated `sources`
 * (the server asks only when it got no initializationOptions.sources).
 */
export function serveConfiguration(
  items: readonly ConfigurationItem[],
  results: readonly unknown[],
  settings: Settings,
): unknown[] {
  return items.map((item, i) => {
    const result = results[i];
    if (item.section !== 'ksql') {
      return result;
    }
    const base = typeof result === 'object' && result !== null && !Array.isArray(result) ? result : {};
    return { ...base, sources: [...settings.sources] };
  });
}

/** "N symbols" in the server's log line (`ksql: 1,234 symbols from 3 sources`) or progress end message. */
export function catalogSize(message: string | undefined): string | undefined {
  const m = /(?:^|\s)([\d,]+) symbols\b/.exec(message ?? '');
  return m ? `${m[1]} symbols` : undefined;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) {
    return 'an array with non-string entries';
  }
  return typeof value;
}
