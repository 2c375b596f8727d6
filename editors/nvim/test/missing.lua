-- A missing ksql executable: setup() says so once, in one message, and starts nothing.
-- Run by tests/e2e/test_nvim.py as
--   nvim --headless --clean -u editors/nvim/test/missing.lua
-- with KSQL_NVIM_RESULT (where to write the messages, as JSON).
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
vim.opt.runtimepath:prepend(vim.fn.fnamemodify(here, ':h'))
local messages = {}
vim.notify = function(msg, level)
  table.insert(messages, { message = msg, level = level })
end
local ok, started = pcall(require('ksql').setup, { cmd = { 'ksql-not-installed-here', 'lsp' } })
local result = { ok = ok, started = started, messages = messages }
local file = io.open(os.getenv('KSQL_NVIM_RESULT'), 'w')
file:write(vim.fn.json_encode(result))
file:close()
vim.cmd('qall!')
