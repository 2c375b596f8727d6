-- ksql's language server for Neovim >= 0.11: put this directory on 'runtimepath' (or copy
-- this file to ~/.config/nvim/lsp/ksql.lua), then `vim.lsp.enable('ksql')` next to clangd.
-- Set the kernel to describe with init_options.sources or a .ksql.toml at the project root.
return {
  cmd = { 'ksql', 'lsp' },
  filetypes = { 'c', 'cpp' },
  root_markers = { '.ksql.toml', 'Kbuild', '.git' },
  init_options = { sources = {} }, -- e.g. { '/lib/modules/6.1.0-56-amd64/build/Module.symvers' }
}
