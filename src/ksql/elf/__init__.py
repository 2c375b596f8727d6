"""Plain-Python ELF reading for what needs no catalog: a module's loader facts for
``ksql check`` (:mod:`.modfacts`, over :mod:`.reader` and :mod:`.exports`) and compressed
modules' contents (:mod:`.unpack`, which the ``elf`` source plugin uses too). No numpy:
the bulk decoder for whole trees and vmlinux is the ``elf`` plugin's (``ksql.plugins.elf``).
"""
