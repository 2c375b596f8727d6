/** Results of `ksql: Run query` (a workspace/symbol request) as QuickPick items; no `vscode` import. */
import type { SymbolInformation, WorkspaceSymbol } from 'vscode-languageclient/node';

export interface QueryItem {
  label: string;
  description: string;
  detail: string;
}

const KINDS: Partial<Record<number, string>> = { 12: 'function', 13: 'variable' };

export function queryItems(result: readonly (SymbolInformation | WorkspaceSymbol)[] | null | undefined): QueryItem[] {
  return (result ?? []).map((sym) => ({
    label: sym.name,
    description: [KINDS[sym.kind] ?? 'symbol', sym.containerName].filter(Boolean).join(' · '),
    detail: fsPath(sym.location.uri),
  }));
}

function fsPath(uri: string): string {
  if (!uri.startsWith('file://')) {
    return uri;
  }
  try {
    return decodeURIComponent(new URL(uri).pathname);
  } catch {
    return uri;
  }
}
