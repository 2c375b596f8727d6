import * as vscode from 'vscode';
import type { WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from 'vscode-languageclient/node';
import { catalogSize } from './config';

/** The status-bar item: "ksql: loading…" while the catalog loads, then "ksql: N symbols". */
export class Status implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('ksql.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'ksql';
    this.item.command = 'ksql.runQuery';
    this.stopped();
  }

  get text(): string {
    return this.item.text;
  }

  loading(): void {
    this.set('$(sync~spin) ksql: loading…', 'ksql: loading kernel symbols');
  }

  ready(size: string): void {
    this.set(`ksql: ${size}`, `ksql: ${size} loaded — click to run a query`);
  }

  failed(reason: string): void {
    this.set('$(error) ksql', `ksql: ${reason} — run "ksql: Restart language server" to try again`);
  }

  stopped(): void {
    this.set('ksql: stopped', 'ksql: the language server is not running');
  }

  /** The server's work-done progress for the catalog load (begin … end "N symbols"). */
  progress(params: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void {
    if (params.kind === 'begin') {
      this.loading();
    } else if (params.kind === 'end') {
      const size = catalogSize(params.message);
      if (size !== undefined) {
        this.ready(size);
      }
    }
  }

  /** The server's log line "ksql: N symbols from M sources" (sent with or without progress). */
  log(message: string): void {
    const size = message.startsWith('ksql: ') ? catalogSize(message) : undefined;
    if (size !== undefined) {
      this.ready(size);
    }
  }

  dispose(): void {
    this.item.dispose();
  }

  private set(text: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.show();
  }
}
