#include <linux/module.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/dma-buf.h>
#include <linux/err.h>

int ksql_plain = 1;
EXPORT_SYMBOL(ksql_plain);

int ksql_gpl(void)
{
	return 2;
}
EXPORT_SYMBOL_GPL(ksql_gpl);

int ksql_ns(void)
{
	return 3;
}
EXPORT_SYMBOL_NS_GPL(ksql_ns, KSQL_TEST);

int __weak ksql_weak(void)
{
	return 4;
}

static int __init m3_init(void)
{
	struct dma_buf *buf = dma_buf_get(-1);

	if (!IS_ERR(buf))
		dma_buf_put(buf);
	return 0;
}

static void __exit m3_exit(void)
{
}

module_init(m3_init);
module_exit(m3_exit);

MODULE_IMPORT_NS(DMA_BUF);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksql test module: plain, GPL and namespaced exports");
