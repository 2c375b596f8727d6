"""Kernel rules, in one place: how the kernel names modules, marks and flavours exports,
restricts namespaces, judges licences and numbers its releases. Each rule cites the kernel
file or commit it comes from; sources decode formats and call these rules, the language
server and the checks apply them -- nobody restates them.
"""
