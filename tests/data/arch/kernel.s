# A kernel image in miniature: _text, linux_banner and one export in __ksymtab.
	.text
	.globl	_text
_text:
	.globl	kfoo
	.type	kfoo, %function
kfoo:
	.word	0
	.section	.rodata
	.globl	linux_banner
linux_banner:
	.asciz	"Linux version 6.1.0"
	.section	__ksymtab_strings, "a"
__kstrtab_kfoo:
	.asciz	"kfoo"
	.section	__ksymtab, "a"
	.globl	__ksymtab_kfoo
__ksymtab_kfoo:
	.quad	kfoo
	.quad	__kstrtab_kfoo
