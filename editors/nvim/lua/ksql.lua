-- ksql's language server for Neovim 0.7 to 0.10 (Debian 12 ships 0.7.2), where there is no
-- vim.lsp.config: require('ksql').setup({ cmd = {...}, sources = {...} }) starts one client
-- and attaches every C buffer to it (vim.lsp.start on 0.8+, start_client on 0.7).
local M = {}

local function root_dir(buf)
  local name = vim.api.nvim_buf_get_name(buf)
  local dir = vim.fn.fnamemodify(name, ':p:h')
  local found = vim.fn.findfile('.ksql.toml', dir .. ';')
  if found ~= '' then
    return vim.fn.fnamemodify(found, ':p:h')
  end
  return vim.fn.getcwd()
end

function M.config(opts, buf)
  opts = opts or {}
  return {
    name = 'ksql',
    cmd = opts.cmd or { 'ksql', 'lsp' },
    root_dir = root_dir(buf),
    init_options = { sources = opts.sources or {} },
    on_attach = opts.on_attach,
  }
end

function M.setup(opts)
  local cmd = (opts or {}).cmd or { 'ksql', 'lsp' }
  if vim.fn.executable(cmd[1]) ~= 1 then
    -- one message instead of a Lua error from start_client on every C buffer
    vim.notify(
      "ksql: '" .. cmd[1] .. "' is not an executable on PATH; install ksql (pipx install"
        .. " /path/to/ksql) or name it: require('ksql').setup({ cmd = { '/path/to/ksql', 'lsp' } })",
      vim.log.levels.ERROR
    )
    return false
  end
  local client_id
  vim.api.nvim_create_autocmd('FileType', {
    pattern = { 'c', 'cpp' },
    callback = function(args)
      local config = M.config(opts, args.buf)
      if vim.lsp.start then -- 0.8+: reuses a running client with the same name and root
        vim.lsp.start(config, { bufnr = args.buf })
        return
      end
      client_id = client_id or vim.lsp.start_client(config)
      vim.lsp.buf_attach_client(args.buf, client_id)
    end,
  })
  return true
end

return M
