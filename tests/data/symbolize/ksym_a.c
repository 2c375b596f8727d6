// SPDX-License-Identifier: GPL-2.0
/* A test module for ksql symbolize: two objects with same-named static helpers,
 * an init function in .init.text and a cold path in .text.unlikely. */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/kernel.h>

int ksym_b_entry(int x);

static noinline int helper(int x)
{
	return x * 3 + 1;
}

noinline int ksym_a_entry(int x)
{
	if (x > 1000)
		pr_info("ksym: big %d\n", x);
	return helper(x) + ksym_b_entry(x);
}
EXPORT_SYMBOL_GPL(ksym_a_entry);

static noinline __cold void ksym_cold(int x)
{
	pr_warn("ksym: cold %d\n", x);
}

static int __init ksym_init(void)
{
	int v = ksym_a_entry(2);

	if (v < 0)
		ksym_cold(v);
	return 0;
}

static void __exit ksym_exit(void)
{
	pr_info("ksym: bye\n");
}

module_init(ksym_init);
module_exit(ksym_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksql symbolize test module");
