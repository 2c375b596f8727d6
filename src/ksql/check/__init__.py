"""``ksql check``: will these modules link and load on kernel K -- the module loader's and
modpost's verdicts, offline. The rules are :mod:`ksql.kernel.loader` and
:mod:`ksql.kernel.loadchecks`; this package reads the inputs and renders the verdicts.
"""
