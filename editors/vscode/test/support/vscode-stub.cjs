'use strict';
// A stand-in for the `vscode` module: just what the extension and vscode-languageclient use
// to start a server, sync a document, show diagnostics and answer hovers. Tests drive it
// through `stub` (configuration, input boxes, quick picks) and read what the extension did.
// Names the code reads that this module lacks are listed in `stub.missing`.

const { fileURLToPath, pathToFileURL } = require('node:url');

class Disposable {
  static from(...items) {
    return new Disposable(() => items.forEach((d) => d && d.dispose && d.dispose()));
  }
  constructor(onDispose) {
    this._onDispose = onDispose;
  }
  dispose() {
    const f = this._onDispose;
    this._onDispose = undefined;
    if (f) f();
  }
}

class EventEmitter {
  constructor() {
    this._listeners = new Set();
    this.event = (listener, thisArg, disposables) => {
      const bound = thisArg ? listener.bind(thisArg) : listener;
      this._listeners.add(bound);
      const d = new Disposable(() => this._listeners.delete(bound));
      if (Array.isArray(disposables)) disposables.push(d);
      return d;
    };
  }
  fire(value) {
    for (const l of [...this._listeners]) l(value);
  }
  dispose() {
    this._listeners.clear();
  }
}
const noEvent = () => new EventEmitter().event;

class CancellationError extends Error {
  constructor() {
    super('Canceled');
    this.name = 'Canceled';
  }
}

class CancellationTokenSource {
  constructor() {
    this._emitter = new EventEmitter();
    const self = this;
    this.token = {
      isCancellationRequested: false,
      onCancellationRequested: self._emitter.event,
    };
  }
  cancel() {
    if (!this.token.isCancellationRequested) {
      this.token.isCancellationRequested = true;
      this._emitter.fire(undefined);
    }
  }
  dispose() {
    this._emitter.dispose();
  }
}

