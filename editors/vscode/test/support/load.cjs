'use strict';
// Load the bundled extension (dist/extension.js) with `require('vscode')` answered by the stub.
const Module = require('node:module');
const path = require('node:path');

const stubPath = path.join(__dirname, 'vscode-stub.cjs');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? stubPath : resolve.call(this, request, ...rest);
};

const vscode = require(stubPath);
module.exports = {
  vscode,
  ...vscode.__stub,
  loadExtension: () => require(path.join(__dirname, '..', '..', 'dist', 'extension.js')),
};
