# ppc64el's vmlinux has test_feature at 0xffffffffffffffff: an address, not "unknown".
	.globl	test_feature
	.set	test_feature, 0xffffffffffffffff
	.text
	.globl	after
after:
	.long	0
