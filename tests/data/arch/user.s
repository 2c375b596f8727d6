# A position-independent program: no kernel marker at all.
	.text
	.globl	_start
_start:
	.word	0
