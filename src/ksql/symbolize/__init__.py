"""Addresses and ``name+0xoff/0xsize [module]`` both ways, exactly as the kernel's ``%pS``
prints them, and whole kernel logs decoded frame by frame (``ksql addr``, ``ksql
symbolize``)."""
