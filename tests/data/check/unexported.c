#include <linux/module.h>
#include <linux/kallsyms.h>

static unsigned long lookup(const char *name)
{
	return kallsyms_lookup_name(name);
}

static int __init unexp_init(void)
{
	pr_info("printk at %lx\n", lookup("_printk"));
	return 0;
}

module_init(unexp_init);
MODULE_LICENSE("GPL");