class Uri {
  constructor(scheme, authority, path, query, fragment) {
    Object.assign(this, { scheme, authority, path, query, fragment });
  }
  static parse(value) {
    const u = new URL(value);
    return new Uri(u.protocol.replace(/:$/, ''), u.host, decodeURIComponent(u.pathname), u.search.replace(/^\?/, ''), u.hash.replace(/^#/, ''));
  }
  static file(path) {
    return Uri.parse(pathToFileURL(path).href);
  }
  get fsPath() {
    return this.scheme === 'file' ? fileURLToPath(this.toString()) : this.path;
  }
  with(change) {
    const c = { ...this, ...change };
    return new Uri(c.scheme, c.authority, c.path, c.query, c.fragment);
  }
  toString() {
    if (this.scheme === 'file') return pathToFileURL(this.path).href;
    return `${this.scheme}:${this.authority ? '//' + this.authority : ''}${this.path}${this.query ? '?' + this.query : ''}${this.fragment ? '#' + this.fragment : ''}`;
  }
  toJSON() {
    return { scheme: this.scheme, path: this.path, external: this.toString() };
  }
}

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}
class Range {
  constructor(a, b, c, d) {
    if (typeof a === 'number') {
      this.start = new Position(a, b);
      this.end = new Position(c, d);
    } else {
      this.start = a;
      this.end = b;
    }
  }
  get isEmpty() {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}
class Location {
  constructor(uri, rangeOrPosition) {
    this.uri = uri;
    this.range = rangeOrPosition;
  }
}
class MarkdownString {
  constructor(value = '', supportThemeIcons = false) {
    this.value = value;
    this.supportThemeIcons = supportThemeIcons;
  }
  appendMarkdown(value) {
    this.value += value;
    return this;
  }
  appendText(value) {
    this.value += value;
    return this;
  }
  appendCodeblock(code, language = '') {
    this.value += `\n\`\`\`${language}\n${code}\n\`\`\`\n`;
    return this;
  }
}
class Hover {
  constructor(contents, range) {
    this.contents = Array.isArray(contents) ? contents : [contents];
    this.range = range;
  }
}
class Diagnostic {
  constructor(range, message, severity = 0) {
    Object.assign(this, { range, message, severity });
  }
}
class DiagnosticRelatedInformation {
  constructor(location, message) {
    Object.assign(this, { location, message });
  }
}
class CompletionItem {
  constructor(label, kind) {
    Object.assign(this, { label, kind });
  }
}
class CompletionList {
  constructor(items = [], isIncomplete = false) {
    Object.assign(this, { items, isIncomplete });
  }
}
class SymbolInformation {
  constructor(name, kind, containerName, location) {
    Object.assign(this, { name, kind, containerName, location });
  }
}
class TextEdit {
  constructor(range, newText) {
    Object.assign(this, { range, newText });
  }
  static insert(position, newText) {
    return new TextEdit(new Range(position, position), newText);
  }
  static replace(range, newText) {
    return new TextEdit(range, newText);
  }
}
class WorkspaceEdit {
  constructor() {
    this._edits = [];
  }
  set(uri, edits) {
    this._edits.push([uri, edits]);
  }
  replace(uri, range, newText) {
    this._edits.push([uri, [new TextEdit(range, newText)]]);
  }
  insert(uri, position, newText) {
    this.replace(uri, new Range(position, position), newText);
  }
  entries() {
    return this._edits;
  }
}
class CodeAction {
  constructor(title, kind) {
    Object.assign(this, { title, kind });
  }
}
class CodeActionKind {
  constructor(value) {
    this.value = value;
  }
  append(part) {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
  contains(other) {
    return this.value === other.value || other.value.startsWith(this.value + '.');
  }
  intersects(other) {
    return this.contains(other) || other.contains(this);
  }
}
CodeActionKind.Empty = new CodeActionKind('');
CodeActionKind.QuickFix = new CodeActionKind('quickfix');
CodeActionKind.Refactor = new CodeActionKind('refactor');
CodeActionKind.Source = new CodeActionKind('source');
CodeActionKind.SourceOrganizeImports = new CodeActionKind('source.organizeImports');
// Classes the client subclasses when it loads; these tests never build them.
const plain = (name) => ({ [name]: class {} })[name];

function enumOf(names, start = 0) {
  const e = {};
  names.forEach((n, i) => {
    e[n] = i + start;
    e[i + start] = n;
  });
  return e;
}

// -- what the tests set and read ----------------------------------------------------------------

const stub = {
  config: {}, // 'ksql.sources' → value
  commands: new Map(),
  outputChannels: [],
  statusItems: [],
  messages: [], // [level, text]
  inputBox: undefined, // (options) → value
  quickPick: undefined, // (items, options) → item
  clipboard: '',
  diagnostics: new Map(), // uri string → Diagnostic[]
  providers: [], // [kind, selector, provider]
  progress: [], // titles of window.withProgress
  missing: new Set(),
  onDidOpenTextDocument: new EventEmitter(),
  onDidCloseTextDocument: new EventEmitter(),
  onDidChangeTextDocument: new EventEmitter(),
  onDidChangeConfiguration: new EventEmitter(),
  textDocuments: [],
  workspaceFolders: undefined,
};

/** A read-only TextDocument over `text`. */
function textDocument(uri, languageId, text, version = 1) {
  const lines = text.split('\n');
  return {
    uri,
    fileName: uri.fsPath,
    languageId,
    version,
    isDirty: false,
    isClosed: false,
    isUntitled: uri.scheme === 'untitled',
    lineCount: lines.length,
    eol: 1,
    getText: () => text,
    lineAt: (line) => ({ text: lines[typeof line === 'number' ? line : line.line] }),
    offsetAt: (p) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character,
    positionAt(offset) {
      let line = 0;
      while (line < lines.length - 1 && offset > lines[line].length) {
        offset -= lines[line].length + 1;
        line += 1;
      }
      return new Position(line, offset);
    },
    getWordRangeAtPosition(p) {
      const l = lines[p.line];
      let s = p.character;
      let e = p.character;
      while (s > 0 && /\w/.test(l[s - 1])) s--;
      while (e < l.length && /\w/.test(l[e])) e++;
      return s === e ? undefined : new Range(p.line, s, p.line, e);
    },
    save: async () => true,
  };
}

function configuration(section) {
  const prefix = section ? `${section}.` : '';
  const full = (key) => prefix + key;
  return {
    get(key, defaultValue) {
      const k = full(key);
      if (k in stub.config) return stub.config[k];
      // A whole section, as VS Code gives it ('ksql' → {sources, server: {command}}).
      const nested = {};
      let found = false;
      for (const [name, value] of Object.entries(stub.config)) {
        if (!name.startsWith(k + '.')) continue;
        found = true;
        const parts = name.slice(k.length + 1).split('.');
        let o = nested;
        for (const p of parts.slice(0, -1)) o = o[p] = o[p] || {};
        o[parts[parts.length - 1]] = value;
      }
      return found ? nested : defaultValue;
    },
    has(key) {
      return this.get(key) !== undefined;
    },
    inspect(key) {
      return { key: full(key), globalValue: stub.config[full(key)] };
    },
    async update(key, value) {
      stub.config[full(key)] = value;
    },
  };
}

function outputChannel(name) {
  const lines = [];
  const ch = {
    name,
    lines,
    append: (text) => lines.push(text),
    appendLine: (text) => lines.push(text + '\n'),
    replace: (text) => lines.splice(0, lines.length, text),
    clear: () => lines.splice(0),
    show() {},
    hide() {},
    dispose() {},
    text: () => lines.join(''),
  };
  stub.outputChannels.push(ch);
  return ch;
}

function statusBarItem(id, alignment, priority) {
  const item = {
    id,
    alignment,
    priority,
    text: '',
    tooltip: undefined,
    command: undefined,
    name: undefined,
    visible: false,
    show() {
      this.visible = true;
    },
    hide() {
      this.visible = false;
    },
    dispose() {
      this.visible = false;
      this.disposed = true;
    },
  };
  stub.statusItems.push(item);
  return item;
}

function diagnosticCollection(name) {
  return {
    name,
    set(uri, diagnostics) {
      if (Array.isArray(uri)) {
        for (const [u, d] of uri) stub.diagnostics.set(u.toString(), d);
      } else {
        stub.diagnostics.set(uri.toString(), diagnostics || []);
      }
    },
    delete: (uri) => stub.diagnostics.delete(uri.toString()),
    clear: () => stub.diagnostics.clear(),
    get: (uri) => stub.diagnostics.get(uri.toString()),
    has: (uri) => stub.diagnostics.has(uri.toString()),
    forEach: (f) => stub.diagnostics.forEach((d, u) => f(Uri.parse(u), d)),
    dispose() {},
  };
}

/** languages.match: 10 for a matching filter, 0 otherwise (as VS Code scores them). */
function match(selector, document) {
  const filters = Array.isArray(selector) ? selector : [selector];
  for (const f of filters) {
    if (typeof f === 'string') {
      if (f === document.languageId) return 10;
      continue;
    }
    if (f.language && f.language !== document.languageId) continue;
    if (f.scheme && f.scheme !== document.uri.scheme) continue;
    if (f.pattern) continue; // no glob matching here
    return 10;
  }
  return 0;
}

function message(level) {
  return async (text) => {
    stub.messages.push([level, text]);
    return undefined;
  };
}

const languages = new Proxy(
  {
    match,
    createDiagnosticCollection: diagnosticCollection,
    getLanguages: async () => ['c', 'cpp'],
  },
  {
    get(target, name) {
      if (name in target) return target[name];
      if (typeof name === 'string' && name.startsWith('register')) {
        return (selector, provider, ...rest) => {
          stub.providers.push([name.slice('register'.length), selector, provider, rest]);
          return new Disposable(() => {});
        };
      }
      return undefined;
    },
  },
);

const vscode = {
  version: '1.82.0',
  Disposable,
  EventEmitter,
  CancellationError,
  CancellationTokenSource,
  Uri,
  Position,
  Range,
  Location,
  MarkdownString,
  Hover,
  Diagnostic,
  DiagnosticRelatedInformation,
  CompletionItem,
  CompletionList,
  SymbolInformation,
  TextEdit,
  WorkspaceEdit,
  CodeAction,
  CodeActionKind,
  CallHierarchyItem: plain('CallHierarchyItem'),
  CodeLens: plain('CodeLens'),
  DocumentLink: plain('DocumentLink'),
  InlayHint: plain('InlayHint'),
  TypeHierarchyItem: plain('TypeHierarchyItem'),
  SnippetString: plain('SnippetString'),
  TabInputText: plain('TabInputText'),
  TabInputTextDiff: plain('TabInputTextDiff'),
  TabInputCustom: plain('TabInputCustom'),
  TabInputNotebook: plain('TabInputNotebook'),
  TabInputNotebookDiff: plain('TabInputNotebookDiff'),
  DiagnosticSeverity: enumOf(['Error', 'Warning', 'Information', 'Hint']),
  DiagnosticTag: enumOf(['Unnecessary', 'Deprecated'], 1),
  SymbolKind: enumOf('File Module Namespace Package Class Method Property Field Constructor Enum Interface Function Variable Constant String Number Boolean Array Object Key Null EnumMember Struct Event Operator TypeParameter'.split(' ')),
  CompletionItemKind: enumOf('Text Method Function Constructor Field Variable Class Interface Module Property Unit Value Enum Keyword Snippet Color File Reference Folder EnumMember Constant Struct Event Operator TypeParameter User Issue'.split(' ')),
  CompletionItemTag: enumOf(['Deprecated'], 1),
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  EndOfLine: { LF: 1, CRLF: 2 },
  window: {
    createOutputChannel: outputChannel,
    createStatusBarItem(id, alignment, priority) {
      return typeof id === 'string' ? statusBarItem(id, alignment, priority) : statusBarItem(undefined, id, alignment);
    },
    showInformationMessage: message('info'),
    showWarningMessage: message('warning'),
    showErrorMessage: message('error'),
    async showInputBox(options) {
      return stub.inputBox ? stub.inputBox(options) : undefined;
    },
    async showQuickPick(items, options) {
      return stub.quickPick ? stub.quickPick(await items, options) : undefined;
    },
    setStatusBarMessage(text) {
      stub.messages.push(['status', text]);
      return new Disposable(() => {});
    },
    async withProgress(options, task) {
      stub.progress.push(options.title);
      const source = new CancellationTokenSource();
      return task({ report() {} }, source.token);
    },
    async showTextDocument() {
      return undefined;
    },
    activeTextEditor: undefined,
    visibleTextEditors: [],
    onDidChangeActiveTextEditor: noEvent(),
    onDidChangeVisibleTextEditors: noEvent(),
    tabGroups: { all: [], onDidChangeTabs: noEvent(), onDidChangeTabGroups: noEvent() },
  },
  workspace: {
    getConfiguration: configuration,
    get workspaceFolders() {
      return stub.workspaceFolders;
    },
    get rootPath() {
      return stub.workspaceFolders ? stub.workspaceFolders[0].uri.fsPath : undefined;
    },
    get textDocuments() {
      return stub.textDocuments;
    },
    getWorkspaceFolder: () => undefined,
    onDidOpenTextDocument: stub.onDidOpenTextDocument.event,
    onDidCloseTextDocument: stub.onDidCloseTextDocument.event,
    onDidChangeTextDocument: stub.onDidChangeTextDocument.event,
    onDidSaveTextDocument: noEvent(),
    onWillSaveTextDocument: noEvent(),
    onDidChangeConfiguration: stub.onDidChangeConfiguration.event,
    onDidChangeWorkspaceFolders: noEvent(),
    onDidCreateFiles: noEvent(),
    onDidRenameFiles: noEvent(),
    onDidDeleteFiles: noEvent(),
    onWillCreateFiles: noEvent(),
    onWillRenameFiles: noEvent(),
    onWillDeleteFiles: noEvent(),
    onDidOpenNotebookDocument: noEvent(),
    onDidCloseNotebookDocument: noEvent(),
    onDidChangeNotebookDocument: noEvent(),
    onDidSaveNotebookDocument: noEvent(),
    notebookDocuments: [],
    createFileSystemWatcher() {
      return { onDidCreate: noEvent(), onDidChange: noEvent(), onDidDelete: noEvent(), dispose() {} };
    },
    async applyEdit(edit) {
      stub.messages.push(['applyEdit', edit]);
      return true;
    },
  },
  languages,
  commands: {
    registerCommand(id, callback, thisArg) {
      if (stub.commands.has(id)) throw new Error(`command '${id}' already exists`);
      stub.commands.set(id, thisArg ? callback.bind(thisArg) : callback);
      return new Disposable(() => stub.commands.delete(id));
    },
    async executeCommand(id, ...args) {
      const f = stub.commands.get(id);
      if (!f) throw new Error(`command '${id}' not found`);
      return f(...args);
    },
    async getCommands() {
      return [...stub.commands.keys()];
    },
  },
  env: {
    appName: 'Visual Studio Code (stub)',
    appRoot: '/nonexistent',
    language: 'en',
    machineId: 'stub',
    sessionId: 'stub',
    uriScheme: 'vscode',
    clipboard: {
      async writeText(text) {
        stub.clipboard = text;
      },
      async readText() {
        return stub.clipboard;
      },
    },
    async openExternal() {
      return false;
    },
  },
  extensions: { getExtension: () => undefined, all: [] },
};

// Record what the code asks for and this stub lacks, to grow it by.
function recording(object, path) {
  return new Proxy(object, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (value === undefined && typeof name === 'string' && !(name in target) && name !== 'then' && !name.startsWith('__')) {
        stub.missing.add(`${path}.${name}`);
      }
      return value;
    },
  });
}
for (const ns of ['window', 'workspace', 'commands', 'env']) vscode[ns] = recording(vscode[ns], `vscode.${ns}`);

module.exports = recording(vscode, 'vscode');
module.exports.__stub = { stub, textDocument };
