#include <linux/module.h>
#include <linux/key-type.h>

static long peek(const struct key *key, char *buffer, size_t len)
{
	/* user_read() is EXPORT_SYMBOL_GPL: this module may not call it */
	return user_read(key, buffer, len);
}

static int __init prop_init(void)
{
	return peek(NULL, NULL, 0) < 0;
}

module_init(prop_init);
MODULE_LICENSE("Proprietary");
