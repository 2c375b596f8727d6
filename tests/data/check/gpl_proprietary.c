#include <linux/module.h>
#include <linux/timekeeping.h>

/* ktime_get() is EXPORT_SYMBOL_GPL: a proprietary module may not use it */
static int __init prop_init(void)
{
	return ktime_get() < 0;
}

module_init(prop_init);
MODULE_LICENSE("Proprietary");
