# Every spelling binutils' bfd_is_target_special_symbol may hide, beside ordinary symbols.
	.text
	.globl	entry
entry:
	.globl	"$x"
"$x":
"$x.1":
"$xfoo":
"$xrv64i2p1":
"$d":
"$d.7":
"$a":
"$a.2":
"$t":
"$t.x":
"$m":
"$f":
"$p":
"$b":
"$b.1":
"$z":
"$zz":
"$":
".Lkept":
".L":
"..dots":
"_.L_x":
"L1":
"$dfoo":
"$d7":
"$x7":
"$xa.1":
"$a1":
"$mfoo":
"$m.1":
"$x.rv":
plain:
	.globl	after
after:
	.word 0
