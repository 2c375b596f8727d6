-- The real-editor test: run by tests/e2e/test_nvim.py as
--   nvim --headless --clean -u editors/nvim/test/headless.lua tests/data/m1.c
-- with KSQL_COMMAND (the ksql to start), KSQL_SOURCES (';'-separated), KSQL_DATA (the test
-- data folder) and KSQL_NVIM_RESULT (where to write what Neovim received, as JSON).
-- `-u` runs before the file's buffer exists, so the checks run from VimEnter.
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
vim.opt.runtimepath:prepend(vim.fn.fnamemodify(here, ':h'))
vim.cmd('filetype on')

local results = { version = tostring(vim.version().major .. '.' .. vim.version().minor) }
local data = os.getenv('KSQL_DATA')

require('ksql').setup({
  cmd = { os.getenv('KSQL_COMMAND'), 'lsp' },
  sources = vim.split(os.getenv('KSQL_SOURCES'), ';'),
})

local function client()
  for _, c in pairs(vim.lsp.get_active_clients()) do
    if c.name == 'ksql' then
      return c
    end
  end
end

local function request(buf, method, params)
  local answers = vim.lsp.buf_request_sync(buf, method, params, 5000) or {}
  for _, answer in pairs(answers) do
    if answer.result then
      return answer.result
    end
  end
end

local function find(buf, needle)
  for line, text in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = text:find(needle, 1, true)
    if col and not text:match('^%s*/?%*') then
      return { line = line - 1, character = col - 1 }
    end
  end
end

local function position_params(buf, pos)
  return { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = pos }
end

local function diagnostics(buf)
  vim.wait(10000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  return vim.diagnostic.get(buf)
end

local function run()
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(10000, function() return client() ~= nil end, 50)
  local jiffies = find(buf, 'jiffies)')
  -- Hover, once the catalog has loaded (requests wait for it only briefly).
  local hover
  vim.wait(15000, function()
    hover = request(buf, 'textDocument/hover', position_params(buf, jiffies))
    return hover ~= nil
  end, 100)
  results.hover = hover and hover.contents and hover.contents.value or vim.NIL
  -- Completion after "jiff".
  local at = { line = jiffies.line, character = jiffies.character + 4 }
  local completion = request(buf, 'textDocument/completion', position_params(buf, at))
  results.completion = {}
  for _, item in ipairs((completion and completion.items) or completion or {}) do
    table.insert(results.completion, { label = item.label, detail = item.detail })
  end
  -- A proprietary module calling a GPL-only export.
  vim.cmd('edit ' .. data .. '/lsp/proprietary.c')
  local prop = vim.api.nvim_get_current_buf()
  results.proprietary = {}
  for _, d in ipairs(diagnostics(prop)) do
    table.insert(results.proprietary, { message = d.message, lnum = d.lnum, col = d.col,
      code = d.user_data and d.user_data.lsp and d.user_data.lsp.code or vim.NIL })
  end
  -- A namespaced export without MODULE_IMPORT_NS, fixed with the server's code action and
  -- Neovim's own apply_workspace_edit.
  vim.cmd('edit ' .. data .. '/lsp/namespace.c')
  local ns = vim.api.nvim_get_current_buf()
  local found = diagnostics(ns)
  results.namespace_before = #found
  -- As vim.lsp.buf.code_action() does on 0.7: the line's diagnostics in LSP form.
  local lsp_diags = vim.lsp.diagnostic.get_line_diagnostics(ns, found[1].lnum)
  local actions = request(ns, 'textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(ns) },
    range = lsp_diags[1].range,
    context = { diagnostics = lsp_diags },
  }) or {}
  results.actions = {}
  for _, action in ipairs(actions) do
    table.insert(results.actions, action.title)
  end
  if actions[1] and actions[1].edit then
    vim.lsp.util.apply_workspace_edit(actions[1].edit, client().offset_encoding)
  end
  results.import_lines = {}
  for _, text in ipairs(vim.api.nvim_buf_get_lines(ns, 0, -1, false)) do
    if text:find('MODULE_IMPORT_NS', 1, true) then
      table.insert(results.import_lines, text)
    end
  end
  vim.wait(10000, function() return #vim.diagnostic.get(ns) == 0 end, 50)
  results.namespace_after = #vim.diagnostic.get(ns)
end

-- With KSQL_NVIM_SITES set (and a source tree and BTF among the sources), the file given is
-- a module calling dma_buf_get: hover, completion, signature help and go-to-definition.
local function run_sites()
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(10000, function() return client() ~= nil end, 50)
  local call = find(buf, 'dma_buf_get(')
  local hover
  vim.wait(30000, function()
    hover = request(buf, 'textDocument/hover', position_params(buf, call))
    return hover ~= nil
  end, 100)
  results.hover = hover and hover.contents and hover.contents.value or vim.NIL
  -- Completion after "dma_buf_g": the items' labels and signatures.
  local at = { line = call.line, character = call.character + 9 }
  local completion = request(buf, 'textDocument/completion', position_params(buf, at))
  results.completion = {}
  for _, item in ipairs((completion and completion.items) or completion or {}) do
    table.insert(results.completion, { label = item.label, details = item.labelDetails or vim.NIL })
  end
  -- Signature help inside the call's parentheses.
  local inside = { line = call.line, character = call.character + 12 }
  local help = request(buf, 'textDocument/signatureHelp', position_params(buf, inside))
  results.signature = help and help.signatures and help.signatures[1] and {
    label = help.signatures[1].label, active = help.activeParameter or vim.NIL,
  } or vim.NIL
  -- Go to definition as Neovim does it: jump, then see where the cursor is.
  local found = request(buf, 'textDocument/definition', position_params(buf, call))
  local loc = found and (found[1] or found)
  if loc and loc.uri then
    vim.lsp.util.jump_to_location(loc, client().offset_encoding)
    local cursor = vim.api.nvim_win_get_cursor(0)
    results.definition = {
      file = vim.api.nvim_buf_get_name(0),
      line = cursor[1],
      text = vim.api.nvim_get_current_line(),
    }
  else
    results.definition = vim.NIL
  end
end

vim.api.nvim_create_autocmd('VimEnter', {
  nested = true, -- so :edit in the checks fires FileType, which attaches the client
  callback = function()
    local ok, err = pcall(os.getenv('KSQL_NVIM_SITES') and run_sites or run)
    results.error = ok and vim.NIL or tostring(err)
    vim.fn.writefile({ vim.fn.json_encode(results) }, os.getenv('KSQL_NVIM_RESULT'))
    vim.cmd('qa!')
  end,
})
