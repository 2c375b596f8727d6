// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>

static noinline int helper(int x)
{
	int i, s = 0;

	for (i = 0; i < x; i++)
		s += i * x;
	return s;
}

noinline int ksym_b_entry(int x)
{
	return helper(x) - 1;
}
